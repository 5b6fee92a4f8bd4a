// What the leaflets, plots, photos and progress screens share: the rules written from shared/
// (server/phone_app/rules.py), China time, numbers as typed, the envoy's id, small DOM helpers.
import { PHOTO_KINDS, PLOT_STAGES, SESSION_KINDS } from "./choices.js";
import { t } from "./i18n.js";
import { RULES } from "./rules.js";
import { getMeta } from "./store.js";

// The rules from shared/ (server/phone_app/rules.py writes js/rules.js), cached with the
// shell: the phone counts by the same definitions as the server, offline from the start.
export function loadRules() {
  return Promise.resolve(RULES);
}

const CHOICES = { photo_kind: PHOTO_KINDS, plot_stage: PLOT_STAGES, session_kind: SESSION_KINDS };

// A coded choice's words ({zh, en}) from shared/choices.py (js/choices.js), by field and code.
export function choiceWords(_rules, field, code) {
  return CHOICES[field]?.[code] || { zh: code || "", en: code || "" };
}

/** The codes of a coded choice in their shared/choices.py order, with their words. */
export function choiceOptions(field) {
  const labels = CHOICES[field] || {};
  const order = RULES.choice_order[field] || Object.keys(labels);
  return order.map((code) => ({ value: code, label: t(labels[code]) }));
}

// --------------------------------------------------------------- who and when

// The enrolled device's envoy (the field client's store.identity()).
export async function myEnvoyId() {
  return (await getMeta("envoy_id")) || null;
}

const CHINA_MS = 8 * 3600 * 1000;

// UTC ISO text, second precision, "Z" (shared/clock.py to_iso).
export function toIso(date) {
  return new Date(Math.floor(date.getTime() / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

// A stored time as a Date; a time without a zone is China time (shared/clock.py parse_iso).
export function parseIso(text) {
  if (!text) return null;
  const s = String(text);
  const zoned = /(Z|[+-]\d\d:?\d\d)$/.test(s) ? s : `${s}+08:00`;
  const date = new Date(zoned);
  return Number.isNaN(date.getTime()) ? null : date;
}

// A Date's calendar parts in China time.
export function chinaParts(date) {
  const c = new Date(date.getTime() + CHINA_MS);
  return {
    year: c.getUTCFullYear(),
    month: c.getUTCMonth() + 1,
    day: c.getUTCDate(),
    hour: c.getUTCHours(),
    minute: c.getUTCMinutes(),
  };
}

const two = (n) => String(n).padStart(2, "0");

// Today in China time as YYYY-MM-DD.
export function chinaToday(now = new Date()) {
  const p = chinaParts(now);
  return `${p.year}-${two(p.month)}-${two(p.day)}`;
}

// A stored time shown in China time, "YYYY-MM-DD HH:MM".
export function chinaText(iso) {
  const date = parseIso(iso);
  if (!date) return "";
  const p = chinaParts(date);
  return `${p.year}-${two(p.month)}-${two(p.day)} ${two(p.hour)}:${two(p.minute)}`;
}

// The value a datetime-local input wants for a Date, in China time.
export function chinaLocalInput(date = new Date()) {
  return chinaText(toIso(date)).replace(" ", "T");
}

// A datetime-local value (China time) as UTC ISO text; null when empty or not a time.
export function fromChinaLocal(value) {
  if (!value) return null;
  const date = parseIso(value.length === 16 ? `${value}:00` : value);
  return date ? toIso(date) : null;
}

// --------------------------------------------------------------- numbers as typed

// Full-width digits and signs folded as shared/typed_digits.number_text folds them.
export function numberText(text) {
  return String(text ?? "")
    .normalize("NFKC")
    .trim();
}

// A whole number as typed, or null.
export function wholeNumber(text) {
  const s = numberText(text);
  return /^[+-]?\d+$/.test(s) ? Number.parseInt(s, 10) : null;
}

// A decimal number as typed, or null (empty is null too: callers say whether it is needed).
export function decimalNumber(text) {
  const s = numberText(text);
  return /^[+-]?(\d+\.?\d*|\.\d+)$/.test(s) ? Number.parseFloat(s) : null;
}

// Python's round(x, digits): the exact binary value rounded to the nearest, ties to even, so
// the phone shows the figures field_client/progress.py and the server give. Worked on the
// exact decimal expansion (toFixed(100) is exact for these magnitudes): value * 10 ** digits
// rounds in binary first (2.675 * 100 is 267.5, though 2.675 is 2.67499…).
export function pyRound(value, digits = 0) {
  if (!Number.isFinite(value) || Math.abs(value) >= 1e21) return value;
  const negative = value < 0;
  const [whole, fraction] = Math.abs(value).toFixed(100).split(".");
  const kept = `${whole}${fraction.slice(0, digits)}`;
  const rest = fraction.slice(digits);
  let up = rest[0] > "5" || (rest[0] === "5" && /[1-9]/.test(rest.slice(1)));
  if (rest[0] === "5" && !/[1-9]/.test(rest.slice(1))) up = Number(kept.at(-1)) % 2 === 1;
  let digitsOut = kept.split("").map(Number);
  if (up) {
    let at = digitsOut.length - 1;
    while (at >= 0 && digitsOut[at] === 9) {
      digitsOut[at] = 0;
      at -= 1;
    }
    if (at < 0) digitsOut = [1, ...digitsOut];
    else digitsOut[at] += 1;
  }
  const text = digitsOut.join("");
  const rounded = Number(`${text.slice(0, text.length - digits) || "0"}.${text.slice(text.length - digits) || "0"}`);
  return negative ? -rounded : rounded;
}

// --------------------------------------------------------------- DOM

// An element with attributes and children (text or elements); no HTML is ever parsed, so
// a farmer's or title's text cannot become markup.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else if (key === "className") {
      node.className = value;
    } else if (value === true) {
      node.setAttribute(key, "");
    } else {
      node.setAttribute(key, String(value));
    }
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// A labelled field: <label>text <input …></label>, with an error line under it.
export function field(labelWords, input, name) {
  return el(
    "label",
    { className: "field" },
    el("span", {}, t(labelWords)),
    input,
    el("small", { className: "more-error", "data-error-for": name }),
  );
}

// Show each field's problem under it (and clear the others); returns true when there are any.
export function showErrors(form, errors) {
  for (const line of form.querySelectorAll("[data-error-for]")) {
    const problem = errors[line.dataset.errorFor];
    line.textContent = problem ? t(problem) : "";
  }
  return Object.keys(errors).length > 0;
}

// A message box at the top of a form: "done", "warn" or "refused".
export function say(box, words, tone = "done") {
  box.className = `more-message more-${tone}`;
  box.textContent = words ? t(words) : "";
  box.hidden = !words;
  if (words) box.setAttribute("role", tone === "done" ? "status" : "alert");
}

// A store error's message in the chosen language ("中文 / English" is split).
export function errorWords(error) {
  const text = String(error?.message || error || "");
  const [zh, en] = text.includes(" / ") ? text.split(" / ", 2) : [text, text];
  return { zh, en };
}

// --------------------------------------------------------------- reference and records

// The envoy may record at a session they lead, co-run or made (the server's rule,
// field_client/operations.py may_record_at).
export function mayRecordAt(session, envoyId) {
  return (
    !!envoyId &&
    (session.lead_envoy_id === envoyId ||
      session.envoy_id === envoyId ||
      (session.co_envoy_ids || []).includes(envoyId))
  );
}

// Live records of a kind (tombstones left out), as field_client's store.records gives them.
export function live(records) {
  return (records || []).filter((r) => !r.deleted);
}

// Unit names by code.
export function unitNames(units) {
  return Object.fromEntries((units || []).map((u) => [u.code, u.name || u.code]));
}

// A village as the field client's pickers show it: 城关镇/东村 (the township tells namesakes apart).
export function villageLabel(unit, names) {
  const township = names[unit.parent_code || ""] || "";
  return township ? `${township}/${unit.name}` : String(unit.name || unit.code);
}

// The villages a form offers, by label.
export function villageOptions(units) {
  const names = unitNames(units);
  return (units || [])
    .filter((u) => u.level == null || u.level === "village")
    .map((u) => ({ value: u.code, label: villageLabel(u, names) }))
    .sort((a, b) => a.label.localeCompare(b.label, "zh"));
}

// A session as a picker shows it: "2026-11-20 09:00 · 马铃薯培训 · 东村".
export function sessionLabel(session, names) {
  const place = names[session.unit_code || ""] || session.unit_code || "";
  return [chinaText(session.starts_at), session.title || "", place].filter(Boolean).join(" · ");
}

// A <select> of options ({value, label}), the first one optional.
export function select(attrs, options, empty = null) {
  const node = el("select", attrs);
  if (empty) node.append(el("option", { value: "" }, t(empty)));
  for (const o of options) node.append(el("option", { value: o.value }, o.label));
  return node;
}

// --------------------------------------------------------------- position

// Why the phone gave no position, in words the envoy can act on.
export function positionProblem(error) {
  if (error && error.code === 1) {
    return {
      zh: "未获准使用位置：请在手机或浏览器设置中允许本应用使用位置，或手动填写",
      en: "position not allowed: allow this app to use the location in the phone's or browser's settings, or type it",
    };
  }
  if (error && error.code === 3) {
    return {
      zh: "定位超时：请到开阔处再试，或手动填写",
      en: "no position in time: try again in the open, or type it",
    };
  }
  return {
    zh: "手机暂时无法定位（请打开定位服务）",
    en: "the phone cannot find its position now (turn on location services)",
  };
}

// shared/schemas/field.py PhotoSchema accuracy_m's bound.
const MOST_ACCURACY_M = 100_000;

// The phone's position now: {latitude, longitude, accuracy} or {problem: {zh, en}}; never
// rejects, so a phone that cannot or may not locate still records without a place.
export function currentPosition(timeoutMs = 15000) {
  return new Promise((resolve) => {
    if (!window.isSecureContext || !navigator.geolocation) {
      resolve({ problem: positionProblem({ code: 2 }) });
      return;
    }
    navigator.geolocation.getCurrentPosition(
      (position) => {
        const accuracy = position.coords.accuracy;
        // A fix coarser than the schema's bound (100 km: a cell tower far off) places nothing.
        if (Number.isFinite(accuracy) && accuracy > MOST_ACCURACY_M) {
          resolve({ problem: { zh: "手机的位置太粗略（误差超过100公里）", en: "the phone's position is too rough (more than 100 km off)" } });
          return;
        }
        resolve({
          latitude: Math.round(position.coords.latitude * 1e7) / 1e7,
          longitude: Math.round(position.coords.longitude * 1e7) / 1e7,
          accuracy: Number.isFinite(accuracy) ? Math.round(accuracy * 10) / 10 : null,
        });
      },
      (error) => resolve({ problem: positionProblem(error) }),
      { enableHighAccuracy: true, timeout: timeoutMs, maximumAge: 120000 },
    );
  });
}
