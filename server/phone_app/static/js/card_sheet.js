// Farmers' check-in cards from the phone: choose farmers, print their cards (QR of the card code
// only, nothing personal in it), as the laptop's card sheet does (posters/card_sheet.html).
// Cards never sync: a card printed here is read by this phone's card check-in.
import { qrcode } from "../vendor/qrcode-generator/qrcode.mjs";
import { registerScreen } from "./app.js";
import { issueCard } from "./cards.js";
import { fill, h } from "./dom.js";
import { t } from "./i18n.js";
import { buildRoster, searchRoster } from "./roster.js";

/** The card's QR as an image (a data: address, which the app's CSP allows for images). */
export function cardQr(code) {
  const qr = qrcode(0, "M");
  qr.addData(code);
  qr.make();
  return h("img", { class: "card-qr", src: qr.createDataURL(6, 4), alt: code });
}

function cardFace(code, entry) {
  const where = [entry.townshipName, entry.villageName].filter(Boolean).join(" ");
  return h(
    "div",
    { class: "farmer-card", "data-card": code },
    cardQr(code),
    h(
      "div",
      {},
      h("strong", {}, entry.farmer.name),
      h("br"),
      where,
      h("br"),
      h("code", {}, code),
      h("br"),
      h("span", { class: "muted" }, t({ zh: "田间签到卡", en: "Tianjian check-in card" })),
    ),
  );
}

async function renderSheet(root) {
  const roster = await buildRoster();
  const chosen = new Map();
  const search = h("input", {
    type: "search",
    name: "q",
    autocomplete: "off",
    placeholder: t({ zh: "姓名、村名或手机尾号4位", en: "name, village or last 4 digits of the mobile" }),
  });
  const results = h("ul", { class: "list roster no-print" });
  const sheet = h("div", { class: "card-sheet" });
  const count = h("strong", { "data-figure": "cards" }, "0");
  const showSheet = () => {
    count.textContent = String(chosen.size);
    fill(sheet, [...chosen.values()]);
  };
  const add = async (entry) => {
    if (chosen.has(entry.farmer.id)) return;
    // An issued card is kept: a reprint matches the card the farmer already carries.
    const code = await issueCard(entry.farmer.id);
    chosen.set(entry.farmer.id, cardFace(code, entry));
    showSheet();
  };
  const show = () => {
    const { shown } = searchRoster(roster, search.value);
    fill(
      results,
      shown.map((entry) =>
        h(
          "li",
          { "data-farmer": entry.farmer.id },
          h("div", { class: "grow" }, h("strong", {}, entry.farmer.name), h("div", { class: "muted" }, entry.villageName)),
          h("button", { type: "button", "data-action": "add-card", onclick: () => add(entry) }, t({ zh: "加入", en: "Add" })),
        ),
      ),
    );
  };
  search.addEventListener("input", show);
  fill(
    root,
    h(
      "div",
      { class: "no-print" },
      h("p", {}, t({ zh: "选择农户，打印签到卡（A4，沿线剪开）。卡上二维码只有卡号；本机扫卡签到可读。", en: "Choose farmers and print their cards (A4, cut along the lines). The QR holds the card code only; this phone's card check-in reads it." })),
      search,
      results,
      h(
        "div",
        { class: "actions" },
        h("span", {}, t({ zh: "已选 ", en: "Chosen " }), count),
        h("button", { type: "button", class: "primary", "data-action": "print", onclick: () => window.print() }, t({ zh: "打印", en: "Print" })),
      ),
    ),
    sheet,
  );
  show();
}

registerScreen("cards", { title: { zh: "签到卡", en: "Check-in cards" }, menu: true, order: 35, render: renderSheet });
