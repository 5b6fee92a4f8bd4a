// The roster held in memory for search: every farmer on the phone with the words they are found
// by (name, village, last four digits of the mobile), so each keystroke scans plain strings
// instead of reading IndexedDB (over 5,000 farmers stay well under 100 ms a keystroke).
import { places } from "./places.js";
import { listAliases, listRecords } from "./store.js";

const SHOWN = 30;

/** An index over the phone's live farmers; a record merged into another (the server's
 * aliases) is left out, the one it was merged into stays. */
export async function buildRoster() {
  const [farmers, { byCode }, aliases] = await Promise.all([listRecords("farmer"), places(), listAliases()]);
  const entries = farmers.filter((farmer) => !aliases.has(farmer.id)).map((farmer) => {
    const village = byCode.get(farmer.village_code);
    const township = village ? byCode.get(village.parent_code) : null;
    const villageName = village ? village.name : "";
    const last4 = (farmer.mobile || "").slice(-4);
    return {
      farmer,
      villageName,
      townshipName: township ? township.name : "",
      last4,
      words: `${farmer.name}\u0001${villageName}\u0001${township ? township.name : ""}`.toLowerCase(),
    };
  });
  entries.sort((a, b) => a.farmer.name.localeCompare(b.farmer.name, "zh-CN"));
  return { entries, byId: new Map(entries.map((entry) => [entry.farmer.id, entry])) };
}

/** Add (or replace) one farmer in the index, after a new farmer is saved. */
export async function addToRoster(roster, farmer) {
  const { byCode } = await places();
  const village = byCode.get(farmer.village_code);
  const entry = {
    farmer,
    villageName: village ? village.name : "",
    townshipName: "",
    last4: (farmer.mobile || "").slice(-4),
    words: `${farmer.name}\u0001${village ? village.name : ""}`.toLowerCase(),
  };
  roster.entries = roster.entries.filter((other) => other.farmer.id !== farmer.id);
  roster.entries.unshift(entry);
  roster.byId.set(farmer.id, entry);
}

/** Farmers matching what was typed: four digits match the mobile's last four, anything else
 * the name, village or township; every space-separated word must match. {shown, total}. */
export function searchRoster(roster, typed) {
  const words = typed.normalize("NFKC").trim().toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return { shown: roster.entries.slice(0, SHOWN), total: roster.entries.length };
  const shown = [];
  let total = 0;
  for (const entry of roster.entries) {
    let all = true;
    for (const word of words) {
      const digits = /^\d{4}$/.test(word);
      if (!(digits ? entry.last4 === word : entry.words.includes(word))) {
        all = false;
        break;
      }
    }
    if (!all) continue;
    total += 1;
    if (shown.length < SHOWN) shown.push(entry);
  }
  return { shown, total };
}
