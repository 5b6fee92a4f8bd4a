// Farmers: register a new one (and check them in at once when opened from a session), and the
// phone's farmers searchable with mobiles masked (138****5678), never shown in full.
import { navigate, registerScreen, toast } from "./app.js";
import { GENDERS } from "./choices.js";
import { field, fill, guarded, h, refusalNote } from "./dom.js";
import { t } from "./i18n.js";
import { villageSelect } from "./places.js";
import { buildRoster, searchRoster } from "./roster.js";
import { checkIn, discardRefused, getRecord, refusedEntry, saveRecord } from "./store.js";

/** 138****1234: enough to recognise a number, not to call it (shared/mobile.py). */
export function maskMobile(mobile) {
  if (!mobile) return "";
  return mobile.length === 11 ? `${mobile.slice(0, 3)}****${mobile.slice(-4)}` : mobile;
}

/** The 11-digit mainland number from what was typed, or null when it is not one
 * (spaces, dashes, +86 and full-width digits read as shared/mobile.py reads them). */
export function normaliseMobile(text) {
  let cleaned = String(text).normalize("NFKC").replace(/[\s\-–—()（）.·]/g, "");
  if (cleaned.startsWith("+86")) cleaned = cleaned.slice(3);
  else if (cleaned.startsWith("0086")) cleaned = cleaned.slice(4);
  else if (cleaned.startsWith("86") && cleaned.length === 13) cleaned = cleaned.slice(2);
  return /^1[3-9]\d{9}$/.test(cleaned) ? cleaned : null;
}

async function renderNew(root, params) {
  const session = params.session ? await getRecord("session", params.session) : null;
  // A refused new farmer typed again: the form starts from what the server refused.
  const refused = params.refused ? await refusedEntry(Number(params.refused)) : null;
  const was = refused && refused.kind === "farmer" ? refused.fields : {};
  const name = h("input", { name: "name", maxlength: 40, required: true, autocomplete: "off", value: was.name || "" });
  const village = await villageSelect("village_code", was.village_code || session?.unit_code || "");
  const mobile = h("input", { name: "mobile", type: "tel", inputmode: "tel", maxlength: 20, autocomplete: "off", value: was.mobile || "" });
  const gender = h(
    "select",
    { name: "gender" },
    Object.entries(GENDERS).map(([code, words]) => h("option", { value: code, selected: code === (was.gender || "unspecified") }, t(words))),
  );
  const year = h("input", { name: "birth_year", type: "number", inputmode: "numeric", min: 1900, max: 2100, value: was.birth_year ?? "" });
  const status = h("p", { class: "status", role: "alert" });
  const form = h(
    "form",
    { onsubmit: guarded((event) => save(event, form, session, status, refused)) },
    h("p", { class: "muted" }, t({ zh: "手机号属于个人信息，只用于核对身份，列表中只显示尾号。", en: "Mobile numbers are personal information: used to tell farmers apart, listed masked." })),
    refused ? refusalNote(refused) : null,
    field({ zh: "姓名", en: "Name" }, name),
    field({ zh: "村", en: "Village" }, village),
    field({ zh: "手机号（可不填）", en: "Mobile (optional)" }, mobile),
    field({ zh: "性别", en: "Gender" }, gender),
    field({ zh: "出生年份（可不填）", en: "Year of birth (optional)" }, year),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "submit", class: "primary", "data-action": "save-farmer" }, session ? t({ zh: "保存并签到", en: "Save and check in" }) : t({ zh: "保存", en: "Save" })),
      h("button", { type: "button", onclick: () => history.back() }, t({ zh: "取消", en: "Cancel" })),
    ),
    status,
  );
  fill(root, form);
  name.focus();
}

async function save(event, form, session, status, refused = null) {
  const data = new FormData(form);
  const typedMobile = String(data.get("mobile") || "").trim();
  const typedYear = String(data.get("birth_year") || "").normalize("NFKC").trim();
  const values = {
    name: String(data.get("name") || "").trim(),
    village_code: data.get("village_code"),
    mobile: typedMobile ? normaliseMobile(typedMobile) : null,
    gender: data.get("gender") || "unspecified",
    birth_year: typedYear ? Number(typedYear) : null,
  };
  const problem = !values.name
    ? { zh: "姓名：请填写", en: "name: required" }
    : !values.village_code
      ? { zh: "村：请选择", en: "village: choose one" }
      : typedMobile && !values.mobile
        ? { zh: "手机号：不是有效的大陆手机号（11位，以1开头）", en: "mobile: not a mainland mobile number (11 digits starting 13-19)" }
        : values.birth_year !== null && !(Number.isInteger(values.birth_year) && values.birth_year >= 1900 && values.birth_year <= 2100)
          ? { zh: "出生年份：应在1900到2100之间", en: "year of birth: between 1900 and 2100" }
          : null;
  if (problem) {
    fill(status, h("span", { class: "error" }, t(problem)));
    return;
  }
  try {
    const farmer = await saveRecord("farmer", values);
    if (refused) await discardRefused(refused.seq);
    if (session) {
      await checkIn(session.id, farmer.id, "roster");
      toast({ zh: `${farmer.name} 已登记并签到`, en: `${farmer.name} registered and checked in` });
      navigate("checkin", { session: session.id });
    } else {
      toast({ zh: `${farmer.name} 已登记`, en: `${farmer.name} registered` });
      navigate("farmers");
    }
  } catch (error) {
    fill(status, h("span", { class: "error" }, error.text ? t(error.text) : String(error.message || error)));
  }
}

registerScreen("farmer-new", { title: { zh: "登记农户", en: "New farmer" }, render: renderNew });

async function renderList(root) {
  const roster = await buildRoster();
  const search = h("input", { type: "search", name: "q", autocomplete: "off", placeholder: t({ zh: "姓名、村名或手机尾号4位", en: "name, village or last 4 digits" }) });
  const results = h("ul", { class: "list farmers" });
  const show = () => {
    const { shown, total } = searchRoster(roster, search.value);
    fill(
      results,
      shown.map((entry) =>
        h(
          "li",
          { "data-farmer": entry.farmer.id },
          h("div", { class: "grow" }, h("strong", {}, entry.farmer.name), h("div", { class: "muted" }, `${entry.villageName}${entry.farmer.mobile ? ` · ${maskMobile(entry.farmer.mobile)}` : ""}`)),
        ),
      ),
      total > shown.length ? h("li", { class: "muted" }, t({ zh: `共 ${total} 人`, en: `${total} in all` })) : null,
    );
  };
  search.addEventListener("input", show);
  fill(root, h("div", { class: "actions" }, h("button", { type: "button", class: "primary", onclick: () => navigate("farmer-new") }, t({ zh: "＋ 登记农户", en: "+ New farmer" }))), search, results);
  show();
}

registerScreen("farmers", { title: { zh: "农户", en: "Farmers" }, menu: true, order: 30, render: renderList });
