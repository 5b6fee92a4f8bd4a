// Villages, townships, technologies and envoys by name, from the reference rows the phone pulled.
import { h } from "./dom.js";
import { t } from "./i18n.js";
import { getMeta, listReference } from "./store.js";

let cached = null;

/** The units by code, and the villages as people pick them (township/village), once per page. */
export async function places() {
  if (!cached) {
    cached = (async () => {
      const units = await listReference("unit");
      const byCode = new Map(units.map((unit) => [unit.code, unit]));
      const villages = units
        .filter((unit) => unit.level === "village")
        .map((unit) => ({ code: unit.code, name: unit.name, township: byCode.get(unit.parent_code)?.name || "" }))
        .sort((a, b) => (a.township + a.name).localeCompare(b.township + b.name, "zh-CN"));
      return { byCode, villages };
    })();
  }
  return cached;
}

/** Forget what was read (after a sync brought new reference rows). */
export function forgetPlaces() {
  cached = null;
}

/** A unit's name as people know it: 城关镇/东村 for a village. */
export async function unitName(code) {
  const { byCode } = await places();
  const unit = byCode.get(code);
  if (!unit) return code || "";
  const parent = byCode.get(unit.parent_code);
  return unit.level === "village" && parent ? `${parent.name}/${unit.name}` : unit.name;
}

/** A <select> of villages grouped by township, the envoy's own townships first; with
 * `townships`, each township itself heads its group (a large training is held for a town). */
export async function villageSelect(name, selected = "", { required = true, blank = true, townships = false } = {}) {
  const { villages } = await places();
  const envoy = (await getMeta("envoy")) || {};
  const own = new Set((envoy.township_codes || []).map((code) => String(code).padEnd(12, "0")));
  const groups = new Map();
  for (const village of villages) {
    const key = village.township || "—";
    if (!groups.has(key)) groups.set(key, { own: false, items: [] });
    const group = groups.get(key);
    group.items.push(village);
    if (own.has(village.code.slice(0, 9).padEnd(12, "0"))) group.own = true;
  }
  const ordered = [...groups.entries()].sort((a, b) => Number(b[1].own) - Number(a[1].own));
  return h(
    "select",
    { name, required },
    blank ? h("option", { value: "" }, t({ zh: "请选择村", en: "choose a village" })) : null,
    ordered.map(([township, group]) =>
      h(
        "optgroup",
        { label: township },
        townships && group.items.length
          ? h(
              "option",
              { value: group.items[0].code.slice(0, 9).padEnd(12, "0"), selected: group.items[0].code.slice(0, 9).padEnd(12, "0") === selected },
              t({ zh: `${township}（全镇）`, en: `${township} (whole township)` }),
            )
          : null,
        group.items.map((village) => h("option", { value: village.code, selected: village.code === selected }, village.name)),
      ),
    ),
  );
}

/** Reference rows of a kind by id (technologies, varieties, envoys, leaflet titles). */
export async function byId(kind) {
  return new Map((await listReference(kind)).map((row) => [row.id, row]));
}
