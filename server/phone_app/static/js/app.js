// The app's shell: screens, the menu, the language switch, toasts, and the service worker.
import { h, fill } from "./dom.js";
import { lang, setLang, t } from "./i18n.js";
import { getMeta, pendingCount } from "./store.js";

const screens = new Map();
const syncedHooks = [];
let currentName = null;
let currentParams = {};

/** A screen: registerScreen(name, {title: {zh, en}, render(root, params), menu: true|false}). */
export function registerScreen(name, screen) {
  screens.set(name, { menu: false, order: 100, ...screen });
  if (started && currentName === null) route();
}

/** Open a screen; params travel in the address after "#", so reloading keeps the place. */
export function navigate(name, params = {}) {
  const query = new URLSearchParams(params).toString();
  const hash = `#${name}${query ? `?${query}` : ""}`;
  if (location.hash === hash) show(name, params);
  else location.hash = hash;
}

/** Show the current screen again (after its data changed). */
export function refresh() {
  if (currentName) show(currentName, currentParams);
}

/** A short message at the bottom of the screen (a {zh, en} text or plain text). */
export function toast(text, { error = false } = {}) {
  const box = document.getElementById("toast");
  box.textContent = t(text);
  box.classList.toggle("error", error);
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (box.hidden = true), error ? 6000 : 3000);
}

/** Called with the sync's report after each sync. */
export function onSynced(callback) {
  syncedHooks.push(callback);
}

export function notifySynced(report) {
  for (const hook of syncedHooks) {
    try {
      hook(report);
    } catch (error) {
      console.error(error);
    }
  }
}

function parseHash() {
  const raw = location.hash.replace(/^#/, "");
  const [name, query] = raw.split("?");
  return { name: decodeURIComponent(name || ""), params: Object.fromEntries(new URLSearchParams(query || "")) };
}

let started = false;

async function route() {
  const { name, params } = parseHash();
  const enrolled = Boolean(await getMeta("device_id"));
  if (!enrolled && screens.has("enrol")) return show("enrol", params);
  if (screens.has(name)) return show(name, params);
  if (screens.has("sessions")) return show("sessions", {});
}

async function show(name, params) {
  const screen = screens.get(name);
  if (!screen) return;
  currentName = name;
  currentParams = params;
  document.getElementById("title").textContent = t(screen.title);
  document.getElementById("menu").hidden = true;
  const root = document.getElementById("screen");
  const fresh = h("div", { class: "screen", "data-screen": name });
  root.replaceChildren(fresh);
  try {
    await screen.render(fresh, params);
  } catch (error) {
    console.error(error);
    fill(fresh, h("p", { class: "error" }, error.text ? t(error.text) : String(error.message || error)));
  }
}

function buildMenu() {
  const menu = document.getElementById("menu");
  const items = [...screens.entries()]
    .filter(([, screen]) => screen.menu)
    .sort((a, b) => a[1].order - b[1].order)
    .map(([name, screen]) =>
      h("button", { type: "button", class: "menu-item", "data-go": name, onclick: () => navigate(name) }, t(screen.title)),
    );
  const other = lang() === "zh" ? "en" : "zh";
  items.push(
    h(
      "button",
      {
        type: "button",
        class: "menu-item lang",
        "data-lang": other,
        onclick: () => {
          setLang(other);
          showNetwork();
          buildMenu();
          refresh();
        },
      },
      other === "en" ? "English" : "中文",
    ),
  );
  fill(menu, items);
}

let waiting = 0;

async function countWaiting() {
  try {
    waiting = await pendingCount();
  } catch {
    waiting = 0;
  }
  showNetwork();
}

function showNetwork() {
  const net = document.getElementById("net");
  const state = navigator.onLine ? t({ zh: "在线", en: "online" }) : t({ zh: "离线", en: "offline" });
  net.textContent = waiting ? `${state} · ${t({ zh: `待发 ${waiting}`, en: `${waiting} to send` })}` : state;
  net.classList.toggle("offline", !navigator.onLine);
  net.dataset.waiting = String(waiting);
}

async function registerWorker() {
  if (!("serviceWorker" in navigator)) return;
  let controlled = Boolean(navigator.serviceWorker.controller);
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    if (!controlled) {
      // The first install took over this page: from now on it opens with no network.
      controlled = true;
      toast({ zh: "应用已安装，没有网络也能打开", en: "the app is installed: it opens with no network" });
      return;
    }
    // A new version took over: say so, without throwing away what is on the screen.
    toast({ zh: "应用已更新，下次打开即为新版本", en: "the app was updated: the next start opens the new version" });
  });
  try {
    await navigator.serviceWorker.register("sw.js", { scope: "./", type: "classic" });
  } catch (error) {
    console.warn("service worker not registered", error);
  }
}

function start() {
  started = true;
  document.getElementById("menu-button").addEventListener("click", () => {
    buildMenu();
    const menu = document.getElementById("menu");
    menu.hidden = !menu.hidden;
  });
  window.addEventListener("hashchange", route);
  window.addEventListener("online", showNetwork);
  window.addEventListener("offline", showNetwork);
  window.addEventListener("tianjian:outbox", countWaiting);
  onSynced(countWaiting);
  countWaiting();
  document.getElementById("net").addEventListener("click", () => navigate("outbox"));
  registerWorker();
  route();
}

// Module scripts run after parsing (readyState already "interactive") and before
// DOMContentLoaded: starting at once would choose the first screen before the screen modules
// after this one had registered (the enrol screen without the camera, #cards as sessions).
// The load event covers a start after DOMContentLoaded.
const startOnce = () => started || start();
if (document.readyState === "complete") startOnce();
else {
  document.addEventListener("DOMContentLoaded", startOnce, { once: true });
  window.addEventListener("load", startOnce, { once: true });
}
