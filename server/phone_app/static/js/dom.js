// Building screens without innerHTML: text is always set as text, so a farmer's name can never
// become markup.
import { half, t } from "./i18n.js";

/** h("button", {class: "primary", onclick: fn}, "text", child…) → an element. */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (name === "dataset") {
      Object.assign(element.dataset, value);
    } else if (value === true) {
      element.setAttribute(name, "");
    } else if (name === "value") {
      element.value = value;
    } else {
      element.setAttribute(name, String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    if (child instanceof Node) element.append(child);
    else if (typeof child === "object") element.append(t(child));
    else element.append(String(child));
  }
}

/** A labelled field: the label in the chosen language over the input. */
export function field(label, input, hint = null) {
  return h("label", { class: "field" }, h("span", {}, t(label)), input, hint ? h("small", {}, t(hint)) : null);
}

/** Replace an element's children. */
export function fill(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

/** A submit handler that runs once at a time: a double tap on a slow phone saves once. */
export function guarded(handler) {
  let busy = false;
  return async (event) => {
    event.preventDefault();
    if (busy) return;
    busy = true;
    const buttons = event.currentTarget ? event.currentTarget.querySelectorAll("button[type=submit]") : [];
    buttons.forEach((button) => (button.disabled = true));
    try {
      await handler(event);
    } finally {
      busy = false;
      buttons.forEach((button) => (button.disabled = false));
    }
  };
}

/** What the server said of a refused change: its reason and each field's, in the chosen
 * language (the server writes "中文 / English"). */
export function refusalNote(entry) {
  return h(
    "div",
    { class: "refusal" },
    h("div", { class: "error reason" }, half(entry.reason || "")),
    Object.entries(entry.errors || {}).map(([name, why]) =>
      h("div", { class: "muted", "data-field": name }, `${name}: ${half(Array.isArray(why) ? why.join("; ") : String(why))}`),
    ),
  );
}
