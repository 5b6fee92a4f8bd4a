// The camera in the app's screens: enrol by scanning the bureau's enrolment QR, and check
// farmers in by their QR cards with the laptop's green/orange/red answers and beeps.
import { navigate, registerScreen } from "./app.js";
import { farmerIdOfCard } from "./cards.js";
import { addEnrolAction } from "./enrol.js";
import { fill, h } from "./dom.js";
import { chinaTime, half, t } from "./i18n.js";
import { canonicalFarmer, checkIn, checkinsOf, getRecord } from "./store.js";
import { scanAvailable, scanEach, scanQr } from "./scan.js";

/** An AbortController that fires when the envoy leaves the screen or the app: the camera
 * never stays on behind another screen or in the pocket. */
function untilLeft() {
  const controller = new AbortController();
  const stop = () => controller.abort();
  const hidden = () => document.visibilityState === "hidden" && stop();
  window.addEventListener("hashchange", stop, { once: true });
  window.addEventListener("pagehide", stop, { once: true });
  document.addEventListener("visibilitychange", hidden);
  controller.signal.addEventListener("abort", () => {
    window.removeEventListener("hashchange", stop);
    window.removeEventListener("pagehide", stop);
    document.removeEventListener("visibilitychange", hidden);
  });
  return controller;
}

// ------------------------------------------------------------------ enrolment

/** The enrolment QR's code: "tianjian-enroll:<server>#<code>" (server/sync/devices.py). Throws
 * an Error with a {zh, en} `text` when it is no enrolment QR or names another server. */
export function enrolmentCode(text, origin = location.origin) {
  const found = /^tianjian-enroll:(https?:\/\/[^#\s]+)#([A-Za-z0-9-]{4,20})$/.exec(String(text).trim());
  if (!found) {
    throw Object.assign(new Error("not an enrolment QR"), {
      text: { zh: "这不是登记二维码，请扫描科技局给的登记二维码", en: "this is not an enrolment QR: scan the one the bureau gave you" },
    });
  }
  let server = null;
  try {
    server = new URL(found[1]).origin;
  } catch {
    server = null;
  }
  if (server !== origin) {
    // The app talks only to the server it was opened from: a code for another cannot enrol here.
    throw Object.assign(new Error("another server"), {
      text: {
        zh: `这个登记码属于另一台服务器（${found[1]}）：请在那台服务器的 /app/ 打开应用后再扫`,
        en: `this code belongs to another server (${found[1]}): open the app from that server's /app/ and scan again`,
      },
    });
  }
  return found[2];
}

addEnrolAction((root, submit) => {
  if (!scanAvailable()) return;
  const area = h("div", { class: "scanner", hidden: true });
  const status = h("p", { class: "status" });
  const cancel = h("button", { type: "button", hidden: true }, t({ zh: "停止扫描", en: "Stop scanning" }));
  const start = h(
    "button",
    { type: "button", class: "primary", "data-action": "scan-enrol" },
    t({ zh: "📷 扫描登记二维码", en: "📷 Scan the enrolment QR" }),
  );
  start.addEventListener("click", async () => {
    const controller = untilLeft();
    cancel.onclick = () => controller.abort();
    fill(status);
    area.hidden = false;
    start.hidden = true;
    cancel.hidden = false;
    try {
      const text = await scanQr(area, { signal: controller.signal });
      controller.abort();
      area.hidden = true;
      submit(enrolmentCode(text));
    } catch (error) {
      if (error.name !== "AbortError") {
        fill(status, h("span", { class: "error", role: "alert" }, error.text ? t(error.text) : error.message));
      } else {
        area.hidden = true;
      }
    } finally {
      start.hidden = false;
      cancel.hidden = true;
    }
  });
  root.prepend(h("div", { class: "scan-enrol" }, h("div", { class: "actions" }, start, cancel), area, status));
});

// ------------------------------------------------------------------ check-in by card

// As field_client/qr_checkin.py says them (a browser test compares): a misread and an unknown card.
const MISTYPED = "签到卡号有误（校验位不符），请重新扫描 / card code misread: scan it again";
const UNKNOWN = "未知的签到卡，请核对或在名单上勾选 / unknown card: check it or use the roster";
const NO_FARMER = "找不到这位学员 / no such farmer on this device";

// The laptop's tones (field_client/web/static/scanner.js): one high beep for green, two middle
// ones for orange, one low long one for red.
const TONES = { green: [[880, 0.15]], orange: [[660, 0.12], [660, 0.12]], red: [[220, 0.5]] };
const MUTE_KEY = "tianjian-mute";
let audio = null;

function beep(colour) {
  if (localStorage.getItem(MUTE_KEY) === "1" || !TONES[colour]) return;
  try {
    audio = audio || new (window.AudioContext || window.webkitAudioContext)();
    let at = audio.currentTime;
    for (const [frequency, seconds] of TONES[colour]) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = frequency;
      gain.gain.value = 0.2;
      osc.connect(gain);
      gain.connect(audio.destination);
      osc.start(at);
      osc.stop(at + seconds);
      at += seconds + 0.08;
    }
  } catch {
    // No sound on this browser: the colour still shows.
  }
}

/** The answer to one card at one session: {colour, text} as the laptop's session page gives. */
export async function checkInCard(session, text) {
  const card = await farmerIdOfCard(text);
  if (card.problem) return { colour: "red", text: half(card.problem === "mistyped" ? MISTYPED : UNKNOWN) };
  const farmer = await getRecord("farmer", await canonicalFarmer(card.farmerId));
  if (!farmer || farmer.deleted) return { colour: "red", text: half(NO_FARMER) };
  const { record, isNew } = await checkIn(session.id, farmer.id, "card_scan");
  if (isNew) return { colour: "green", text: t({ zh: `签到成功：${farmer.name}`, en: `Checked in: ${farmer.name}` }), farmer };
  const time = chinaTime(record.checked_in_at, false);
  return {
    colour: "orange",
    text: t({ zh: `已签到：${farmer.name}，首次签到 ${time}`, en: `Already checked in: ${farmer.name} at ${time}` }),
    farmer,
  };
}

async function renderCardCheckin(root, params) {
  const session = await getRecord("session", params.session);
  if (!session || session.deleted) {
    fill(root, h("p", { class: "error" }, t({ zh: "没有这场培训", en: "no such session" })));
    return;
  }
  const counted = new Set((await checkinsOf(session.id)).map((checkin) => checkin.farmer_id));
  const counter = h("strong", { class: "count", "data-figure": "verified" }, String(counted.size));
  const answer = h("div", { id: "scan-answer", "aria-live": "assertive" });
  const area = h("div", { class: "scanner" });
  const typed = h("input", { name: "card", autocomplete: "off", maxlength: 20, placeholder: t({ zh: "或输入卡号", en: "or type the card code" }) });
  const mute = h("input", { type: "checkbox", checked: localStorage.getItem(MUTE_KEY) === "1" });
  mute.addEventListener("change", () => localStorage.setItem(MUTE_KEY, mute.checked ? "1" : "0"));
  const show = async (text) => {
    let said;
    try {
      said = await checkInCard(session, text);
    } catch (error) {
      // The phone's storage refused the write: say so and keep the camera on for the next card.
      said = { colour: "red", text: error.text ? t(error.text) : t({ zh: "签到失败，请重试", en: "check-in failed: try again" }) };
    }
    if (said.farmer) counted.add(said.farmer.id);
    counter.textContent = String(counted.size);
    fill(answer, h("div", { class: `answer ${said.colour}`, "data-answer": said.colour }, said.text));
    beep(said.colour);
  };
  const back = () => navigate("session", { id: session.id });
  fill(
    root,
    h("div", { class: "card" }, h("h3", {}, session.title), h("span", {}, t({ zh: "已签到 ", en: "Checked in " })), counter),
    area,
    answer,
    h(
      "form",
      {
        class: "actions",
        onsubmit: (event) => {
          event.preventDefault();
          const value = typed.value;
          typed.value = "";
          if (value.trim()) show(value);
        },
      },
      typed,
      h("button", { type: "submit" }, t({ zh: "签到", en: "Check in" })),
    ),
    h("label", { class: "mute" }, mute, t({ zh: " 静音", en: " Mute" })),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "button", "data-action": "roster", onclick: () => navigate("checkin", { session: session.id }) }, t({ zh: "名单签到", en: "Roster check-in" })),
      h("button", { type: "button", "data-action": "cards", onclick: () => navigate("cards") }, t({ zh: "打印签到卡", en: "Print cards" })),
      h("button", { type: "button", onclick: back }, t({ zh: "返回场次", en: "Back to the session" })),
    ),
  );
  if (!scanAvailable()) {
    fill(area, h("p", { class: "error" }, t({ zh: "此浏览器不能使用相机，请输入卡号", en: "this browser cannot use the camera: type the card code" })));
    return;
  }
  // The camera stays open card after card until the envoy leaves this screen; with the phone
  // locked or another app in front it is off, and on again when the screen comes back.
  let running = false;
  const run = () => {
    running = true;
    scanEach(area, { signal: untilLeft().signal, onText: show })
      .catch(() => {
        // Stopped on leaving or hiding, or a ScanError scan.js already shows in the area.
      })
      .finally(() => {
        running = false;
      });
  };
  const resume = () => {
    if (!area.isConnected) {
      document.removeEventListener("visibilitychange", resume);
    } else if (document.visibilityState === "visible" && !running) {
      run();
    }
  };
  document.addEventListener("visibilitychange", resume);
  run();
}

registerScreen("checkin-card", { title: { zh: "扫卡签到", en: "Card check-in" }, render: renderCardCheckin });
