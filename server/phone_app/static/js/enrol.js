// Enrolment: the phone trades the bureau's one-time code for its own device token (the same
// /api/v1/enrolments the field client calls), then syncs its reference data.
import { navigate, registerScreen, toast } from "./app.js";
import { field, fill, h } from "./dom.js";
import { half, t } from "./i18n.js";
import { CAPABILITIES, HEADER_CAPABILITIES, HEADER_PROTOCOL, HEADER_SERVER_TIME, PROTOCOL_VERSION } from "./protocol.js";
import { getMeta, saveEnrolment } from "./store.js";
import { syncNow } from "./sync.js";

const extraActions = [];

/** Another way to give the code (pwa-scan's camera): render(container, submit) is called
 * with the screen's container and a function taking the code. */
export function addEnrolAction(render) {
  extraActions.push(render);
}

export class EnrolFailed extends Error {
  constructor(text) {
    super(`${text.zh} / ${text.en}`);
    this.text = text;
  }
}

/** Enrol this phone with a one-time code at this app's own server; resolves with the answer. */
export async function enrolWithCode(code, deviceName = "手机应用 phone app") {
  const typed = String(code || "").normalize("NFKC").replace(/\s+/g, "");
  if (typed.length < 4 || typed.length > 20) {
    throw new EnrolFailed({ zh: "登记码应为 4 到 20 个字符", en: "the enrolment code has 4 to 20 characters" });
  }
  const server = location.origin;
  const sentAt = Date.now();
  let response;
  try {
    response = await fetch(`${server}/api/v1/enrolments`, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        [HEADER_PROTOCOL]: String(PROTOCOL_VERSION),
        [HEADER_CAPABILITIES]: CAPABILITIES.join(","),
      },
      body: JSON.stringify({ code: typed, device_name: deviceName }),
      credentials: "omit",
      cache: "no-store",
    });
  } catch {
    throw new EnrolFailed({ zh: "无法连接服务器：登记需要网络，请在有信号时再试", en: "cannot reach the server: enrolment needs the network, try again in signal" });
  }
  let answer = {};
  try {
    answer = await response.json();
  } catch {
    answer = {};
  }
  if (response.status !== 201) {
    const message = answer.message || `HTTP ${response.status}`;
    throw new EnrolFailed({ zh: `登记失败：${half(message)}`, en: `enrolment failed: ${message.split(" / ").pop()}` });
  }
  const serverTime = Number(response.headers.get(HEADER_SERVER_TIME) || 0);
  const offset = serverTime ? serverTime - Math.floor((sentAt + Date.now()) / 2) : 0;
  await saveEnrolment(server, answer, offset, response.headers.get(HEADER_CAPABILITIES));
  return answer;
}

async function submitCode(code, name, status) {
  fill(status, h("span", { class: "muted" }, t({ zh: "正在登记…", en: "enrolling…" })));
  try {
    const answer = await enrolWithCode(code, name || undefined);
    fill(status, h("span", { class: "ok" }, t({ zh: `已登记：${answer.envoy.name}`, en: `enrolled: ${answer.envoy.name}` })));
    try {
      await syncNow();
    } catch (error) {
      toast(error.text || { zh: "同步失败", en: "sync failed" }, { error: true });
    }
    navigate("sessions");
  } catch (error) {
    fill(status, h("span", { class: "error", role: "alert" }, error.text ? t(error.text) : String(error)));
  }
}

registerScreen("enrol", {
  title: { zh: "登记本机", en: "Enrol this phone" },
  menu: false,
  async render(root) {
    const enrolled = await getMeta("envoy");
    const revoked = await getMeta("revoked");
    if (enrolled && !revoked) {
      fill(
        root,
        h("p", {}, t({ zh: `本机已登记给 ${enrolled.name}。`, en: `This phone is enrolled for ${enrolled.name}.` })),
        h("button", { type: "button", class: "primary", onclick: () => navigate("sessions") }, t({ zh: "打开培训场次", en: "Open sessions" })),
      );
      return;
    }
    const code = h("input", { name: "code", inputmode: "numeric", autocomplete: "off", maxlength: 40, required: true });
    const name = h("input", { name: "device_name", maxlength: 80, placeholder: "手机应用 phone app" });
    const status = h("p", { class: "status" });
    const form = h(
      "form",
      {
        onsubmit: (event) => {
          event.preventDefault();
          submitCode(code.value, name.value.trim(), status);
        },
      },
      revoked
        ? h("p", { class: "error" }, t({ zh: "科技局已停用本机原来的登记。请输入新的登记码；本机待发送的记录不会丢失，登记后一并发送。", en: "The bureau revoked this phone's enrolment. Type a new code: what waits to be sent is kept and goes after enrolling." }))
        : null,
      h("p", {}, t({ zh: "请输入科技局给的一次性登记码。登记需要网络，之后没有信号也能用。", en: "Type the one-time code the bureau gave you. Enrolling needs the network; afterwards the app works without signal." })),
      field({ zh: "登记码", en: "Enrolment code" }, code),
      field({ zh: "设备名称（可不填）", en: "Device name (optional)" }, name),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t({ zh: "登记", en: "Enrol" }))),
      status,
    );
    fill(root, form);
    for (const render of extraActions) render(root, (scanned) => submitCode(scanned, name.value.trim(), status));
  },
});
