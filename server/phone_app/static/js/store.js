// The envoy's records in IndexedDB: every save is written with its outbox change in one
// transaction, stamped with the device's hybrid logical clock as tianjian-field stamps them
// (field_client/store.py, shared/clock.py, shared/merge.py).
import {
  APPEND_ONLY_KINDS,
  ATTENDANCE_NAMESPACE,
  DATA_FIELDS,
  FARMER_ALIAS,
  FIELD_KINDS,
  LOAD_DEFAULTS,
  REVIEW,
} from "./protocol.js";
import { hlcNow, hlcObserve, isoOfMs, stampIso, parseStamp } from "./clock.js";

const NAME = "tianjian";
const VERSION = 1;
export const PENDING = "pending";
export const REJECTED = "rejected";

/** A refusal from the device itself, before anything is written: {zh, en} and field errors. */
export class StoreError extends Error {
  constructor(text, errors = {}) {
    super(`${text.zh} / ${text.en}`);
    this.text = text;
    this.errors = errors;
  }
}

let opened = null;

/** The database, opened (and made on first use) once per page. */
export function openStore() {
  if (!opened) {
    opened = new Promise((resolve, reject) => {
      const request = indexedDB.open(NAME, VERSION);
      request.onupgradeneeded = () => upgrade(request.result);
      request.onsuccess = () => {
        // A newer version of the app opened in another tab: let it upgrade the database.
        request.result.onversionchange = () => request.result.close();
        resolve(request.result);
      };
      request.onerror = () => reject(request.error);
      request.onblocked = () => reject(new Error("database blocked by another tab"));
    });
    // Ask once that the browser keep the envoy's records when space runs low.
    if (navigator.storage && navigator.storage.persist) {
      navigator.storage.persist().catch(() => false);
    }
  }
  return opened;
}

function upgrade(db) {
  for (const kind of FIELD_KINDS) {
    const store = db.createObjectStore(kind, { keyPath: "id" });
    if (kind === "attendance") store.createIndex("session_id", "session_id");
  }
  db.createObjectStore("reference", { keyPath: ["kind", "id"] }).createIndex("kind", "kind");
  db.createObjectStore("reviews", { keyPath: "id" });
  db.createObjectStore("aliases", { keyPath: "id" });
  db.createObjectStore("meta", { keyPath: "key" });
  const outbox = db.createObjectStore("outbox", { keyPath: "seq" });
  outbox.createIndex("state", "state");
  outbox.createIndex("record", ["kind", "id"]);
  // Check-ins undone on this device with the reason given (the reason stays here).
  db.createObjectStore("undone", { keyPath: "n", autoIncrement: true }).createIndex(
    "session_id",
    "session_id",
  );
}

/** An IndexedDB request as a promise. */
export function req(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function finished(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new DOMException("transaction aborted", "AbortError"));
  });
}

/** Run `body(tx)` in one transaction over `stores`; resolves with its result once committed.
 * The body may await only requests of this transaction (anything else lets it commit). */
export async function inTransaction(stores, mode, body) {
  const db = await openStore();
  const tx = db.transaction(stores, mode);
  const done = finished(tx);
  let result;
  try {
    result = await body(tx);
  } catch (error) {
    try {
      tx.abort();
    } catch {
      // Already finished.
    }
    done.catch(() => {});
    throw error;
  }
  await done;
  if (mode === "readwrite" && stores.includes("outbox")) {
    // The shell shows how much waits (app.js); anything that changed the outbox says so.
    window.dispatchEvent(new Event("tianjian:outbox"));
  }
  return result;
}

// ------------------------------------------------------------------ meta

export async function getMeta(key, fallback = null) {
  return inTransaction(["meta"], "readonly", (tx) => metaIn(tx, key, fallback));
}

export async function setMeta(key, value) {
  return inTransaction(["meta"], "readwrite", (tx) => putMeta(tx, key, value));
}

export async function metaIn(tx, key, fallback = null) {
  const row = await req(tx.objectStore("meta").get(key));
  return row === undefined ? fallback : row.value;
}

export function putMeta(tx, key, value) {
  return req(tx.objectStore("meta").put({ key, value }));
}

/** The device and envoy this phone was enrolled as, or a StoreError saying to enrol. */
export async function identity() {
  const [device, envoy] = await Promise.all([getMeta("device_id"), getMeta("envoy_id")]);
  if (!device || !envoy) throw notEnrolled();
  return { deviceId: device, envoyId: envoy };
}

function notEnrolled() {
  return new StoreError({
    zh: "本机尚未登记，请先用登记码登记",
    en: "this phone is not enrolled yet: enrol it with a code first",
  });
}

/** Keep what the enrolment answer says, as FieldStore.save_enrolment does. */
export async function saveEnrolment(serverUrl, answer, offsetMs, capabilities) {
  return inTransaction(["meta"], "readwrite", async (tx) => {
    // Enrolled again (after the bureau revoked the old token): changes still waiting keep
    // their numbers and go with the new token, so numbering carries on above them.
    const nextSeq = Math.max(1, Number((await metaIn(tx, "next_seq", 1)) || 1));
    const values = {
      server_url: serverUrl,
      device_id: answer.device_id,
      token: answer.token,
      envoy_id: answer.envoy.id,
      envoy: answer.envoy,
      clock_offset_ms: offsetMs,
      next_seq: nextSeq,
      cursor: 0,
      revoked: false,
      deferred: null,
      checkin_key: answer.checkin_key || null,
      server_capabilities: capabilities,
      enrolled_at: isoOfMs(Date.now()),
    };
    for (const [key, value] of Object.entries(values)) await putMeta(tx, key, value);
    const stamp = hlcObserve(await metaIn(tx, "hlc", null), answer.server_hlc || null, answer.device_id);
    await putMeta(tx, "hlc", stamp);
  });
}

// ------------------------------------------------------------------ records

/** Live records of a kind (deleted ones too when asked). */
export async function listRecords(kind, { includeDeleted = false } = {}) {
  const all = await inTransaction([kind], "readonly", (tx) => req(tx.objectStore(kind).getAll()));
  return includeDeleted ? all : all.filter((record) => !record.deleted);
}

export async function getRecord(kind, id) {
  const found = await inTransaction([kind], "readonly", (tx) => req(tx.objectStore(kind).get(id)));
  return found ?? null;
}

/** Check-ins of one session (deleted ones too when asked). */
export async function checkinsOf(sessionId, { includeDeleted = false } = {}) {
  const all = await inTransaction(["attendance"], "readonly", (tx) =>
    req(tx.objectStore("attendance").index("session_id").getAll(sessionId)),
  );
  return includeDeleted ? all : all.filter((record) => !record.deleted);
}

/** The derived id of a check-in, as shared/ids.py attendance_id makes it. */
export async function attendanceId(sessionId, farmerId) {
  const namespace = hexBytes(ATTENDANCE_NAMESPACE);
  const pair = new TextEncoder().encode(`${sessionId}/${farmerId}`);
  const data = new Uint8Array(namespace.length + pair.length);
  data.set(namespace);
  data.set(pair, namespace.length);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-1", data));
  const hex = [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
  const variant = "89ab"[parseInt(hex[0], 16) & 0x3];
  return `${sessionId.slice(0, 18)}-${variant}${hex.slice(1, 4)}-${hex.slice(4, 16)}`;
}

function hexBytes(hex) {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i += 1) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

function newId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Only the kind's data fields (and `deleted`), as a change may carry them. */
function dataOnly(kind, values) {
  const names = DATA_FIELDS[kind];
  const picked = {};
  for (const [name, value] of Object.entries(values)) {
    if (names.includes(name) || name === "deleted") picked[name] = value === undefined ? null : value;
  }
  return picked;
}

/** created_at, updated_at and hlc follow from the stamps (shared/merge.py with_derived_meta). */
export function withDerivedMeta(state) {
  const stamps = Object.values(state._stamps || {}).sort();
  const first = stamps[0] || "";
  const last = stamps[stamps.length - 1] || "";
  state.hlc = last;
  state.created_at = stampIso(first);
  state.updated_at = first.slice(0, 13) === last.slice(0, 13) ? state.created_at : stampIso(last);
  if (state.deleted === undefined) state.deleted = false;
  return state;
}

async function nextStamp(tx, deviceId) {
  const wall = Date.now() + Number((await metaIn(tx, "clock_offset_ms", 0)) || 0);
  const stamp = hlcNow(await metaIn(tx, "hlc", null), wall, deviceId);
  await putMeta(tx, "hlc", stamp);
  return stamp;
}

async function enqueue(tx, entry) {
  const seq = Number((await metaIn(tx, "next_seq", 1)) || 1);
  await putMeta(tx, "next_seq", seq + 1);
  const row = { seq, state: PENDING, created_at: isoOfMs(Date.now()), ...entry };
  await req(tx.objectStore("outbox").put(row));
  return seq;
}

const WRITE_STORES = () => [...FIELD_KINDS, "meta", "outbox", "undone"];

/**
 * Save a record: a new one (no id, or an id not on the phone) is created with every data
 * field, defaults filled in, as tianjian-field creates it; an existing one is edited in the
 * fields given. Append-only kinds are only ever created. Resolves with the stored record.
 */
export async function saveRecord(kind, record) {
  if (!FIELD_KINDS.includes(kind)) throw new StoreError({ zh: "未知的记录类型", en: `unknown kind ${kind}` });
  const who = await identity();
  let id = record.id || null;
  if (kind === "attendance") id = await attendanceId(record.session_id, record.farmer_id);
  return inTransaction(WRITE_STORES(), "readwrite", async (tx) => {
    const current = id ? await req(tx.objectStore(kind).get(id)) : undefined;
    if (current === undefined) return createIn(tx, kind, id || newId(), record, who);
    if (APPEND_ONLY_KINDS.includes(kind)) {
      throw new StoreError({
        zh: "此类记录只能追加，更正请新建一条",
        en: "append-only: record a correction as a new event",
      });
    }
    // Only what differs is an edit: a form sent back whole changes only what was changed.
    const changed = {};
    for (const [name, value] of Object.entries(dataOnly(kind, record))) {
      if (JSON.stringify(value) !== JSON.stringify(current[name] ?? null)) changed[name] = value;
    }
    if (Object.keys(changed).length === 0) return current;
    return editIn(tx, kind, current, changed, who);
  });
}

async function createIn(tx, kind, id, record, who) {
  const stamp = await nextStamp(tx, who.deviceId);
  const data = dataOnly(kind, { ...structuredClone(LOAD_DEFAULTS[kind]), ...record });
  delete data.deleted;
  if (kind === "attendance") data.seen_by = [who.deviceId];
  const state = { ...data, _stamps: {} };
  for (const name of Object.keys(data)) state._stamps[name] = stamp;
  Object.assign(state, { id, envoy_id: who.envoyId, device_id: who.deviceId });
  withDerivedMeta(state);
  await req(tx.objectStore(kind).put(state));
  const sent = { ...data };
  delete sent.seen_by;
  await enqueue(tx, { kind, id, stamp, base: null, fields: sent, is_create: true });
  return state;
}

async function editIn(tx, kind, current, values, who) {
  const stamp = await nextStamp(tx, who.deviceId);
  const state = structuredClone(current);
  state._stamps = state._stamps || {};
  for (const [name, value] of Object.entries(values)) {
    state[name] = value;
    state._stamps[name] = stamp;
  }
  withDerivedMeta(state);
  await req(tx.objectStore(kind).put(state));
  await enqueue(tx, { kind, id: current.id, stamp, base: current.hlc, fields: values, is_create: false });
  return state;
}

/**
 * Delete a record (a tombstone that syncs). A session takes its check-ins and photos with it;
 * a check-in undone keeps `reason` on this phone, as tianjian-field does.
 */
export async function deleteRecord(kind, id, reason = null) {
  const who = await identity();
  return inTransaction(WRITE_STORES(), "readwrite", async (tx) => {
    const current = await req(tx.objectStore(kind).get(id));
    if (current === undefined || current.deleted) {
      throw new StoreError({ zh: "没有这条记录，或已删除", en: "no such record, or already deleted" });
    }
    if (kind === "session") {
      const checkins = await req(tx.objectStore("attendance").index("session_id").getAll(id));
      for (const checkin of checkins.filter((c) => !c.deleted)) {
        await editIn(tx, "attendance", checkin, { deleted: true }, who);
      }
      const photos = await req(tx.objectStore("photo").getAll());
      for (const photo of photos) {
        if (!photo.deleted && photo.subject_kind === "session" && photo.subject_id === id) {
          await editIn(tx, "photo", photo, { deleted: true }, who);
        }
      }
    }
    const state = await editIn(tx, kind, current, { deleted: true }, who);
    if (kind === "attendance") {
      await req(
        tx.objectStore("undone").add({
          attendance_id: id,
          session_id: current.session_id,
          farmer_id: current.farmer_id,
          reason: reason || "",
          undone_at: isoOfMs(Date.now()),
        }),
      );
    }
    return state;
  });
}

/** Check a farmer in (the same check-in twice is one row): {record, isNew}. */
export async function checkIn(sessionId, farmerId, method = "roster", at = null) {
  const who = await identity();
  const id = await attendanceId(sessionId, farmerId);
  return inTransaction(WRITE_STORES(), "readwrite", async (tx) => {
    const current = await req(tx.objectStore("attendance").get(id));
    if (current !== undefined && !current.deleted) return { record: current, isNew: false };
    const moment = at || (await bestNowIso(tx));
    const values = { session_id: sessionId, farmer_id: farmerId, checked_in_at: moment, method };
    if (current === undefined) return { record: await createIn(tx, "attendance", id, values, who), isNew: true };
    // Again after an undo: a later stamp overrides the tombstone.
    return { record: await editIn(tx, "attendance", current, { ...values, deleted: false }, who), isNew: true };
  });
}

async function bestNowIso(tx) {
  const wall = Date.now() + Number((await metaIn(tx, "clock_offset_ms", 0)) || 0);
  const hlc = await metaIn(tx, "hlc", null);
  return isoOfMs(Math.max(wall, hlc ? parseStamp(hlc)[0] : 0));
}

/** Check-ins undone at a session on this phone, with the reasons, oldest first. */
export async function undoneCheckins(sessionId) {
  return inTransaction(["undone"], "readonly", (tx) =>
    req(tx.objectStore("undone").index("session_id").getAll(sessionId)),
  );
}

// ------------------------------------------------------------------ reference data

/** Reference rows pulled from the server: units, envoys, technologies, varieties, leaflet
 * titles, targets (the rows as the server sends them). */
export async function listReference(kind) {
  const rows = await inTransaction(["reference"], "readonly", (tx) =>
    req(tx.objectStore("reference").index("kind").getAll(kind)),
  );
  return rows.map((row) => row.data);
}

/** Reviews of this envoy's records, from the bureau. */
export async function listReviews() {
  return inTransaction(["reviews"], "readonly", (tx) => req(tx.objectStore("reviews").getAll()));
}

/** The record a merged farmer now lives on (the server's aliases), or the id itself. */
export async function canonicalFarmer(id) {
  const alias = await inTransaction(["aliases"], "readonly", (tx) => req(tx.objectStore("aliases").get(id)));
  return alias ? alias.canonical_id : id;
}

/** Every merged farmer record's id and the record it was merged into (from the server). */
export async function listAliases() {
  const rows = await inTransaction(["aliases"], "readonly", (tx) => req(tx.objectStore("aliases").getAll()));
  return new Map(rows.map((row) => [row.id, row.canonical_id]));
}

// ------------------------------------------------------------------ outbox

/** Every change waiting or refused, oldest first; a refused one carries the server's reason
 * ("中文 / English") and field errors. */
export async function outboxEntries() {
  return inTransaction(["outbox"], "readonly", (tx) => req(tx.objectStore("outbox").getAll()));
}

/** How many changes wait to be sent. */
export async function pendingCount() {
  return inTransaction(["outbox"], "readonly", (tx) => req(tx.objectStore("outbox").index("state").count(PENDING)));
}

/** One refused change by its number, or null. */
export async function refusedEntry(seq) {
  const entry = await inTransaction(["outbox"], "readonly", (tx) => req(tx.objectStore("outbox").get(seq)));
  return entry && entry.state === REJECTED ? entry : null;
}

/** Forget one refused change (it is never sent again). */
export async function discardRefused(seq) {
  return inTransaction(["outbox"], "readwrite", async (tx) => {
    const entry = await req(tx.objectStore("outbox").get(seq));
    if (!entry || entry.state !== REJECTED) return false;
    await req(tx.objectStore("outbox").delete(seq));
    return true;
  });
}

export { FARMER_ALIAS, REVIEW };
