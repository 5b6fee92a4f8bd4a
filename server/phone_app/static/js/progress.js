// The envoy's own progress for a year against their targets, offline, from the records in
// IndexedDB and the pulled targets. The definitions (which indicators, which session kinds an
// indicator counts, whose audience is no trainees, how "met" is judged) are data served from
// shared/indicators.py (server/phone_app/rules.py); the counting below is
// field_client/progress.py's, line for line, and tests/e2e/test_phone_app_more_progress.py
// proves both give every indicator the same value on the same records.
import { registerScreen } from "./app.js";
import { t } from "./i18n.js";
import { inTransaction, listRecords, listReference, outboxEntries, PENDING, req } from "./store.js";
import { chinaParts, el, loadRules, myEnvoyId, parseIso, pyRound } from "./more_common.js";

const W = {
  title: { zh: "我的进度", en: "My progress" },
  hint: {
    zh: "按本机已同步和尚未发送的记录计算，没有网络也能看。科技局的数字在下次同步后跟上。",
    en: "Counted on this device from what was synced and what is still unsent, so it works without a connection. The bureau's figures follow after the next sync.",
  },
  noTargets: {
    zh: "本机还没有你今年的目标：科技局设定后，同步即可收到。",
    en: "No targets for you this year on this device yet: they arrive with a sync once the bureau sets them.",
  },
  indicator: { zh: "指标", en: "Indicator" },
  done: { zh: "已完成", en: "Done" },
  target: { zh: "目标", en: "Target" },
  status: { zh: "状态", en: "Status" },
  growth: { zh: "比上年增长", en: "growth on last year" },
  noBasis: { zh: "无上年数据", en: "no last-year data" },
  met: { zh: "已达标", en: "met" },
  year: { zh: "年份", en: "Year" },
  notEnrolled: { zh: "本机尚未登记：请先登记设备。", en: "This phone is not enrolled yet." },
};

function yearOf(iso) {
  const date = parseIso(iso);
  return date ? chinaParts(date).year : null;
}

/** What progress counts from: the phone's records, its merged farmers and the targets. */
export async function gatherRecords() {
  const [sessions, attendance, handouts, plots, farmers, aliasRows, targets] = await Promise.all([
    listRecords("session"),
    listRecords("attendance"),
    listRecords("leaflet_handout"),
    listRecords("plot"),
    listRecords("farmer", { includeDeleted: true }),
    inTransaction(["aliases"], "readonly", (tx) => req(tx.objectStore("aliases").getAll())),
    listReference("target"),
  ]);
  const aliases = Object.fromEntries(aliasRows.map((a) => [a.id, a.canonical_id]));
  return { sessions, attendance, handouts, plots, farmers, aliases, targets };
}

/** Each indicator's value for envoy `me` in `year` (China time): field_client/progress.py
 * actuals, on the same records. */
export function actuals(data, rules, me, year) {
  const deletedFarmers = new Set(data.farmers.filter((f) => f.deleted).map((f) => f.id));
  const sessions = new Map();
  for (const s of data.sessions) {
    if (!s.deleted && s.lead_envoy_id === me && yearOf(s.starts_at) === year) sessions.set(s.id, s);
  }
  const pairs = new Set();
  const people = new Set();
  for (const a of data.attendance) {
    if (a.deleted) continue;
    const session = sessions.get(a.session_id || "");
    if (!session || rules.audience_kinds.includes(session.kind)) continue;
    if (deletedFarmers.has(a.farmer_id)) continue;
    const person = data.aliases[a.farmer_id] ?? a.farmer_id;
    pairs.add(JSON.stringify([session.id, person]));
    people.add(person);
  }
  const plots = data.plots.filter(
    (r) => !r.deleted && r.envoy_id === me && String(r.established_on ?? "").slice(0, 4) === String(year),
  );
  const technologies = new Set();
  for (const s of sessions.values()) for (const x of s.technology_ids || []) technologies.add(x);
  for (const r of plots) for (const x of r.technology_ids || []) technologies.add(x);
  const kinds = [...sessions.values()].map((s) => s.kind);
  const values = {
    trainee_attendances: pairs.size,
    unique_trainees: people.size,
    leaflets_distributed: data.handouts
      .filter((h) => !h.deleted && h.envoy_id === me && yearOf(h.handed_out_at) === year)
      .reduce((sum, h) => sum + Math.trunc(Number(h.copies) || 0), 0),
    technologies_promoted: technologies.size,
    varieties_introduced: new Set(plots.filter((r) => r.variety_id).map((r) => r.variety_id)).size,
    demo_plots: plots.length,
    demo_area_mu: pyRound(
      plots.reduce((sum, r) => sum + (Number(r.area_mu) || 0), 0),
      2,
    ),
  };
  for (const [key, kind] of Object.entries(rules.session_kind_indicators)) {
    values[key] = kinds.filter((k) => k === kind).length;
  }
  // Every indicator the rules name has a value: one missing here is a rule this copy lacks.
  for (const indicator of rules.indicators) {
    if (!(indicator.key in values)) throw new Error(`progress.js cannot count ${indicator.key}`);
  }
  return values;
}

// shared/indicators.py growth_target and is_met.
function growthTarget(lastYear, percent) {
  if (!lastYear || percent === null || percent === undefined) return null;
  return pyRound(lastYear * (1 + percent / 100), 2);
}

function isMet(actual, comparator, target) {
  if (comparator === ">") return actual > target;
  if (comparator === ">=") return actual >= target;
  throw new Error(`unknown comparator ${comparator}`);
}

/** The envoy's lines for `year` against their synced targets (field_client/progress.py
 * envoy_progress): {year, lines: [{indicator, comparator, target, actual, basis, met,
 * percent}], hasTargets}. */
export function envoyProgress(data, rules, me, year) {
  const now = actuals(data, rules, me, year);
  let last = null;
  const targets = {};
  for (const synced of data.targets) {
    if (synced.envoy_id === me && synced.year === year) targets[synced.indicator] = synced;
  }
  const lines = rules.indicators.map((indicator) => {
    const target = targets[indicator.key];
    let value = null;
    if (target) {
      if (target.basis === "growth") {
        last = last ?? actuals(data, rules, me, year - 1);
        value = growthTarget(last[indicator.key], Number(target.growth_percent || 0));
      } else {
        value = Number(target.value);
      }
    }
    const comparator = target ? target.comparator ?? null : null;
    const actual = now[indicator.key];
    return {
      indicator,
      comparator,
      target: value,
      actual,
      basis: target ? String(target.basis || "value") : "value",
      met: value === null || comparator === null ? null : isMet(actual, comparator, value),
      percent: value ? Math.min(999, pyRound((100 * actual) / value)) : null,
    };
  });
  return { year, lines, hasTargets: Object.keys(targets).length > 0 };
}

// ------------------------------------------------------------------ the screen

function figure(indicator, value) {
  return indicator.whole ? String(Math.round(value)) : String(pyRound(value, 2));
}

async function render(root, params = {}) {
  root.replaceChildren();
  root.classList.add("more-screen");
  const [me, rules] = await Promise.all([myEnvoyId(), loadRules()]);
  if (!me) {
    root.append(el("p", { className: "more-message more-warn" }, t(W.notEnrolled)));
    return;
  }
  const thisYear = chinaParts(new Date()).year;
  const year = Number.parseInt(params.year, 10) || thisYear;
  const data = await gatherRecords();
  const progress = envoyProgress(data, rules, me, year);
  const unsent = (await outboxEntries()).filter((e) => e.state === PENDING).length;
  const choose = el(
    "select",
    { id: "progress-year", onchange: (e) => render(root, { year: e.target.value }) },
    [thisYear, thisYear - 1, thisYear - 2].map((y) => el("option", { value: y, selected: y === year }, y)),
  );
  const rows = progress.lines.map((line) => {
    let target = "—";
    if (line.target !== null) {
      target = `${line.comparator === ">" ? ">" : "≥"} ${figure(line.indicator, line.target)}`;
      if (line.basis === "growth") target += ` (${t(W.growth)})`;
    } else if (line.basis === "growth") {
      target = t(W.noBasis);
    }
    let status = "";
    if (line.met === true) status = el("span", { className: "more-tag more-green" }, t(W.met));
    else if (line.met === false) status = el("span", { className: "more-tag more-orange" }, `${line.percent}%`);
    return el(
      "tr",
      { "data-indicator": line.indicator.key },
      el("td", {}, t(line.indicator)),
      el("td", { className: "num actual" }, figure(line.indicator, line.actual)),
      el("td", { className: "num target" }, target),
      el("td", { className: "status" }, status),
    );
  });
  const parts = [
    el("h1", {}, t({ zh: `我的 ${year} 年进度`, en: `My progress in ${year}` })),
    el("label", { className: "field" }, el("span", {}, t(W.year)), choose),
    el(
      "p",
      { className: "more-hint" },
      t(W.hint),
      unsent
        ? el(
            "strong",
            { id: "progress-unsent" },
            ` ${t({ zh: `其中包括 ${unsent} 条尚未发送的更改。`, en: `${unsent} changes not yet sent are included.` })}`,
          )
        : null,
    ),
    progress.hasTargets ? null : el("p", { className: "more-message more-warn" }, t(W.noTargets)),
    el(
      "div",
      { className: "more-scroll" },
      el(
        "table",
        { className: "more-table", id: "progress-table" },
        el(
          "thead",
          {},
          el("tr", {}, el("th", {}, t(W.indicator)), el("th", {}, t(W.done)), el("th", {}, t(W.target)), el("th", {}, t(W.status))),
        ),
        el("tbody", {}, rows),
      ),
    ),
  ];
  root.append(...parts.filter(Boolean));
}

registerScreen("progress", { title: W.title, render, menu: true, order: 70 });
