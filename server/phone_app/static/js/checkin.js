// Check-in by roster: search the phone's farmers by name, village or the last four digits of
// the mobile, tap to check one in (the same farmer twice counts once).
import { navigate, registerScreen, toast } from "./app.js";
import { fill, h } from "./dom.js";
import { t } from "./i18n.js";
import { buildRoster, searchRoster } from "./roster.js";
import { checkIn, checkinsOf, getRecord } from "./store.js";
import { maskMobile } from "./farmers.js";

async function renderCheckin(root, params) {
  const session = await getRecord("session", params.session);
  if (!session || session.deleted) {
    fill(root, h("p", { class: "error" }, t({ zh: "没有这场培训", en: "no such session" })));
    return;
  }
  const roster = await buildRoster();
  const checked = new Set((await checkinsOf(session.id)).map((checkin) => checkin.farmer_id));
  const counter = h("strong", { class: "count", "data-figure": "verified" }, String(checked.size));
  const search = h("input", {
    type: "search",
    name: "q",
    autocomplete: "off",
    placeholder: t({ zh: "姓名、村名或手机尾号4位", en: "name, village or last 4 digits of the mobile" }),
  });
  const results = h("ul", { class: "list roster" });
  const more = h("p", { class: "muted" });

  const show = () => {
    const { shown, total } = searchRoster(roster, search.value);
    fill(results, shown.map((entry) => rosterItem(entry, session, checked, counter)));
    more.textContent =
      total > shown.length
        ? t({ zh: `共 ${total} 人，请输入更多字缩小范围`, en: `${total} found: type more to narrow` })
        : total === 0
          ? t({ zh: "没有找到，可登记新农户", en: "nobody found: register a new farmer" })
          : "";
  };
  search.addEventListener("input", show);
  fill(
    root,
    h("div", { class: "card" }, h("h3", {}, session.title), h("span", {}, t({ zh: "已签到 ", en: "Checked in " })), counter),
    search,
    more,
    results,
    h(
      "div",
      { class: "actions" },
      h("button", { type: "button", "data-action": "new-farmer", onclick: () => navigate("farmer-new", { session: session.id }) }, t({ zh: "＋ 新农户", en: "+ New farmer" })),
      h("button", { type: "button", onclick: () => navigate("session", { id: session.id }) }, t({ zh: "返回场次", en: "Back to the session" })),
    ),
  );
  show();
  search.focus();
}

function rosterItem(entry, session, checked, counter) {
  const farmer = entry.farmer;
  const done = checked.has(farmer.id);
  const button = h(
    "button",
    {
      type: "button",
      class: done ? "" : "primary",
      disabled: done,
      "data-action": "checkin",
      onclick: async () => {
        button.disabled = true;
        try {
          const { isNew } = await checkIn(session.id, farmer.id, "roster");
          checked.add(farmer.id);
          counter.textContent = String(checked.size);
          button.textContent = t({ zh: "已签到", en: "checked in" });
          button.classList.remove("primary");
          toast(isNew ? { zh: `${farmer.name} 签到成功`, en: `${farmer.name} checked in` } : { zh: `${farmer.name} 已签到`, en: `${farmer.name} was already checked in` });
        } catch (error) {
          button.disabled = false;
          toast(error.text || { zh: "签到失败", en: "check-in failed" }, { error: true });
        }
      },
    },
    done ? t({ zh: "已签到", en: "checked in" }) : t({ zh: "签到", en: "Check in" }),
  );
  const where = [entry.townshipName, entry.villageName].filter(Boolean).join("/");
  return h(
    "li",
    { "data-farmer": farmer.id },
    h("div", { class: "grow" }, h("strong", {}, farmer.name), h("div", { class: "muted" }, `${where}${farmer.mobile ? ` · ${maskMobile(farmer.mobile)}` : ""}`)),
    button,
  );
}

registerScreen("checkin", { title: { zh: "名单签到", en: "Roster check-in" }, render: renderCheckin });
