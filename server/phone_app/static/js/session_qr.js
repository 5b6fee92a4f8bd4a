// The session's check-in QR on the phone's screen, drawn offline: farmers with signal scan it
// and check themselves in on the server (server/web/farmer_checkin.py), which holds their
// check-ins until the session arrives from this phone. The address carries the device, the
// session, the times its window is made from and a token over them signed with this device's
// check-in key, exactly as shared/checkin_tokens.py signs (phone_message): nothing personal.
import { qrcode } from "../vendor/qrcode-generator/qrcode.mjs";
import { registerScreen } from "./app.js";
import { h, fill } from "./dom.js";
import { t } from "./i18n.js";
import { getMeta, getRecord } from "./store.js";

// shared/checkin_tokens.py: TOKEN_ALPHABET, TOKEN_LENGTH; shared/checkin_rules.py:
// DEFAULT_MARGIN_MINUTES (tests/server/phone_app/test_session_qr.py holds them equal).
const TOKEN_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";
const TOKEN_LENGTH = 10;
export const DEFAULT_MARGIN_MINUTES = 60;

const TEXT = {
  title: { zh: "签到二维码", en: "Check-in QR" },
  scan: {
    zh: "请农户用自己的手机扫码签到（手机需要有信号）。本机同步后，签到会计入本场培训。",
    en: "Farmers scan this with their own phones to check in (their phones need signal). The check-ins count once this phone syncs the session.",
  },
  window: { zh: "可签到时间", en: "check-in open" },
  noKey: {
    zh: "本机还没有签到密钥：请在有信号时同步一次",
    en: "this phone has no check-in key yet: sync once in signal",
  },
  noSession: { zh: "找不到这场培训", en: "no such session on this phone" },
  deleted: { zh: "这场培训已删除", en: "this session was deleted" },
  insecure: {
    zh: "浏览器不允许在此地址签名，请用 https 地址打开应用",
    en: "the browser cannot sign here: open the app at its https address",
  },
};

/** Unix seconds of an ISO time (what the QR carries). */
function seconds(iso) {
  return Math.floor(Date.parse(iso) / 1000);
}

/** The token over a message: TOKEN_LENGTH characters from the first 8 bytes of its
 * HMAC-SHA-256 under the key (shared/checkin_tokens.sign). */
export async function sign(key, message) {
  if (!globalThis.crypto || !crypto.subtle) throw Object.assign(new Error(TEXT.insecure.en), { text: TEXT.insecure });
  const encoder = new TextEncoder();
  const hmacKey = await crypto.subtle.importKey("raw", encoder.encode(key), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", hmacKey, encoder.encode(message)));
  let number = 0n;
  for (let i = 0; i < 8; i += 1) number = (number << 8n) | BigInt(mac[i]);
  let token = "";
  for (let i = 0; i < TOKEN_LENGTH; i += 1) {
    token += TOKEN_ALPHABET[Number(number % 31n)];
    number /= 31n;
  }
  return token;
}

/** The address the session's QR carries (shared/checkin_tokens.phone_message). */
export async function sessionQrUrl(session, checkinKey, serverUrl, deviceId, margin = DEFAULT_MARGIN_MINUTES) {
  const starts = seconds(session.starts_at);
  const ends = session.ends_at ? seconds(session.ends_at) : 0;
  const message = `tianjian-checkin/${session.id}/${starts}/${ends || ""}/${margin}`;
  const token = await sign(checkinKey, message);
  const base = String(serverUrl || location.origin).replace(/\/+$/, "");
  return `${base}/f/${deviceId}/${session.id}/${starts}/${ends}/${margin}/${token}`;
}

/** A QR code of `text` on a canvas: dark modules on white with a four-module quiet zone. */
function qrCanvas(text, pixels) {
  const code = qrcode(0, "M");
  code.addData(text);
  code.make();
  const count = code.getModuleCount();
  const cell = Math.max(2, Math.floor(pixels / (count + 8)));
  const side = cell * (count + 8);
  const canvas = h("canvas", { width: side, height: side, class: "session-qr", role: "img" });
  const context = canvas.getContext("2d");
  context.fillStyle = "#fff";
  context.fillRect(0, 0, side, side);
  context.fillStyle = "#000";
  for (let row = 0; row < count; row += 1) {
    for (let col = 0; col < count; col += 1) {
      if (code.isDark(row, col)) context.fillRect((col + 4) * cell, (row + 4) * cell, cell, cell);
    }
  }
  canvas.style.width = "100%";
  canvas.style.maxWidth = `${side}px`;
  canvas.style.imageRendering = "pixelated";
  return canvas;
}

function clock(iso) {
  return new Date(iso).toLocaleTimeString("zh-CN", { timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit" });
}

/** The window as the server will judge it (shared/checkin_rules.window_between): shown so the
 * envoy knows until when the QR works. */
function windowText(session, margin) {
  const starts = Date.parse(session.starts_at) - margin * 60000;
  let ends;
  if (session.ends_at) ends = Date.parse(session.ends_at);
  else {
    const day = new Date(session.starts_at).toLocaleDateString("sv-SE", { timeZone: "Asia/Shanghai" });
    ends = Date.parse(`${day}T23:59:59+08:00`);
  }
  ends += margin * 60000;
  return `${t(TEXT.window)} ${clock(new Date(starts).toISOString())}–${clock(new Date(ends).toISOString())}`;
}

/** Draw the session's QR in `container` (PWA.md): signed with this device's check-in key,
 * pointing at the server. options: deviceId (else this phone's), margin (minutes). */
export async function showSessionQr(container, session, checkinKey, serverUrl, options = {}) {
  const deviceId = options.deviceId || (await getMeta("device_id"));
  const margin = options.margin ?? DEFAULT_MARGIN_MINUTES;
  if (!checkinKey) {
    fill(container, h("p", { class: "error" }, t(TEXT.noKey)));
    return null;
  }
  const url = await sessionQrUrl(session, checkinKey, serverUrl, deviceId, margin);
  const size = Math.min(container.clientWidth || 320, 420);
  fill(
    container,
    h("h3", {}, session.title || ""),
    h("p", { class: "muted" }, windowText(session, margin)),
    qrCanvas(url, size),
    h("p", {}, t(TEXT.scan)),
  );
  container.dataset.qrUrl = url;
  return url;
}

registerScreen("session_qr", {
  title: TEXT.title,
  menu: false,
  async render(root, params) {
    const session = params.id ? await getRecord("session", params.id) : null;
    if (!session) return fill(root, h("p", { class: "error" }, t(TEXT.noSession)));
    if (session.deleted) return fill(root, h("p", { class: "error" }, t(TEXT.deleted)));
    const [key, server] = await Promise.all([getMeta("checkin_key"), getMeta("server_url")]);
    const box = h("div", { class: "card qr-card" });
    fill(root, box);
    await showSessionQr(box, session, key, server || location.origin);
  },
});
