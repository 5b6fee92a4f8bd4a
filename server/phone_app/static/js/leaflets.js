// Leaflets received and handed out, as append-only events with the envoy's stock beside the
// form; a hand-out beyond stock is asked about first; a correction is a new event
// (field_client/events.py, web/leaflets.py and shared/corrections.py, mirrored).
import { registerScreen, toast } from "./app.js";
import { t } from "./i18n.js";
import { listRecords, listReference, saveRecord } from "./store.js";
import {
  chinaLocalInput,
  chinaText,
  chinaToday,
  el,
  errorWords,
  field,
  fromChinaLocal,
  live,
  mayRecordAt,
  myEnvoyId,
  say,
  select,
  sessionLabel,
  showErrors,
  toIso,
  unitNames,
  villageOptions,
  wholeNumber,
} from "./more_common.js";
import { copiesProblem, correctionProblems, leafletStock, overStock } from "./leaflet_rules.js";

import { LEAFLET_HANDOUT as HANDOUT, LEAFLET_RECEIPT as RECEIPT } from "./protocol.js";

const W = {
  title: { zh: "资料", en: "Leaflets" },
  stock: { zh: "我的库存", en: "My stock" },
  received: { zh: "领取", en: "Received" },
  handedOut: { zh: "发放", en: "Handed out" },
  held: { zh: "库存", en: "Held" },
  noStock: { zh: "还没有领取或发放资料。", en: "No leaflets received or handed out yet." },
  give: { zh: "发放资料", en: "Hand out" },
  receive: { zh: "从科技局领取", en: "Received from the bureau" },
  leaflet: { zh: "资料名称", en: "Leaflet" },
  copies: { zh: "份数", en: "Copies" },
  atSession: { zh: "在培训场次", en: "At the session" },
  notAtSession: { zh: "— 不在培训中 —", en: "— not at a session —" },
  orVillage: { zh: "或在村里", en: "Or in the village" },
  noVillage: { zh: "— 选择村 —", en: "— choose a village —" },
  handedAt: { zh: "发放时间", en: "Handed out at" },
  receivedOn: { zh: "领取日期", en: "Received on" },
  save: { zh: "保存", en: "Save" },
  cancel: { zh: "取消", en: "Cancel" },
  events: { zh: "领取和发放记录", en: "Received and handed out" },
  correct: { zh: "更正", en: "Correct" },
  change: { zh: "份数变化（如 -5 表示少五份）", en: "Change in copies (e.g. -5 for five fewer)" },
  correctionHint: {
    zh: "更正作为一条新记录发送；原记录保留，两者合计不能小于0。",
    en: "A correction is sent as its own record; the original stays, and the two together may not go below zero.",
  },
  receivedSaved: { zh: "已记录领取的资料。", en: "Leaflets received: saved." },
  givenSaved: { zh: "已记录发放的资料。", en: "Leaflets handed out: saved." },
  overSaved: {
    zh: "已记录，但超过了你的库存：科技局会看到这一情况。",
    en: "Recorded although more than you held: the bureau will see it.",
  },
  correctionSaved: { zh: "更正已保存。", en: "Correction saved." },
  noTitles: {
    zh: "还没有资料名称：请先同步，科技局的资料目录会下载到本机。",
    en: "No leaflet titles yet: sync first to fetch the bureau's list.",
  },
  notEnrolled: { zh: "本机尚未登记：请先登记设备。", en: "This phone is not enrolled yet." },
  chooseTitle: { zh: "— 选择资料 —", en: "— choose a leaflet —" },
  needTitle: { zh: "请选择资料", en: "choose a leaflet" },
  needPlace: { zh: "须注明培训场次或村", en: "say the session or the village" },
  needTime: { zh: "请填写时间", en: "give the time" },
  needDay: { zh: "请填写日期", en: "give the day" },
  notYours: {
    zh: "这场培训由其他特派员主持，本机不能在此记录",
    en: "this session is another envoy's",
  },
};

// ------------------------------------------------------------------ the screen

async function gather() {
  const [envoyId, receipts, handouts, sessions, titles, units] = await Promise.all([
    myEnvoyId(),
    listRecords(RECEIPT),
    listRecords(HANDOUT),
    listRecords("session"),
    listReference("leaflet_title"),
    listReference("unit"),
  ]);
  const titleNames = Object.fromEntries(titles.map((x) => [x.id, String(x.title || x.id)]));
  return { envoyId, receipts, handouts, sessions, titles, units, titleNames };
}

async function render(root, params = {}) {
  root.replaceChildren();
  root.classList.add("more-screen");
  const data = await gather();
  if (!data.envoyId) {
    root.append(el("p", { className: "more-message more-warn" }, t(W.notEnrolled)));
    return;
  }
  const stock = leafletStock(data.receipts, data.handouts, data.envoyId, data.titleNames);
  const titleOptions = data.titles
    .map((x) => ({ value: x.id, label: String(x.title || x.id) }))
    .sort((a, b) => a.label.localeCompare(b.label, "zh"));
  if (!titleOptions.length) {
    root.append(el("p", { className: "more-message more-warn" }, t(W.noTitles)));
  }
  root.append(
    stockTable(stock),
    giveForm(root, data, stock, titleOptions, params.session),
    receiveForm(root, titleOptions),
    eventList(root, data),
  );
}

function stockTable(stock) {
  const box = el("section", { className: "card", id: "leaflet-stock" }, el("h2", {}, t(W.stock)));
  if (!stock.length) {
    box.append(el("p", {}, t(W.noStock)));
    return box;
  }
  const rows = stock.map((s) =>
    el(
      "tr",
      { "data-title-id": s.titleId },
      el("td", {}, s.title),
      el("td", { className: "num" }, s.received),
      el("td", { className: "num" }, s.handedOut),
      el("td", { className: `num held${s.held < 0 ? " more-negative" : ""}` }, s.held),
    ),
  );
  box.append(
    el(
      "table",
      { className: "more-table" },
      el(
        "thead",
        {},
        el(
          "tr",
          {},
          el("th", {}, t(W.leaflet)),
          el("th", {}, t(W.received)),
          el("th", {}, t(W.handedOut)),
          el("th", {}, t(W.held)),
        ),
      ),
      el("tbody", {}, rows),
    ),
  );
  return box;
}

function giveForm(root, data, stock, titleOptions, chosenSession) {
  const names = unitNames(data.units);
  const mine = live(data.sessions)
    .filter((s) => mayRecordAt(s, data.envoyId))
    .sort((a, b) => String(b.starts_at || "").localeCompare(String(a.starts_at || "")))
    .map((s) => ({ value: s.id, label: sessionLabel(s, names) }));
  const message = el("p", { hidden: true });
  const heldLine = el("p", { className: "more-beside", id: "give-held" });
  const title = select({ id: "give-title", name: "title" }, titleOptions, W.chooseTitle);
  const copies = el("input", { id: "give-copies", name: "copies", inputmode: "numeric" });
  const session = select({ id: "give-session", name: "session" }, mine, W.notAtSession);
  // Opened from a session's page (#leaflets?session=…): handed out there.
  if (chosenSession && mine.some((o) => o.value === chosenSession)) session.value = chosenSession;
  const village = select(
    { id: "give-village", name: "unit_code" },
    villageOptions(data.units),
    W.noVillage,
  );
  const at = el("input", {
    id: "give-at",
    name: "handed_out_at",
    type: "datetime-local",
    value: chinaLocalInput(),
  });
  const confirm = el("div", { className: "more-confirm", id: "give-confirm", hidden: true });
  const save = el("button", { type: "submit", className: "primary", id: "give-save" }, t(W.save));
  const form = el(
    "form",
    { id: "give-form", novalidate: true },
    message,
    field(W.leaflet, title, "leaflet_title_id"),
    heldLine,
    field(W.copies, copies, "copies"),
    field(W.atSession, session, "session_id"),
    field(W.orVillage, village, "unit_code"),
    field(W.handedAt, at, "handed_out_at"),
    confirm,
    save,
  );
  const showHeld = () => {
    const s = stock.find((x) => x.titleId === title.value);
    heldLine.textContent = title.value
      ? t({ zh: `你手上有 ${s ? s.held : 0} 份`, en: `you hold ${s ? s.held : 0} copies` })
      : "";
  };
  title.addEventListener("change", showHeld);
  const reset = () => {
    confirm.hidden = true;
    confirm.replaceChildren();
    save.hidden = false;
  };
  for (const input of [title, copies, session, village]) input.addEventListener("input", reset);

  const values = () => ({
    leaflet_title_id: title.value,
    copies: wholeNumber(copies.value),
    session_id: session.value || null,
    unit_code: village.value || null,
    handed_out_at: fromChinaLocal(at.value),
    correction_of: null,
  });
  const problems = (v) => {
    const errors = {};
    if (!v.leaflet_title_id) errors.leaflet_title_id = W.needTitle;
    const bad = copiesProblem(v.copies, false);
    if (bad) errors.copies = bad;
    if (!v.session_id && !v.unit_code) errors.unit_code = W.needPlace;
    if (!v.handed_out_at) errors.handed_out_at = W.needTime;
    return errors;
  };
  const record = async (v, over) => {
    try {
      await saveRecord(HANDOUT, v);
    } catch (error) {
      say(message, errorWords(error), "refused");
      return;
    }
    toast(t(over ? W.overSaved : W.givenSaved));
    await render(root);
    say(root.querySelector("#give-form > p"), over ? W.overSaved : W.givenSaved, over ? "warn" : "done");
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const v = values();
    if (showErrors(form, problems(v))) return;
    const over = overStock(stock, v.leaflet_title_id, v.copies, data.titleNames);
    if (!over) {
      await record(v, false);
      return;
    }
    // Asked once, then recorded as typed: the bureau sees a hand-out beyond stock.
    save.hidden = true;
    confirm.hidden = false;
    confirm.replaceChildren(
      el(
        "p",
        { role: "alert", className: "more-message more-warn" },
        t({
          zh: `你手上的“${over.title}”只有 ${over.held} 份，却要发放 ${v.copies} 份。仍要发放吗？会照实记录，科技局也会看到。`,
          en: `You hold ${over.held} copies of “${over.title}” but are handing out ${v.copies}. Hand them out anyway? It will be recorded, and the bureau will see it.`,
        }),
      ),
      el(
        "button",
        { type: "button", id: "give-confirm-yes", className: "danger", onclick: () => record(v, true) },
        t({ zh: `确定发放 ${v.copies} 份`, en: `Yes, hand out ${v.copies} copies` }),
      ),
      el("button", { type: "button", id: "give-confirm-no", className: "more-secondary", onclick: reset }, t(W.cancel)),
    );
  });
  return el("section", { className: "card", id: "give" }, el("h2", {}, t(W.give)), form);
}

function receiveForm(root, titleOptions) {
  const message = el("p", { hidden: true });
  const title = select({ id: "receive-title", name: "title" }, titleOptions, W.chooseTitle);
  const copies = el("input", { id: "receive-copies", name: "copies", inputmode: "numeric" });
  const day = el("input", { id: "receive-on", type: "date", value: chinaToday() });
  const form = el(
    "form",
    { id: "receive-form", novalidate: true },
    message,
    field(W.leaflet, title, "leaflet_title_id"),
    field(W.copies, copies, "copies"),
    field(W.receivedOn, day, "received_on"),
    el("button", { type: "submit", className: "primary", id: "receive-save" }, t(W.save)),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const v = {
      leaflet_title_id: title.value,
      copies: wholeNumber(copies.value),
      received_on: day.value || null,
      correction_of: null,
    };
    const errors = {};
    if (!v.leaflet_title_id) errors.leaflet_title_id = W.needTitle;
    const bad = copiesProblem(v.copies, false);
    if (bad) errors.copies = bad;
    if (!v.received_on) errors.received_on = W.needDay;
    if (showErrors(form, errors)) return;
    try {
      await saveRecord(RECEIPT, v);
    } catch (error) {
      say(message, errorWords(error), "refused");
      return;
    }
    toast(t(W.receivedSaved));
    await render(root);
  });
  return el("section", { className: "card", id: "receive" }, el("h2", {}, t(W.receive)), form);
}

function eventList(root, data) {
  const names = unitNames(data.units);
  const sessionTitles = Object.fromEntries(data.sessions.map((s) => [s.id, s.title || ""]));
  const events = [];
  for (const [kind, records] of [
    [RECEIPT, data.receipts],
    [HANDOUT, data.handouts],
  ]) {
    for (const r of live(records)) {
      if (r.envoy_id !== data.envoyId) continue;
      const receipt = kind === RECEIPT;
      events.push({
        kind,
        record: r,
        when: receipt ? String(r.received_on || "") : chinaText(r.handed_out_at),
        where: receipt
          ? ""
          : sessionTitles[r.session_id || ""] || names[r.unit_code || ""] || r.unit_code || "",
      });
    }
  }
  events.sort((a, b) => b.when.localeCompare(a.when));
  const list = el("ul", { className: "list", id: "leaflet-events" });
  for (const e of events.slice(0, 30)) {
    const r = e.record;
    const item = el(
      "li",
      { "data-id": r.id, "data-kind": e.kind },
      el(
        "span",
        {},
        [
          e.when,
          t(e.kind === RECEIPT ? W.received : W.handedOut),
          data.titleNames[r.leaflet_title_id] || r.leaflet_title_id,
          `${r.copies > 0 && r.correction_of ? "+" : ""}${r.copies}`,
          e.where,
          r.correction_of ? t({ zh: "（更正）", en: "(correction)" }) : "",
        ]
          .filter(Boolean)
          .join(" · "),
      ),
    );
    if (!r.correction_of) {
      item.append(
        el(
          "button",
          {
            type: "button",
            className: "more-secondary more-correct",
            onclick: () => item.append(correctionForm(root, e.kind, r, data)),
          },
          t(W.correct),
        ),
      );
    }
    list.append(item);
  }
  return el("section", { className: "card" }, el("h2", {}, t(W.events)), list);
}

function correctionForm(root, kind, original, data) {
  const old = root.querySelector("#correct-form");
  if (old) old.remove();
  const message = el("p", { hidden: true });
  const change = el("input", { id: "correct-copies", inputmode: "numeric" });
  const form = el(
    "form",
    { id: "correct-form", novalidate: true },
    message,
    field(W.change, change, "copies"),
    el("p", { className: "more-hint" }, t(W.correctionHint)),
    el("button", { type: "submit", className: "primary", id: "correct-save" }, t(W.save)),
    el("button", { type: "button", className: "more-secondary", onclick: () => form.remove() }, t(W.cancel)),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const copies = wholeNumber(change.value);
    const bad = copiesProblem(copies, true);
    const earlier = kind === RECEIPT ? data.receipts : data.handouts;
    const errors = bad ? { copies: bad } : correctionProblems(original, copies, earlier);
    if (showErrors(form, errors)) return;
    // The same title (and place, for a hand-out) as the event corrected: shared/corrections.py.
    const values =
      kind === RECEIPT
        ? {
            leaflet_title_id: original.leaflet_title_id,
            copies,
            received_on: chinaToday(),
            correction_of: original.id,
          }
        : {
            leaflet_title_id: original.leaflet_title_id,
            copies,
            session_id: original.session_id || null,
            unit_code: original.unit_code || null,
            handed_out_at: toIso(new Date()),
            correction_of: original.id,
          };
    try {
      await saveRecord(kind, values);
    } catch (error) {
      say(message, errorWords(error), "refused");
      return;
    }
    toast(t(W.correctionSaved));
    await render(root);
  });
  return form;
}

registerScreen("leaflets", { title: W.title, render, menu: true, order: 40 });
