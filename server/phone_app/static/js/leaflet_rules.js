// The leaflet rules the screen checks by, apart from the screen: the envoy's stock per title
// (field_client/events.py leaflet_stock), when a hand-out is beyond it (pickers.over_stock),
// and what a correction may do (shared/corrections.py), mirrored for the envoy's sake; the
// server judges every event again.
import { live } from "./more_common.js";

// The schema's bounds (shared/schemas/field.py LeafletReceiptSchema / LeafletHandoutSchema).
const MOST_COPIES = 1_000_000;

const W = {
  needWhole: { zh: "应为整数", en: "must be a whole number" },
  notZero: { zh: "份数不能为0", en: "copies cannot be 0" },
  noNegative: {
    zh: "负数份数只能用于更正",
    en: "negative copies only in a correction",
  },
  tooMany: { zh: "份数太大", en: "too many copies" },
  correctionOfCorrection: {
    zh: "请更正原始记录，而不是另一条更正",
    en: "correct the original event, not a correction of it",
  },
};

// This envoy's stock per title: received minus handed out, corrections counted
// (field_client/events.py leaflet_stock). `titles` maps id to title.
export function leafletStock(receipts, handouts, envoyId, titles = {}) {
  const totals = new Map();
  for (const [records, slot] of [
    [receipts, 0],
    [handouts, 1],
  ]) {
    for (const r of live(records)) {
      if (r.envoy_id !== envoyId) continue;
      const pair = totals.get(r.leaflet_title_id) || [0, 0];
      pair[slot] += Number(r.copies) || 0;
      totals.set(r.leaflet_title_id, pair);
    }
  }
  return [...totals.entries()]
    .map(([titleId, [received, handedOut]]) => ({
      titleId,
      title: titles[titleId] || titleId,
      received,
      handedOut,
      held: received - handedOut,
    }))
    .sort((a, b) => a.title.localeCompare(b.title, "zh"));
}

// The title's stock when handing out `copies` takes more than the envoy holds, else null
// (field_client/pickers.py over_stock: the one rule by which the form asks first).
export function overStock(stock, titleId, copies, titles = {}) {
  if (!titleId || copies === null || copies === undefined) return null;
  const found = stock.find((s) => s.titleId === titleId) || {
    titleId,
    title: titles[titleId] || titleId,
    received: 0,
    handedOut: 0,
    held: 0,
  };
  return copies > found.held ? found : null;
}

// Problems with a correction of `original` by `change` copies, as shared/corrections.py
// judges it on the device; {} when none. `earlier` are the stored events of the same kind.
export function correctionProblems(original, change, earlier) {
  if (original.correction_of) return { correction_of: W.correctionOfCorrection };
  const total =
    (Number(original.copies) || 0) +
    change +
    live(earlier)
      .filter((e) => e.correction_of === original.id)
      .reduce((sum, e) => sum + (Number(e.copies) || 0), 0);
  if (total < 0) {
    return {
      copies: {
        zh: `更正后总数为 ${total}，不能小于0`,
        en: `the event and its corrections would total ${total}, below zero`,
      },
    };
  }
  return {};
}

export function copiesProblem(copies, isCorrection) {
  if (copies === null) return W.needWhole;
  if (copies === 0) return W.notZero;
  if (Math.abs(copies) > MOST_COPIES) return W.tooMany;
  if (copies < 0 && !isCorrection) return W.noNegative;
  return null;
}
