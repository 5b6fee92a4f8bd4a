// The store's side of sync: unsent changes in order, the server's answers settled, pulled pages
// applied, and the device report every request carries (field_client/outbox.py, holdings.py).
import { FARMER_ALIAS, FIELD_KINDS, REVIEW } from "./protocol.js";
import { hlcObserve } from "./clock.js";
import { PENDING, REJECTED, inTransaction, metaIn, putMeta, req, withDerivedMeta } from "./store.js";

/** Unsent changes after `afterSeq`, oldest first, at most `limit`. */
export async function pendingAfter(afterSeq, limit) {
  return inTransaction(["outbox"], "readonly", async (tx) => {
    const range = IDBKeyRange.lowerBound(afterSeq, true);
    const found = [];
    const all = await req(tx.objectStore("outbox").getAll(range));
    for (const entry of all) {
      if (entry.state !== PENDING) continue;
      found.push(entry);
      if (found.length >= limit) break;
    }
    return found;
  });
}

const SETTLE_STORES = () => [...FIELD_KINDS, "outbox", "meta"];

/** Forget changes the server has; keep refused ones, with their reason, in sight. */
export async function settle(done, rejected) {
  return inTransaction(SETTLE_STORES(), "readwrite", async (tx) => {
    const outbox = tx.objectStore("outbox");
    for (const seq of done) await req(outbox.delete(seq));
    for (const answer of rejected) {
      const entry = await req(outbox.get(answer.q));
      if (!entry) continue;
      entry.state = REJECTED;
      entry.reason = answer.r || "";
      entry.errors = answer.e || {};
      await req(outbox.put(entry));
      await afterRejection(tx, entry, answer);
    }
  });
}

async function afterRejection(tx, entry, answer) {
  const sameRecord = await req(tx.objectStore("outbox").index("record").getAll([entry.kind, entry.id]));
  if (sameRecord.some((other) => other.state === PENDING)) return;
  if (answer.x) {
    // The server's own version replaces the refused one.
    await req(tx.objectStore(entry.kind).put(withDerivedMeta(answer.x)));
    return;
  }
  const createRefused = sameRecord.some((other) => other.state === REJECTED && other.is_create);
  if (entry.is_create || createRefused) {
    // Never on the server: the record lives on in the refused list until fixed or discarded.
    await req(tx.objectStore(entry.kind).delete(entry.id));
  }
}

/** A restored copy reused sequence numbers the server has seen: give these fresh ones. */
export async function renumber(seqs, above) {
  return inTransaction(["outbox", "meta"], "readwrite", async (tx) => {
    let next = Math.max(Number(await metaIn(tx, "next_seq", 1)), above + 1);
    const outbox = tx.objectStore("outbox");
    for (const seq of [...seqs].sort((a, b) => a - b)) {
      const entry = await req(outbox.get(seq));
      if (!entry) continue;
      await req(outbox.delete(seq));
      entry.seq = next;
      next += 1;
      await req(outbox.put(entry));
    }
    await putMeta(tx, "next_seq", next);
    await putMeta(tx, "resync_own", true);
  });
}

/** True when the server has seen sequence numbers this copy never made (it was restored). */
export async function noteHighWater(deviceMaxSeq) {
  return inTransaction(["meta"], "readwrite", async (tx) => {
    if (Number(await metaIn(tx, "next_seq", 1)) <= deviceMaxSeq) {
      await putMeta(tx, "next_seq", deviceMaxSeq + 1);
      await putMeta(tx, "resync_own", true);
      return true;
    }
    return false;
  });
}

/** The server's clock stamp and our clock's offset from it, learnt from an answer. */
export async function observeServer(serverHlc, offsetMs) {
  return inTransaction(["meta"], "readwrite", async (tx) => {
    if (offsetMs !== null && offsetMs !== undefined) await putMeta(tx, "clock_offset_ms", offsetMs);
    if (serverHlc) {
      const device = await metaIn(tx, "device_id", "unenrolled");
      await putMeta(tx, "hlc", hlcObserve(await metaIn(tx, "hlc", null), serverHlc, device));
    }
  });
}

const PULL_STORES = () => [...FIELD_KINDS, "reference", "reviews", "aliases", "outbox", "meta"];

/**
 * Apply one pulled page and move the cursor, in one transaction. The phone is never the
 * merger: a record with changes still waiting here is left as it is, and remembered with the
 * cursor the page started from, so once those changes are pushed the pull goes back there and
 * takes the server's merged version (docs/sync.md, "The phone app").
 */
export async function applyPage(page, startCursor) {
  return inTransaction(PULL_STORES(), "readwrite", async (tx) => {
    if (page.mobile_key) await putMeta(tx, "mobile_key", page.mobile_key);
    const waiting = new Set();
    for (const entry of await req(tx.objectStore("outbox").index("state").getAll(PENDING))) {
      waiting.add(`${entry.kind}/${entry.id}`);
    }
    const deferred = (await metaIn(tx, "deferred", null)) || { cursor: null, records: [] };
    let skipped = 0;
    for (const item of page.records) {
      const kind = item.k;
      const state = item.r;
      if (FIELD_KINDS.includes(kind)) {
        if (waiting.has(`${kind}/${state.id}`)) {
          skipped += 1;
          deferred.records.push([kind, state.id]);
          deferred.cursor = deferred.cursor === null ? startCursor : Math.min(deferred.cursor, startCursor);
          continue;
        }
        await req(tx.objectStore(kind).put(state));
      } else if (kind === REVIEW) {
        await req(tx.objectStore("reviews").put(state));
      } else if (kind === FARMER_ALIAS) {
        await req(tx.objectStore("aliases").put({ id: state.id, canonical_id: state.canonical_id }));
      } else {
        const id = kind === "unit" ? state.code : state.id;
        await req(tx.objectStore("reference").put({ kind, id, data: state }));
      }
    }
    if (skipped) await putMeta(tx, "deferred", deferred);
    await putMeta(tx, "cursor", page.cursor);
    if (page.checkin_key && !(await metaIn(tx, "checkin_key", null))) {
      await putMeta(tx, "checkin_key", page.checkin_key);
    }
    if (!page.more && "held" in page) {
      await putMeta(tx, "held", page.held);
      await putMeta(tx, "held_count", page.held_count ?? page.held.length);
    }
    return skipped;
  });
}

/** Before a pull: when every record a pull left alone has had its changes sent, go back to
 * where that pull started, so their server versions arrive. True when it went back. */
export async function rewindForDeferred() {
  return inTransaction(["outbox", "meta"], "readwrite", async (tx) => {
    const deferred = await metaIn(tx, "deferred", null);
    if (!deferred || deferred.cursor === null) return false;
    const index = tx.objectStore("outbox").index("record");
    for (const [kind, id] of deferred.records) {
      const entries = await req(index.getAll([kind, id]));
      if (entries.some((entry) => entry.state === PENDING)) return false;
    }
    const cursor = Number(await metaIn(tx, "cursor", 0));
    await putMeta(tx, "cursor", Math.min(cursor, deferred.cursor));
    await putMeta(tx, "deferred", null);
    return true;
  });
}

/** Drop every record with nothing unsent and pull everything again from the start. */
export async function startFullResync() {
  return inTransaction(PULL_STORES(), "readwrite", async (tx) => {
    const waiting = new Set();
    for (const entry of await req(tx.objectStore("outbox").index("state").getAll(PENDING))) {
      waiting.add(`${entry.kind}/${entry.id}`);
    }
    for (const kind of FIELD_KINDS) {
      const store = tx.objectStore(kind);
      for (const id of await req(store.getAllKeys())) {
        if (!waiting.has(`${kind}/${id}`)) await req(store.delete(id));
      }
    }
    await putMeta(tx, "cursor", 0);
    await putMeta(tx, "resync_own", true);
    await putMeta(tx, "deferred", null);
  });
}

/**
 * What this phone holds, as shared/device_report.py encodes it: the pull cursor, then per
 * field kind live/waiting/new/gone/refused. `sending`: sequence numbers of a batch on its way,
 * counted as the server will have them once it is applied (field_client/holdings.py).
 */
export async function deviceReport(sending = new Set()) {
  return inTransaction([...FIELD_KINDS, "outbox", "meta"], "readonly", async (tx) => {
    const envoyId = await metaIn(tx, "envoy_id", null);
    const cursor = Number(await metaIn(tx, "cursor", 0));
    const counts = Object.fromEntries(FIELD_KINDS.map((kind) => [kind, [0, 0, 0, 0, 0]]));
    const records = {};
    for (const kind of FIELD_KINDS) {
      records[kind] = new Map();
      for (const record of await req(tx.objectStore(kind).getAll())) {
        records[kind].set(record.id, record);
        if (record.envoy_id === envoyId && !record.deleted) counts[kind][0] += 1;
      }
    }
    const outbox = await req(tx.objectStore("outbox").getAll());
    const touched = new Map();
    const refused = new Map();
    for (const entry of outbox) {
      if (!counts[entry.kind]) continue;
      if (entry.state === REJECTED) {
        if (entry.is_create) {
          const record = records[entry.kind].get(entry.id);
          if (!record || record.deleted) refused.set(`${entry.kind}/${entry.id}`, entry.kind);
        }
        continue;
      }
      if (entry.state !== PENDING || sending.has(entry.seq)) continue;
      counts[entry.kind][1] += 1;
      const record = records[entry.kind].get(entry.id);
      if (!record || record.envoy_id !== envoyId) continue;
      const sets = "deleted" in entry.fields;
      if (!entry.is_create && !sets) continue;
      const key = `${entry.kind}/${entry.id}`;
      const seen = touched.get(key) || { kind: entry.kind, create: false, firstDeletes: null, live: !record.deleted };
      if (entry.is_create) seen.create = true;
      if (sets && seen.firstDeletes === null) seen.firstDeletes = entry.fields.deleted === true;
      touched.set(key, seen);
    }
    for (const kind of refused.values()) counts[kind][4] += 1;
    for (const seen of touched.values()) {
      if (seen.create) {
        if (seen.live) counts[seen.kind][2] += 1;
        continue;
      }
      if (seen.firstDeletes && !seen.live) counts[seen.kind][3] += 1;
      else if (!seen.firstDeletes && seen.live) counts[seen.kind][2] += 1;
    }
    const items = [`c=${cursor}`];
    for (const kind of FIELD_KINDS) {
      const numbers = [...counts[kind]];
      while (numbers.length && numbers[numbers.length - 1] === 0) numbers.pop();
      if (numbers.length) items.push(`${kind}=${numbers.join("/")}`);
    }
    return items.join(",");
  });
}
