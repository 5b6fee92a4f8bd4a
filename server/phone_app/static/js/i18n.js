// The app's two languages: Chinese first, English when the envoy switches (kept on the phone).
const KEY = "tianjian-lang";
const LANGUAGES = ["zh", "en"];

let current = readChoice();

function readChoice() {
  try {
    const saved = localStorage.getItem(KEY);
    return LANGUAGES.includes(saved) ? saved : "zh";
  } catch {
    return "zh";
  }
}

/** The text in the chosen language: t({zh: "…", en: "…"}). */
export function t(text) {
  if (text == null) return "";
  if (typeof text === "string") return text;
  return text[current] ?? text.zh ?? "";
}

/** "中文 / English" as the server writes its messages: the half in the chosen language. */
export function half(message) {
  if (typeof message !== "string") return t(message);
  const at = message.indexOf(" / ");
  if (at < 0) return message;
  return current === "en" ? message.slice(at + 3) : message.slice(0, at);
}

export function lang() {
  return current;
}

export function setLang(value) {
  if (!LANGUAGES.includes(value)) return;
  current = value;
  try {
    localStorage.setItem(KEY, value);
  } catch {
    // Private mode: the choice lasts until the page closes.
  }
  document.documentElement.lang = value === "zh" ? "zh-CN" : "en";
}

/** A moment (ISO text or Date) as China time, the way people read it: 11月20日 09:00. */
export function chinaTime(moment, withDate = true) {
  if (!moment) return "";
  const date = moment instanceof Date ? moment : new Date(moment);
  const parts = chinaParts(date);
  const clock = `${parts.hour}:${parts.minute}`;
  if (!withDate) return clock;
  return current === "en"
    ? `${parts.year}-${parts.month}-${parts.day} ${clock}`
    : `${Number(parts.month)}月${Number(parts.day)}日 ${clock}`;
}

/** Year, month, day, hour, minute of a moment in China time (UTC+8 all year), as text. */
export function chinaParts(date) {
  const shifted = new Date(date.getTime() + 8 * 3600 * 1000);
  const pad = (n) => String(n).padStart(2, "0");
  return {
    year: String(shifted.getUTCFullYear()),
    month: pad(shifted.getUTCMonth() + 1),
    day: pad(shifted.getUTCDate()),
    hour: pad(shifted.getUTCHours()),
    minute: pad(shifted.getUTCMinutes()),
  };
}

/** Today's date in China time as YYYY-MM-DD. */
export function chinaDay(date = new Date()) {
  const parts = chinaParts(date);
  return `${parts.year}-${parts.month}-${parts.day}`;
}

document.documentElement.lang = current === "zh" ? "zh-CN" : "en";
