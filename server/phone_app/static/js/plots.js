// Demonstration plots and their observations (field_client/events.py new_plot, edit_plot,
// observe_plot and web/plots.py, mirrored): a plot's edit sends only what differs; an
// observation is an event, only ever created.
import { navigate, registerScreen, toast } from "./app.js";
import { t } from "./i18n.js";
import { listRecords, listReference, saveRecord } from "./store.js";
import {
  chinaToday,
  choiceOptions,
  choiceWords,
  decimalNumber,
  el,
  errorWords,
  field,
  live,
  loadRules,
  myEnvoyId,
  numberText,
  currentPosition,
  say,
  select,
  showErrors,
  unitNames,
  villageOptions,
} from "./more_common.js";

import { PLOT, PLOT_OBSERVATION as OBSERVATION } from "./protocol.js";

const W = {
  title: { zh: "示范田", en: "Plots" },
  newPlot: { zh: "新建示范田", en: "New plot" },
  editPlot: { zh: "修改示范田", en: "Edit plot" },
  allPlots: { zh: "全部示范田", en: "All plots" },
  noPlots: { zh: "还没有示范田。", en: "No plots yet." },
  village: { zh: "村", en: "Village" },
  chooseVillage: { zh: "— 选择村 —", en: "— choose a village —" },
  host: { zh: "承担户", en: "Host farmer" },
  crop: { zh: "作物", en: "Crop" },
  variety: { zh: "品种", en: "Variety" },
  noVariety: { zh: "— 不填 —", en: "— none —" },
  technologies: { zh: "推广技术", en: "Technologies" },
  area: { zh: "面积（亩）", en: "Area (mu)" },
  targetYield: { zh: "目标亩产（公斤/亩）", en: "Target yield (kg/mu)" },
  latitude: { zh: "纬度", en: "Latitude" },
  longitude: { zh: "经度", en: "Longitude" },
  here: { zh: "用手机当前位置", en: "Use this phone's position" },
  locating: { zh: "正在定位…", en: "Finding the position…" },
  established: { zh: "建立日期", en: "Established on" },
  save: { zh: "保存", en: "Save" },
  edit: { zh: "修改", en: "Edit" },
  plotSaved: { zh: "示范田已保存。", en: "Plot saved." },
  nothingChanged: { zh: "没有修改。", en: "Nothing changed." },
  observations: { zh: "观察记录", en: "Observations" },
  noObservations: { zh: "还没有观察记录。", en: "No observations yet." },
  addObservation: { zh: "添加观察记录", en: "Add an observation" },
  stage: { zh: "阶段", en: "Stage" },
  chooseStage: { zh: "— 选择阶段 —", en: "— choose a stage —" },
  observed: { zh: "观察日期", en: "Observed on" },
  survival: { zh: "成活率（百分比）", en: "Survival rate (per cent)" },
  yield: { zh: "亩产（公斤/亩）", en: "Yield (kg/mu)" },
  notes: { zh: "备注", en: "Notes" },
  observationSaved: { zh: "观察记录已保存。", en: "Observation saved." },
  photos: { zh: "照片", en: "Photos" },
  notFound: { zh: "找不到这块示范田。", en: "No such plot." },
  notEnrolled: { zh: "本机尚未登记：请先登记设备。", en: "This phone is not enrolled yet." },
  required: { zh: "必填", en: "required" },
  notNumber: { zh: "应为数字", en: "must be a number" },
  positive: { zh: "应大于0", en: "must be above 0" },
  percent: { zh: "应在0到100之间", en: "must be 0 to 100" },
  latRange: { zh: "应在-90到90之间", en: "must be -90 to 90" },
  lonRange: { zh: "应在-180到180之间", en: "must be -180 to 180" },
  together: { zh: "纬度和经度须同时给出", en: "latitude and longitude come together" },
  tooLong: { zh: "太长", en: "too long" },
};

// ------------------------------------------------------------------ reading forms (pure)

// A number field as typed: null when empty, NaN when not a number.
function optionalNumber(text) {
  const s = numberText(text);
  if (!s) return null;
  const n = decimalNumber(s);
  return n === null ? Number.NaN : n;
}

function inRange(errors, name, value, low, high, words, lowOpen = false) {
  if (value === null) return;
  if (Number.isNaN(value)) errors[name] = W.notNumber;
  else if (value > high || value < low || (lowOpen && value === low)) errors[name] = words;
}

// A plot's values from its form's fields, and what is wrong with them (PlotSchema's rules,
// for the envoy's sake: the server still judges).
export function plotValues(raw) {
  const values = {
    village_code: raw.village_code || "",
    host_name: String(raw.host_name || "").trim(),
    crop: String(raw.crop || "").trim(),
    variety_id: raw.variety_id || null,
    technology_ids: raw.technology_ids || [],
    area_mu: optionalNumber(raw.area_mu),
    latitude: optionalNumber(raw.latitude),
    longitude: optionalNumber(raw.longitude),
    target_yield_kg_per_mu: optionalNumber(raw.target_yield_kg_per_mu),
    established_on: raw.established_on || "",
  };
  const errors = {};
  for (const name of ["village_code", "host_name", "crop", "established_on"]) {
    if (!values[name]) errors[name] = W.required;
  }
  if (values.host_name.length > 60) errors.host_name = W.tooLong;
  if (values.crop.length > 40) errors.crop = W.tooLong;
  if (values.area_mu === null) errors.area_mu = W.required;
  inRange(errors, "area_mu", values.area_mu, 0, 1_000_000, W.positive, true);
  inRange(errors, "latitude", values.latitude, -90, 90, W.latRange);
  inRange(errors, "longitude", values.longitude, -180, 180, W.lonRange);
  inRange(errors, "target_yield_kg_per_mu", values.target_yield_kg_per_mu, 0, 100_000, W.notNumber);
  if (!errors.latitude && !errors.longitude && (values.latitude === null) !== (values.longitude === null)) {
    errors.longitude = W.together;
  }
  return { values, errors };
}

// What an edit sends: only the fields whose value differs from the stored plot
// (field_client/events.py edit_plot), so a form sent back unchanged sends nothing.
export function changedFields(stored, values) {
  const changed = {};
  for (const [name, value] of Object.entries(values)) {
    if (JSON.stringify(stored[name] ?? null) !== JSON.stringify(value ?? null)) changed[name] = value;
  }
  return changed;
}

export function observationValues(raw) {
  const values = {
    stage: raw.stage || "",
    observed_on: raw.observed_on || "",
    survival_rate: optionalNumber(raw.survival_rate),
    yield_kg_per_mu: optionalNumber(raw.yield_kg_per_mu),
    notes: String(raw.notes || "").trim() || null,
  };
  const errors = {};
  if (!values.stage) errors.stage = W.required;
  if (!values.observed_on) errors.observed_on = W.required;
  inRange(errors, "survival_rate", values.survival_rate, 0, 100, W.percent);
  inRange(errors, "yield_kg_per_mu", values.yield_kg_per_mu, 0, 100_000, W.notNumber);
  if (values.notes && values.notes.length > 2000) errors.notes = W.tooLong;
  return { values, errors };
}

// ------------------------------------------------------------------ the screen

async function gather() {
  const [envoyId, plots, observations, units, varieties, technologies, rules] = await Promise.all([
    myEnvoyId(),
    listRecords(PLOT),
    listRecords(OBSERVATION),
    listReference("unit"),
    listReference("variety"),
    listReference("technology"),
    loadRules(),
  ]);
  const mine = live(plots).filter((r) => r.envoy_id == null || r.envoy_id === envoyId);
  return { envoyId, plots: mine, observations: live(observations), units, varieties, technologies, rules };
}

async function render(root, params = {}) {
  root.replaceChildren();
  root.classList.add("more-screen");
  const data = await gather();
  if (!data.envoyId) {
    root.append(el("p", { className: "more-message more-warn" }, t(W.notEnrolled)));
    return;
  }
  if (params.plot_id && params.edit) {
    const plot = data.plots.find((p) => p.id === params.plot_id);
    root.append(plot ? plotForm(data, plot) : el("p", {}, t(W.notFound)));
  } else if (params.plot_id) {
    const plot = data.plots.find((p) => p.id === params.plot_id);
    root.append(plot ? plotPage(root, data, plot) : el("p", {}, t(W.notFound)));
  } else if (params.new) {
    root.append(plotForm(data, null));
  } else {
    root.append(plotList(data));
  }
}

function plotList(data) {
  const names = unitNames(data.units);
  const varieties = Object.fromEntries(data.varieties.map((v) => [v.id, v.name || v.id]));
  const counts = {};
  for (const o of data.observations) counts[o.plot_id] = (counts[o.plot_id] || 0) + 1;
  const list = el("ul", { className: "list", id: "plot-list" });
  const sorted = [...data.plots].sort((a, b) =>
    String(b.established_on || "").localeCompare(String(a.established_on || "")),
  );
  for (const p of sorted) {
    list.append(
      el(
        "li",
        { "data-id": p.id },
        el(
          "a",
          { href: "#", onclick: (e) => (e.preventDefault(), navigate("plots", { plot_id: p.id })) },
          [names[p.village_code] || p.village_code, p.host_name, p.crop, varieties[p.variety_id] || ""]
            .filter(Boolean)
            .join(" · "),
        ),
        el(
          "small",
          {},
          ` ${t({ zh: `${p.area_mu} 亩`, en: `${p.area_mu} mu` })} · ${p.established_on} · ${t({
            zh: `${counts[p.id] || 0} 次观察`,
            en: `${counts[p.id] || 0} observations`,
          })}`,
        ),
      ),
    );
  }
  return el(
    "section",
    { className: "card" },
    el("button", { type: "button", id: "plot-new", onclick: () => navigate("plots", { new: true }) }, t(W.newPlot)),
    sorted.length ? list : el("p", {}, t(W.noPlots)),
  );
}

function plotForm(data, stored) {
  const message = el("p", { hidden: true });
  const input = (name, attrs = {}) =>
    el("input", { id: `plot-${name}`, name, value: stored?.[name] ?? "", ...attrs });
  const village = select({ id: "plot-village_code", name: "village_code" }, villageOptions(data.units), W.chooseVillage);
  village.value = stored?.village_code || "";
  const variety = select(
    { id: "plot-variety_id", name: "variety_id" },
    data.varieties
      .map((v) => ({ value: v.id, label: v.crop ? `${v.name}（${v.crop}）` : v.name }))
      .sort((a, b) => a.label.localeCompare(b.label, "zh")),
    W.noVariety,
  );
  variety.value = stored?.variety_id || "";
  const chosen = new Set(stored?.technology_ids || []);
  const technologies = el(
    "fieldset",
    { className: "more-checks", id: "plot-technologies" },
    el("legend", {}, t(W.technologies)),
    [...data.technologies]
      .sort((a, b) => String(a.name).localeCompare(String(b.name), "zh"))
      .map((x) =>
        el(
          "label",
          {},
          el("input", { type: "checkbox", name: "technology_ids", value: x.id, checked: chosen.has(x.id) }),
          ` ${x.name}`,
        ),
      ),
  );
  const lat = input("latitude", { inputmode: "decimal" });
  const lon = input("longitude", { inputmode: "decimal" });
  const locate = el("button", { type: "button", className: "more-secondary", id: "plot-here" }, t(W.here));
  locate.addEventListener("click", async () => {
    locate.textContent = t(W.locating);
    const found = await currentPosition();
    locate.textContent = t(W.here);
    if (found.problem) {
      say(message, found.problem, "warn");
      return;
    }
    lat.value = found.latitude.toFixed(6);
    lon.value = found.longitude.toFixed(6);
  });
  const form = el(
    "form",
    { id: "plot-form", novalidate: true },
    message,
    field(W.village, village, "village_code"),
    field(W.host, input("host_name", { maxlength: 60 }), "host_name"),
    field(W.crop, input("crop", { maxlength: 40 }), "crop"),
    field(W.variety, variety, "variety_id"),
    technologies,
    field(W.area, input("area_mu", { inputmode: "decimal" }), "area_mu"),
    field(W.targetYield, input("target_yield_kg_per_mu", { inputmode: "decimal" }), "target_yield_kg_per_mu"),
    field(W.latitude, lat, "latitude"),
    field(W.longitude, lon, "longitude"),
    locate,
    field(W.established, input("established_on", { type: "date", value: stored?.established_on || chinaToday() }), "established_on"),
    el("button", { type: "submit", className: "primary", id: "plot-save" }, t(W.save)),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const raw = Object.fromEntries(new FormData(form));
    raw.technology_ids = [...form.querySelectorAll("input[name=technology_ids]:checked")].map((c) => c.value);
    const { values, errors } = plotValues(raw);
    if (showErrors(form, errors)) return;
    let id = stored?.id;
    try {
      if (stored) {
        const changed = changedFields(stored, values);
        if (!Object.keys(changed).length) {
          toast(t(W.nothingChanged));
          navigate("plots", { plot_id: stored.id });
          return;
        }
        await saveRecord(PLOT, { id: stored.id, ...changed });
      } else {
        id = (await saveRecord(PLOT, { ...values, altitude_m: null })).id;
      }
    } catch (error) {
      say(message, errorWords(error), "refused");
      return;
    }
    toast(t(W.plotSaved));
    navigate("plots", { plot_id: id });
  });
  return el("section", { className: "card" }, el("h1", {}, t(stored ? W.editPlot : W.newPlot)), form);
}

function plotPage(root, data, plot) {
  const names = unitNames(data.units);
  const varieties = Object.fromEntries(data.varieties.map((v) => [v.id, v.name || v.id]));
  const techs = Object.fromEntries(data.technologies.map((x) => [x.id, x.name || x.id]));
  const details = el(
    "dl",
    { className: "more-details" },
    el("dt", {}, t(W.village)),
    el("dd", {}, names[plot.village_code] || plot.village_code),
    el("dt", {}, t(W.host)),
    el("dd", {}, plot.host_name),
    el("dt", {}, t(W.crop)),
    el("dd", {}, [plot.crop, varieties[plot.variety_id] || ""].filter(Boolean).join(" · ")),
    el("dt", {}, t(W.area)),
    el("dd", {}, plot.area_mu),
    el("dt", {}, t(W.established)),
    el("dd", {}, plot.established_on),
    el("dt", {}, t(W.technologies)),
    el("dd", {}, (plot.technology_ids || []).map((x) => techs[x] || x).join("、")),
  );
  const observations = data.observations
    .filter((o) => o.plot_id === plot.id)
    .sort((a, b) => String(b.observed_on || "").localeCompare(String(a.observed_on || "")));
  const list = el("ul", { className: "list", id: "observation-list" });
  for (const o of observations) {
    const words = choiceWords(data.rules, "plot_stage", o.stage);
    const bits = [o.observed_on, t(words)];
    if (o.survival_rate != null) bits.push(t({ zh: `成活率 ${o.survival_rate}%`, en: `survival ${o.survival_rate}%` }));
    if (o.yield_kg_per_mu != null) bits.push(t({ zh: `亩产 ${o.yield_kg_per_mu} 公斤`, en: `${o.yield_kg_per_mu} kg/mu` }));
    if (o.notes) bits.push(o.notes);
    list.append(
      el(
        "li",
        { "data-id": o.id },
        el("span", {}, bits.join(" · ")),
        el(
          "button",
          {
            type: "button",
            className: "more-secondary more-photo-link",
            onclick: () => navigate("photos", { subject_kind: "observation", subject_id: o.id }),
          },
          t(W.photos),
        ),
      ),
    );
  }
  return el(
    "section",
    { className: "card", id: "plot-page" },
    el("p", {}, el("a", { href: "#", onclick: (e) => (e.preventDefault(), navigate("plots", {})) }, t(W.allPlots))),
    el("h1", {}, `${plot.host_name} · ${plot.crop}`),
    details,
    el("button", { type: "button", id: "plot-edit", className: "more-secondary", onclick: () => navigate("plots", { plot_id: plot.id, edit: true }) }, t(W.edit)),
    el("h2", {}, t(W.observations)),
    observations.length ? list : el("p", {}, t(W.noObservations)),
    observationForm(root, data, plot),
  );
}

function observationForm(root, data, plot) {
  const message = el("p", { hidden: true });
  const stages = choiceOptions("plot_stage");
  const form = el(
    "form",
    { id: "observation-form", novalidate: true },
    message,
    field(W.stage, select({ id: "obs-stage", name: "stage" }, stages, W.chooseStage), "stage"),
    field(W.observed, el("input", { id: "obs-observed_on", name: "observed_on", type: "date", value: chinaToday() }), "observed_on"),
    field(W.survival, el("input", { id: "obs-survival_rate", name: "survival_rate", inputmode: "decimal" }), "survival_rate"),
    field(W.yield, el("input", { id: "obs-yield_kg_per_mu", name: "yield_kg_per_mu", inputmode: "decimal" }), "yield_kg_per_mu"),
    field(W.notes, el("textarea", { id: "obs-notes", name: "notes", maxlength: 2000, rows: 2 }), "notes"),
    el("button", { type: "submit", className: "primary", id: "obs-save" }, t(W.save)),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const { values, errors } = observationValues(Object.fromEntries(new FormData(form)));
    if (showErrors(form, errors)) return;
    try {
      await saveRecord(OBSERVATION, { plot_id: plot.id, ...values });
    } catch (error) {
      say(message, errorWords(error), "refused");
      return;
    }
    toast(t(W.observationSaved));
    await render(root, { plot_id: plot.id });
  });
  return el("section", { className: "card" }, el("h2", {}, t(W.addObservation)), form);
}

registerScreen("plots", { title: W.title, render, menu: true, order: 50 });
