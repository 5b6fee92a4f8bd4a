// Sessions: today's and upcoming; start one, edit it, close it with the headcount, delete one
// made by mistake (with its check-ins), as tianjian-field's session commands do.
import { navigate, onSynced, refresh, registerScreen, toast } from "./app.js";
import { SESSION_KINDS } from "./choices.js";
import { isoOfMs } from "./clock.js";
import { field, fill, guarded, h, refusalNote } from "./dom.js";
import { chinaDay, chinaParts, chinaTime, t } from "./i18n.js";
import { byId, forgetPlaces, unitName, villageSelect } from "./places.js";
import { checkinsOf, deleteRecord, discardRefused, getMeta, getRecord, listRecords, listReference, refusedEntry, saveRecord, undoneCheckins } from "./store.js";

/** True when this envoy leads, co-runs or made the session (the server's rule). */
export function mayRecordAt(session, envoyId) {
  return [session.lead_envoy_id, session.envoy_id, ...(session.co_envoy_ids || [])].includes(envoyId);
}

/** A China-time "YYYY-MM-DDTHH:MM" (a datetime-local input's value) as UTC ISO text. */
export function chinaInputToIso(value) {
  const found = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(value || "");
  if (!found) return null;
  const [, y, m, d, hh, mm] = found.map(Number);
  return isoOfMs(Date.UTC(y, m - 1, d, hh - 8, mm));
}

/** UTC ISO text as a datetime-local input's China-time value. */
export function isoToChinaInput(iso) {
  if (!iso) return "";
  const parts = chinaParts(new Date(iso));
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`;
}

function kindLabel(code) {
  return t(SESSION_KINDS[code] || { zh: code, en: code });
}

// ------------------------------------------------------------------ the list

async function ownSessions() {
  const envoyId = await getMeta("envoy_id");
  return (await listRecords("session")).filter((session) => mayRecordAt(session, envoyId));
}

async function renderList(root) {
  const today = chinaDay();
  const sessions = (await ownSessions()).sort((a, b) => a.starts_at.localeCompare(b.starts_at));
  const todays = sessions.filter((s) => chinaDay(new Date(s.starts_at)) === today);
  const upcoming = sessions.filter((s) => chinaDay(new Date(s.starts_at)) > today);
  const open = sessions.filter((s) => chinaDay(new Date(s.starts_at)) < today && !s.closed).reverse();
  const section = async (title, items, empty) => [
    h("h2", {}, t(title)),
    items.length ? h("ul", { class: "list sessions" }, await Promise.all(items.map(sessionItem))) : h("p", { class: "muted" }, t(empty)),
  ];
  fill(
    root,
    h("div", { class: "actions" }, h("button", { type: "button", class: "primary", "data-action": "new-session", onclick: () => navigate("session-form") }, t({ zh: "＋ 开始一场培训", en: "+ Start a session" }))),
    await section({ zh: "今天", en: "Today" }, todays, { zh: "今天没有培训", en: "no session today" }),
    await section({ zh: "即将开始", en: "Upcoming" }, upcoming, { zh: "没有安排", en: "nothing planned" }),
    open.length ? await section({ zh: "之前未结束的", en: "Earlier, not closed" }, open, {}) : null,
  );
}

async function sessionItem(session) {
  const checked = (await checkinsOf(session.id)).length;
  return h(
    "li",
    { "data-session": session.id, onclick: () => navigate("session", { id: session.id }) },
    h(
      "div",
      { class: "grow" },
      h("strong", {}, session.title),
      h("div", { class: "muted" }, `${chinaTime(session.starts_at)} · ${kindLabel(session.kind)} · ${await unitName(session.unit_code)}`),
    ),
    h("span", { class: session.closed ? "badge" : "badge warn" }, session.closed ? t({ zh: "已结束", en: "closed" }) : t({ zh: "进行中", en: "open" })),
    h("span", { class: "count-small", title: t({ zh: "签到人数", en: "checked in" }) }, String(checked)),
  );
}

registerScreen("sessions", { title: { zh: "培训场次", en: "Sessions" }, menu: true, order: 10, render: renderList });

// ------------------------------------------------------------------ start or edit

async function renderForm(root, params) {
  const session = params.id ? await getRecord("session", params.id) : null;
  // A refused new session typed again: the form starts from what the server refused.
  const refused = params.refused ? await refusedEntry(Number(params.refused)) : null;
  const prefill = session || (refused && refused.kind === "session" ? refused.fields : null);
  const kind = h(
    "select",
    { name: "kind" },
    Object.entries(SESSION_KINDS).map(([code, words]) => h("option", { value: code, selected: code === (prefill?.kind || "village_training") }, t(words))),
  );
  const title = h("input", { name: "title", maxlength: 200, required: true, value: prefill?.title || "" });
  const village = await villageSelect("unit_code", prefill?.unit_code || "", { townships: true });
  const noVillages = village.querySelectorAll("option[value]:not([value=''])").length === 0;
  const starts = h("input", { name: "starts_at", type: "datetime-local", required: true, value: isoToChinaInput(prefill?.starts_at || new Date().toISOString()) });
  const ends = h("input", { name: "ends_at", type: "datetime-local", value: isoToChinaInput(prefill?.ends_at) });
  const place = h("input", { name: "place", maxlength: 200, value: prefill?.place || "" });
  const boards = h("input", { name: "display_boards", type: "number", min: 0, max: 10000, inputmode: "numeric", value: String(prefill?.display_boards ?? 0) });
  const chosen = new Set(prefill?.technology_ids || []);
  const technologies = (await listReference("technology")).map((tech) =>
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "technology_ids", value: tech.id, checked: chosen.has(tech.id) }), ` ${tech.name}`),
  );
  const me = await getMeta("envoy_id");
  const coChosen = new Set(prefill?.co_envoy_ids || []);
  const coEnvoys = (await listReference("envoy"))
    .filter((envoy) => envoy.id !== me && envoy.active !== false)
    .map((envoy) =>
      h("label", { class: "check" }, h("input", { type: "checkbox", name: "co_envoy_ids", value: envoy.id, checked: coChosen.has(envoy.id) }), ` ${envoy.name}`),
    );
  const status = h("p", { class: "status", role: "alert" });
  const form = h(
    "form",
    { onsubmit: guarded((event) => saveForm(event, form, session, status, refused)) },
    refused ? refusalNote(refused) : null,
    field({ zh: "类型", en: "Kind" }, kind),
    field({ zh: "标题", en: "Title" }, title),
    field({ zh: "村（大型培训可选全镇）", en: "Village (or a whole township for a large training)" }, village),
    noVillages
      ? h("p", { class: "error", "data-hint": "no-villages" }, t({ zh: "本机还没有村名单：请在有信号时到“同步与待发送”同步一次。", en: "No villages on this phone yet: sync once in signal (Sync and outbox)." }))
      : null,
    field({ zh: "开始时间", en: "Starts" }, starts),
    field({ zh: "结束时间（可不填）", en: "Ends (optional)" }, ends),
    field({ zh: "地点（可不填）", en: "Place (optional)" }, place),
    field({ zh: "展板数", en: "Display boards" }, boards),
    technologies.length ? h("fieldset", { class: "field" }, h("legend", {}, t({ zh: "推广技术", en: "Technologies" })), technologies) : null,
    coEnvoys.length
      ? h("details", { class: "field", open: coChosen.size > 0 }, h("summary", {}, t({ zh: "协同特派员（可不选）", en: "Co-envoys (optional)" })), coEnvoys)
      : null,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t({ zh: "保存", en: "Save" })), h("button", { type: "button", onclick: () => history.back() }, t({ zh: "取消", en: "Cancel" }))),
    status,
  );
  fill(root, form);
}

async function saveForm(event, form, session, status, refused = null) {
  const data = new FormData(form);
  const values = {
    kind: data.get("kind"),
    title: String(data.get("title") || "").trim(),
    unit_code: data.get("unit_code"),
    starts_at: chinaInputToIso(data.get("starts_at")),
    ends_at: chinaInputToIso(data.get("ends_at")),
    place: String(data.get("place") || "").trim() || null,
    display_boards: Number(data.get("display_boards") || 0),
    technology_ids: data.getAll("technology_ids"),
    co_envoy_ids: data.getAll("co_envoy_ids"),
  };
  const problem = !values.title
    ? { zh: "请填写标题", en: "give a title" }
    : !values.unit_code
      ? { zh: "请选择村", en: "choose a village" }
      : !values.starts_at
        ? { zh: "请填写开始时间", en: "give the start time" }
        : values.ends_at && values.ends_at < values.starts_at
          ? { zh: "结束时间：早于开始时间", en: "ends before it starts" }
          : !Number.isInteger(values.display_boards) || values.display_boards < 0
            ? { zh: "展板数：须为非负整数", en: "display boards: a whole number, 0 or more" }
            : null;
  if (problem) {
    fill(status, h("span", { class: "error" }, t(problem)));
    return;
  }
  try {
    let saved;
    if (session) {
      saved = await saveRecord("session", { id: session.id, ...values });
    } else {
      const envoyId = await getMeta("envoy_id");
      saved = await saveRecord("session", { ...values, lead_envoy_id: envoyId, reported_headcount: null });
    }
    if (refused) await discardRefused(refused.seq);
    toast({ zh: "已保存", en: "saved" });
    navigate("session", { id: saved.id });
  } catch (error) {
    fill(status, h("span", { class: "error" }, error.text ? t(error.text) : String(error.message || error)));
  }
}

registerScreen("session-form", { title: { zh: "培训场次", en: "Session" }, render: renderForm });

// ------------------------------------------------------------------ one session

async function renderSession(root, params) {
  const session = await getRecord("session", params.id);
  if (!session || session.deleted) {
    fill(root, h("p", { class: "error" }, t({ zh: "没有这场培训（可能已删除）", en: "no such session (perhaps deleted)" })));
    return;
  }
  const checkins = (await checkinsOf(session.id)).sort((a, b) => a.checked_in_at.localeCompare(b.checked_in_at));
  const farmers = await byFarmer();
  const undone = await undoneCheckins(session.id);
  const technologies = await byId("technology");
  const actionsBox = h("div", { class: "panel" });
  fill(
    root,
    h(
      "div",
      { class: "card" },
      h("h3", {}, session.title),
      h("div", { class: "muted" }, `${kindLabel(session.kind)} · ${await unitName(session.unit_code)}${session.place ? ` · ${session.place}` : ""}`),
      h("div", { class: "muted" }, `${chinaTime(session.starts_at)}${session.ends_at ? ` – ${chinaTime(session.ends_at)}` : ""}`),
      (session.technology_ids || []).length
        ? h("div", { class: "muted" }, session.technology_ids.map((id) => technologies.get(id)?.name || id).join("、"))
        : null,
      h(
        "div",
        { class: "figures" },
        h("span", {}, t({ zh: "签到（核实）", en: "Checked in (verified)" }), " ", h("strong", { class: "count", "data-figure": "verified" }, String(checkins.length))),
        " ",
        h("span", {}, t({ zh: "报告人数", en: "Reported headcount" }), " ", h("strong", { class: "count", "data-figure": "headcount" }, session.reported_headcount ?? "—")),
      ),
      session.closed ? h("span", { class: "badge" }, t({ zh: "已结束", en: "closed" })) : null,
    ),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "button", class: "primary", "data-action": "roster", onclick: () => navigate("checkin", { session: session.id }) }, t({ zh: "名单签到", en: "Roster check-in" })),
      h("button", { type: "button", "data-action": "new-farmer", onclick: () => navigate("farmer-new", { session: session.id }) }, t({ zh: "新农户", en: "New farmer" })),
      // Farmers with signal check themselves in on the server (js/session_qr.js).
      h("button", { type: "button", "data-action": "show-qr", onclick: () => navigate("session_qr", { id: session.id }) }, t({ zh: "显示签到二维码", en: "Show check-in QR" })),
      h("button", { type: "button", "data-action": "edit", onclick: () => navigate("session-form", { id: session.id }) }, t({ zh: "编辑", en: "Edit" })),
      h("button", { type: "button", "data-action": "close", onclick: () => closeForm(actionsBox, session) }, t({ zh: "结束培训", en: "Close" })),
      h("button", { type: "button", class: "danger", "data-action": "delete", onclick: () => deleteForm(actionsBox, session, checkins.length) }, t({ zh: "删除", en: "Delete" })),
    ),
    actionsBox,
    h("h2", {}, t({ zh: "已签到", en: "Checked in" })),
    checkins.length
      ? h("ul", { class: "list checked-in" }, checkins.map((checkin) => checkedInItem(checkin, farmers)))
      : h("p", { class: "muted" }, t({ zh: "还没有人签到", en: "nobody checked in yet" })),
    undone.length ? h("h2", {}, t({ zh: "已撤销的签到", en: "Check-ins undone" })) : null,
    undone.length
      ? h(
          "ul",
          { class: "list undone" },
          undone.map((row) =>
            h(
              "li",
              { "data-farmer": row.farmer_id },
              h("div", { class: "grow" }, h("strong", {}, farmers.get(row.farmer_id)?.name || "?"), h("div", { class: "muted" }, `${chinaTime(row.undone_at)} · ${row.reason}`)),
            ),
          ),
        )
      : null,
  );
}

async function byFarmer() {
  return new Map((await listRecords("farmer", { includeDeleted: true })).map((farmer) => [farmer.id, farmer]));
}

function checkedInItem(checkin, farmers) {
  const farmer = farmers.get(checkin.farmer_id);
  const undoBox = h("div", { class: "undo" });
  return h(
    "li",
    { "data-farmer": checkin.farmer_id },
    h("div", { class: "grow" }, h("strong", {}, farmer?.name || "?"), h("div", { class: "muted" }, chinaTime(checkin.checked_in_at, false)), undoBox),
    h("button", { type: "button", "data-action": "undo", onclick: () => undoForm(undoBox, checkin) }, t({ zh: "撤销", en: "Undo" })),
  );
}

function undoForm(box, checkin) {
  const reason = h("input", { name: "reason", maxlength: 200, placeholder: t({ zh: "原因，如：点错了人", en: "why, e.g. ticked the wrong person" }) });
  fill(
    box,
    h(
      "form",
      {
        onsubmit: guarded(async () => {
          const why = reason.value.trim();
          if (!why) {
            toast({ zh: "请写明撤销原因", en: "say why it is undone" }, { error: true });
            return;
          }
          await deleteRecord("attendance", checkin.id, why);
          toast({ zh: "已撤销签到", en: "check-in undone" });
          refresh();
        }),
      },
      field({ zh: "撤销原因", en: "Reason" }, reason),
      h("button", { type: "submit", class: "danger", "data-action": "confirm-undo" }, t({ zh: "确认撤销", en: "Undo check-in" })),
    ),
  );
  reason.focus();
}

function closeForm(box, session) {
  const ends = h("input", { name: "ends_at", type: "datetime-local", value: isoToChinaInput(new Date().toISOString()) });
  const headcount = h("input", { name: "headcount", type: "number", min: 0, max: 1000000, inputmode: "numeric", value: session.reported_headcount ?? "" });
  fill(
    box,
    h(
      "form",
      {
        class: "card",
        onsubmit: guarded(async () => {
          const values = { id: session.id, closed: true, ends_at: chinaInputToIso(ends.value) || isoOfMs(Date.now()) };
          if (values.ends_at < session.starts_at) {
            toast({ zh: "结束时间早于开始时间", en: "ends before it starts" }, { error: true });
            return;
          }
          if (headcount.value !== "") {
            const count = Number(headcount.value);
            if (!Number.isInteger(count) || count < 0) {
              toast({ zh: "人数须为非负整数", en: "the headcount is a whole number, 0 or more" }, { error: true });
              return;
            }
            values.reported_headcount = count;
          }
          await saveRecord("session", values);
          toast({ zh: "培训已结束", en: "session closed" });
          refresh();
        }),
      },
      field({ zh: "结束时间", en: "Ends" }, ends),
      field({ zh: "报告人数（现场清点）", en: "Reported headcount" }, headcount, { zh: "与签到人数分开统计，不会相加", en: "kept apart from check-ins, never added to them" }),
      h("button", { type: "submit", class: "primary", "data-action": "confirm-close" }, t({ zh: "结束培训", en: "Close session" })),
    ),
  );
}

function deleteForm(box, session, checkins) {
  fill(
    box,
    h(
      "div",
      { class: "card" },
      h("p", {}, t({ zh: `删除这场培训及其 ${checkins} 个签到？仅用于误建的场次。`, en: `Delete this session and its ${checkins} check-ins? Only for one made by mistake.` })),
      h(
        "button",
        {
          type: "button",
          class: "danger",
          "data-action": "confirm-delete",
          onclick: async (event) => {
            event.currentTarget.disabled = true;
            await deleteRecord("session", session.id);
            toast({ zh: "已删除", en: "deleted" });
            navigate("sessions");
          },
        },
        t({ zh: "确认删除", en: "Delete" }),
      ),
    ),
  );
}

registerScreen("session", { title: { zh: "培训场次", en: "Session" }, render: renderSession });

onSynced(() => {
  forgetPlaces();
  // Lists show what the sync brought; a form being filled in is left alone.
  if (/^#?(sessions)?$/.test(location.hash) || location.hash.startsWith("#session?")) refresh();
});
