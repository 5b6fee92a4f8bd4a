// The hybrid logical clock and UTC times, as shared/clock.py keeps them: a stamp reads
// PPPPPPPPPPPPP.CCCCC.NODE (13-digit milliseconds, 5-digit counter, device id).
const MAX_COUNTER = 99999;

export function parseStamp(stamp) {
  return [Number(stamp.slice(0, 13)), Number(stamp.slice(14, 19))];
}

export function formatStamp(physical, counter, node) {
  return `${String(physical).padStart(13, "0")}.${String(counter).padStart(5, "0")}.${node}`;
}

/** The next stamp after `last` (or none) at wall time `wall` (milliseconds, corrected). */
export function hlcNow(last, wall, node) {
  let [physical, counter] = last ? parseStamp(last) : [0, 0];
  const next = Math.max(physical, Math.floor(wall));
  counter = next === physical ? counter + 1 : 0;
  physical = next;
  if (counter > MAX_COUNTER) {
    physical += 1;
    counter = 0;
  }
  return formatStamp(physical, counter, node);
}

/** `last` moved past a stamp seen from elsewhere, so the next stamp orders after it. */
export function hlcObserve(last, seen, node) {
  let [physical, counter] = last ? parseStamp(last) : [0, 0];
  if (seen) {
    const [p, c] = parseStamp(seen);
    if (p > physical || (p === physical && c > counter)) [physical, counter] = [p, c];
  }
  return formatStamp(physical, counter, node);
}

/** UTC, second precision, "Z": 2026-11-20T01:00:00Z (shared/clock.py to_iso). */
export function isoOfMs(ms) {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19) + "Z";
}

/** The wall time a stamp was made at, as UTC ISO text. */
export function stampIso(stamp) {
  if (!stamp) return "";
  return isoOfMs(Number(stamp.slice(0, 10)) * 1000);
}
