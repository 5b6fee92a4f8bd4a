// The outbox and sync: what waits to be sent, by kind; each change the server refused with its
// reason in Chinese and what to do; what the server holds; a sync button (syncs also start by
// themselves when the network comes back).
import { navigate, onSynced, refresh, registerScreen, toast } from "./app.js";
import { RECORD_KINDS } from "./choices.js";
import { fill, h, refusalNote } from "./dom.js";
import { chinaTime, t } from "./i18n.js";
import { PENDING, REJECTED, discardRefused, getMeta, outboxEntries } from "./store.js";
import { summary, syncNow, syncing } from "./sync.js";

function kindName(kind) {
  return t(RECORD_KINDS[kind] || { zh: kind, en: kind });
}

/** What the envoy can do about a refused change (field_client/operations.py refusal_hint). */
export function refusalHint(kind, errors) {
  const fields = Object.keys(errors || {});
  if (fields.includes("correction_of") || fields.includes("copies")) {
    return { zh: "请核对份数后另记一条更正，然后放弃这条更改", en: "check the copies, record a new correction, then discard this change" };
  }
  if (["attendance", "leaflet_handout", "plot_observation"].includes(kind)) {
    return {
      zh: "培训或示范田不属于你时服务器不接受：请放弃这条更改，或请主持人把你加为协同特派员后重新记录",
      en: "refused when the session or plot is not yours: discard it, or ask the lead to add you as a co-envoy and record it again",
    };
  }
  return { zh: "请按原因修改记录后再同步；无法修改时放弃这条更改", en: "fix the record as the reason says and sync again; discard the change if it cannot be fixed" };
}

async function renderOutbox(root) {
  const entries = await outboxEntries();
  const pending = entries.filter((entry) => entry.state === PENDING);
  const refused = entries.filter((entry) => entry.state === REJECTED);
  const byKind = new Map();
  for (const entry of pending) byKind.set(entry.kind, (byKind.get(entry.kind) || 0) + 1);
  const last = await getMeta("last_sync");
  const held = (await getMeta("held")) || [];
  const heldCount = Number((await getMeta("held_count")) || 0);
  const status = h("p", { class: "status", role: "status" }, last ? t({ zh: `上次同步：${chinaTime(last.at)}`, en: `last synced ${chinaTime(last.at)}` }) : t({ zh: "尚未同步", en: "not synced yet" }));
  const button = h("button", { type: "button", class: "primary", "data-action": "sync", disabled: syncing(), onclick: () => runSync(button, status) }, t({ zh: "立即同步", en: "Sync now" }));
  const revoked = await getMeta("revoked");
  const kept = navigator.storage && navigator.storage.persisted ? await navigator.storage.persisted() : true;
  fill(
    root,
    revoked
      ? h(
          "div",
          { class: "card error", role: "alert" },
          t({ zh: "科技局已停用本机的登记，同步前请重新登记。", en: "The bureau revoked this phone: enrol it again before syncing." }),
          " ",
          h("button", { type: "button", "data-action": "enrol-again", onclick: () => navigate("enrol") }, t({ zh: "重新登记", en: "Enrol again" })),
        )
      : null,
    h("div", { class: "actions" }, button),
    status,
    kept
      ? null
      : h(
          "p",
          { class: "hint", "data-storage": "not-persisted" },
          t({
            zh: "浏览器未承诺保留本机数据，空间不足时可能清除：请把应用添加到主屏幕，并在有信号时及时同步。",
            en: "The browser has not promised to keep this phone's data and may clear it when space runs low: add the app to the home screen and sync when in signal.",
          }),
        ),
    h("h2", {}, t({ zh: "待发送", en: "Waiting to be sent" }), " ", h("span", { class: "badge", "data-figure": "pending" }, String(pending.length))),
    pending.length
      ? h("ul", { class: "list waiting" }, [...byKind.entries()].map(([kind, count]) => h("li", { "data-kind": kind }, h("span", { class: "grow" }, kindName(kind)), h("strong", {}, String(count)))))
      : h("p", { class: "muted" }, t({ zh: "全部已发送", en: "everything is sent" })),
    h("h2", {}, t({ zh: "被拒绝的更改", en: "Refused changes" }), " ", h("span", { class: refused.length ? "badge bad" : "badge", "data-figure": "refused" }, String(refused.length))),
    refused.length ? h("ul", { class: "list refused" }, refused.map(refusedItem)) : h("p", { class: "muted" }, t({ zh: "没有", en: "none" })),
    heldCount
      ? [
          h("h2", {}, t({ zh: "服务器暂存（等待相关记录到达）", en: "Held by the server (waiting for a record)" }), " ", h("span", { class: "badge warn" }, String(heldCount))),
          h("ul", { class: "list held" }, held.map((item) => h("li", {}, h("span", { class: "grow" }, `${kindName(item.k)} → ${kindName(item.w)}`), h("small", { class: "muted" }, chinaTime(item.t))))),
        ]
      : null,
  );
}

/** Where a refused change is put right: the form, started from what was refused. Screens of
 * other kinds may register their own (`addFixer`). */
const fixers = {
  session: (entry) => (entry.is_create ? ["session-form", { refused: entry.seq }] : ["session-form", { id: entry.id }]),
  farmer: (entry) => (entry.is_create ? ["farmer-new", { refused: entry.seq }] : null),
};

export function addFixer(kind, where) {
  fixers[kind] = where;
}

function fixButton(entry) {
  const where = fixers[entry.kind] ? fixers[entry.kind](entry) : null;
  if (!where) return null;
  return h("button", { type: "button", "data-action": "fix", onclick: () => navigate(...where) }, t({ zh: "修改", en: "Fix" }));
}

function refusedItem(entry) {
  return h(
    "li",
    { "data-seq": String(entry.seq) },
    h(
      "div",
      { class: "grow" },
      h("strong", {}, `${kindName(entry.kind)}${entry.is_create ? t({ zh: "（新建）", en: " (new)" }) : ""}`),
      refusalNote(entry),
      h("div", { class: "hint" }, t(refusalHint(entry.kind, entry.errors))),
    ),
    fixButton(entry),
    h(
      "button",
      {
        type: "button",
        class: "danger",
        "data-action": "discard",
        onclick: async () => {
          await discardRefused(entry.seq);
          toast({ zh: "已放弃这条更改", en: "change discarded" });
          refresh();
        },
      },
      t({ zh: "放弃", en: "Discard" }),
    ),
  );
}

async function runSync(button, status) {
  button.disabled = true;
  fill(status, t({ zh: "正在同步…", en: "syncing…" }));
  try {
    const report = await syncNow({
      onProgress: (so) => {
        status.textContent = t({ zh: `正在同步：已发送 ${so.pushed} 条，已收到 ${so.pulled} 条`, en: `syncing: ${so.pushed} sent, ${so.pulled} received` });
      },
    });
    toast(summary(report));
    refresh();
  } catch (error) {
    button.disabled = false;
    if (error.revoked) {
      refresh();
      return;
    }
    fill(status, h("span", { class: "error", role: "alert" }, error.text ? t(error.text) : String(error.message || error)));
  }
}

registerScreen("outbox", { title: { zh: "同步与待发送", en: "Sync and outbox" }, menu: true, order: 90, render: renderOutbox });

onSynced(() => {
  if (location.hash.startsWith("#outbox")) refresh();
});
