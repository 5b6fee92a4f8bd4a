// Sync with the bureau's server as tianjian-field does (field_client/sync.py): push the outbox
// in gzip'd batches, then pull pages after the cursor; every request carries the protocol,
// capabilities, device time and the device report. Safe to cut at any point: a change leaves
// the outbox only once the server has answered it, the cursor moves only with its page.
import { notifySynced, toast } from "./app.js";
import { half, t } from "./i18n.js";
import {
  APPLIED,
  CAPABILITIES,
  DEFAULT_BATCH_BYTES,
  DEFAULT_PULL_PAGE,
  DUPLICATE,
  HEADER_CAPABILITIES,
  HEADER_DEVICE_REPORT,
  HEADER_DEVICE_TIME,
  HEADER_PROTOCOL,
  HEADER_SERVER_TIME,
  HEADER_WANT_CHECKIN_KEY,
  HELD,
  MERGED,
  PROTOCOL_VERSION,
  REJECTED,
  SEQ_REUSED,
} from "./protocol.js";
import { PENDING, getMeta, outboxEntries, setMeta } from "./store.js";
import {
  applyPage,
  deviceReport,
  noteHighWater,
  observeServer,
  pendingAfter,
  renumber,
  rewindForDeferred,
  settle,
  startFullResync,
} from "./sync_store.js";

const DONE = new Set([APPLIED, DUPLICATE, MERGED, HELD]);
const FIRST_BATCH_CHANGES = 200;
const MAX_BATCH_CHANGES = 2000;
const MIN_BATCH_BYTES = 16 * 1024;
const RETRIES = 3;
const TIMEOUT_MS = 60_000;
const pushHooks = [];
let running = null;

/** The outcome of a sync and what it did, batch by batch. */
export class SyncFailed extends Error {
  constructor(text, { revoked = false } = {}) {
    super(`${text.zh} / ${text.en}`);
    this.text = text;
    this.revoked = revoked;
  }
}

/** Run `hook(report)` after the push and before the pull (pwa-more sends photo bytes there). */
export function afterPush(hook) {
  pushHooks.push(hook);
}

/** Push then pull; one at a time (a second call while one runs waits for the same run).
 * `batchChanges`: at most this many changes a push request (smaller on a link that drops). */
export function syncNow({ onProgress = null, batchChanges = MAX_BATCH_CHANGES } = {}) {
  if (!running) {
    // One sync at a time across the app's tabs too: two would send the same changes twice.
    const once = () => run(onProgress, batchChanges);
    const locked = navigator.locks ? navigator.locks.request("tianjian-sync", once) : once();
    running = locked.finally(() => {
      running = null;
    });
  }
  return running;
}

export function syncing() {
  return running !== null;
}

function freshReport() {
  return { pushed: 0, statuses: {}, pulled: 0, requests: 0, bytesSent: 0, bytesReceived: 0, rejectedNow: 0, fullResync: false };
}

async function run(onProgress, batchChanges) {
  const context = {
    batchChanges,
    server: (await getMeta("server_url")) || location.origin,
    token: await getMeta("token"),
    report: freshReport(),
    offset: null,
    batchBytes: DEFAULT_BATCH_BYTES,
    progress: onProgress || (() => {}),
  };
  if (!context.token) {
    throw new SyncFailed({ zh: "本机尚未登记，请先登记", en: "this phone is not enrolled yet" });
  }
  // A pull may have left records alone while their changes waited: until those are sent,
  // push and pull again (a few rounds at most; what is left goes with the next sync).
  for (let round = 0; round < 3; round += 1) {
    await push(context);
    for (const hook of pushHooks) await hook(context.report, context);
    const skipped = await pull(context);
    if (!skipped) break;
  }
  await setMeta("last_sync", { at: new Date().toISOString(), report: context.report });
  notifySynced(context.report);
  return context.report;
}

// ------------------------------------------------------------------ transport

async function headers(context, extra = {}) {
  const base = {
    [HEADER_PROTOCOL]: String(PROTOCOL_VERSION),
    [HEADER_CAPABILITIES]: CAPABILITIES.join(","),
    [HEADER_DEVICE_TIME]: String(Date.now()),
    Authorization: `Bearer ${context.token}`,
  };
  return { ...base, ...extra };
}

/** One request; dropped connections and 5xx are tried again, then the sync stops. */
async function send(context, method, path, { body = null, extra = {} } = {}) {
  let delay = 500;
  for (let attempt = 0; ; attempt += 1) {
    const sentAt = Date.now();
    let response;
    try {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
      try {
        response = await fetch(context.server + path, {
          method,
          body,
          headers: await headers(context, extra),
          signal: controller.signal,
          cache: "no-store",
          credentials: "omit",
        });
        // Read whole here: an answer cut in the middle is a dropped line, tried again.
        if (response.status === 200) response.answer = await response.json();
      } finally {
        clearTimeout(timer);
      }
      context.report.requests += 1;
      context.report.bytesSent += body ? body.byteLength || body.length || 0 : 0;
      context.report.bytesReceived += Number(response.headers.get("Content-Length") || 0);
    } catch (error) {
      context.report.requests += 1;
      // On a link that drops, smaller batches lose less when cut.
      context.batchBytes = Math.max(MIN_BATCH_BYTES, Math.floor(context.batchBytes / 2));
      if (attempt >= RETRIES || !navigator.onLine) throw unreachable();
      await sleep(delay);
      delay = Math.min(delay * 2, 8000);
      continue;
    }
    if (response.status >= 500 && attempt < RETRIES) {
      await sleep(delay);
      delay = Math.min(delay * 2, 8000);
      continue;
    }
    await check(response);
    const serverTime = response.headers.get(HEADER_SERVER_TIME);
    if (serverTime && /^\d+$/.test(serverTime)) {
      context.offset = Number(serverTime) - Math.floor((sentAt + Date.now()) / 2);
    }
    const said = response.headers.get(HEADER_CAPABILITIES);
    if (said !== null) await setMeta("server_capabilities", said);
    return response;
  }
}

function unreachable() {
  return new SyncFailed({
    zh: "无法连接服务器：数据都在本机，没有丢失，有信号时再同步",
    en: "cannot reach the server: nothing was lost, sync again when in signal",
  });
}

async function check(response) {
  if (response.status < 400 || response.status === 413) return;
  let message = "";
  try {
    message = (await response.clone().json()).message || "";
  } catch {
    message = `HTTP ${response.status}`;
  }
  if (response.status === 401) {
    // The enrol screen then takes a new code; what waits here stays and goes with the new token.
    await setMeta("revoked", true);
    throw new SyncFailed(
      { zh: `服务器不再接受本机的令牌（${half(message)}），请找科技局重新登记`, en: `the server no longer accepts this phone's token (${message}): ask the bureau to enrol it again` },
      { revoked: true },
    );
  }
  if (response.status === 426) {
    throw new SyncFailed({ zh: "应用版本过旧，请在有信号时重新打开以更新", en: "the app is too old: open it again in signal to update" });
  }
  throw new SyncFailed({ zh: `服务器出错（HTTP ${response.status}）：${message}`, en: `server error (HTTP ${response.status}): ${message}` });
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** gzip'd bytes of a text (CompressionStream; the server reads Content-Encoding: gzip). */
export async function gzip(text) {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

// ------------------------------------------------------------------ push

/** A change as the wire carries it (field_client/push_body.py): a created check-in's id is
 * derived from its session and farmer, so it is left out. */
export function wireChange(entry) {
  const change = { q: entry.seq, k: entry.kind, h: entry.stamp.slice(0, 19) };
  const namesCheckin = entry.kind === "attendance" && (entry.is_create || ("session_id" in entry.fields && "farmer_id" in entry.fields));
  if (!namesCheckin) change.i = entry.id;
  if (entry.base) change.b = entry.base;
  change.f = entry.fields;
  return change;
}

async function push(context) {
  let after = 0;
  let fits = Math.min(FIRST_BATCH_CHANGES, context.batchChanges);
  for (;;) {
    let entries = await pendingAfter(after, Math.min(fits, context.batchChanges));
    if (!entries.length) return;
    let body = await gzip(JSON.stringify({ changes: entries.map(wireChange) }));
    while (body.byteLength > context.batchBytes && entries.length > 1) {
      entries = entries.slice(0, Math.ceil(entries.length / 2));
      body = await gzip(JSON.stringify({ changes: entries.map(wireChange) }));
    }
    fits = Math.min(MAX_BATCH_CHANGES, Math.max(1, Math.floor((entries.length * context.batchBytes * 0.9) / Math.max(body.byteLength, 1))));
    const report = await deviceReport(new Set(entries.map((entry) => entry.seq)));
    const response = await send(context, "POST", "/api/v1/sync/push", {
      body,
      extra: { "Content-Encoding": "gzip", "Content-Type": "application/json", [HEADER_DEVICE_REPORT]: report },
    });
    if (response.status === 413) {
      if (entries.length === 1) {
        await settle([], [{ q: entries[0].seq, r: "变更太大，服务器拒收 / change too large for the server" }]);
      } else {
        fits = Math.max(1, Math.floor(entries.length / 2));
        continue;
      }
    } else {
      await settleAnswer(context, response.answer);
    }
    after = entries[entries.length - 1].seq;
    context.progress(context.report);
  }
}

async function settleAnswer(context, answer) {
  const done = [];
  for (const [first, last] of answer.applied) for (let seq = first; seq <= last; seq += 1) done.push(seq);
  const statuses = context.report.statuses;
  statuses[APPLIED] = (statuses[APPLIED] || 0) + done.length;
  const rejected = [];
  const reused = [];
  for (const item of answer.answers) {
    statuses[item.s] = (statuses[item.s] || 0) + 1;
    if (DONE.has(item.s)) done.push(item.q);
    else if (item.s === REJECTED) rejected.push(item);
    else if (item.s === SEQ_REUSED) reused.push(item.q);
  }
  await settle(done, rejected);
  context.report.pushed += done.length + rejected.length;
  context.report.rejectedNow += rejected.length;
  await observeServer(answer.server_hlc, context.offset);
  if (reused.length) await renumber(reused, answer.device_max_seq);
  await noteHighWater(answer.device_max_seq);
}

// ------------------------------------------------------------------ pull

/** Pull pages until the server has no more; returns how many records were left alone
 * because changes to them still wait (they come back after the next push). */
async function pull(context) {
  await rewindForDeferred();
  let skipped = 0;
  for (;;) {
    const cursor = Number((await getMeta("cursor", 0)) || 0);
    const includeOwn = Boolean(await getMeta("resync_own", false));
    const query = new URLSearchParams({ cursor: String(cursor), limit: String(DEFAULT_PULL_PAGE), include_own: String(includeOwn) });
    const extra = { [HEADER_DEVICE_REPORT]: await deviceReport() };
    if (!(await getMeta("checkin_key"))) extra[HEADER_WANT_CHECKIN_KEY] = "1";
    const response = await send(context, "GET", `/api/v1/sync/pull?${query}`, { extra });
    const page = response.answer;
    if (page.full_resync) {
      context.report.fullResync = true;
      await startFullResync();
      continue;
    }
    skipped += await applyPage(page, cursor);
    context.report.pulled += page.records.length;
    await observeServer(page.server_hlc, context.offset);
    context.progress(context.report);
    if (await noteHighWater(page.device_max_seq)) {
      context.report.fullResync = true;
      await startFullResync();
      continue;
    }
    if (!page.more) {
      if (includeOwn) await setMeta("resync_own", false);
      return skipped;
    }
  }
}

// ------------------------------------------------------------------ automatic

async function automatic() {
  if (!(await getMeta("token")) || syncing()) return;
  try {
    const report = await syncNow();
    toast(summary(report));
  } catch (error) {
    toast(error.text || { zh: "同步失败", en: "sync failed" }, { error: true });
  }
}

/** One line saying what a sync did, in the chosen language. */
export function summary(report) {
  const refused = report.rejectedNow
    ? t({ zh: `，${report.rejectedNow} 条被拒绝（见待发送）`, en: `, ${report.rejectedNow} refused (see the outbox)` })
    : "";
  return t({
    zh: `同步完成：发送 ${report.pushed} 条，收到 ${report.pulled} 条${refused}`,
    en: `synced: ${report.pushed} sent, ${report.pulled} received${refused}`,
  });
}

// Opened in signal with changes waiting, or not synced for a while: sync without being asked
// (an app closed offline never hears the network come back).
const STALE_MS = 6 * 3600 * 1000;

async function atStart() {
  if (!navigator.onLine) return;
  const last = await getMeta("last_sync");
  const waiting = (await outboxEntries()).some((entry) => entry.state === PENDING);
  if (waiting || !last || Date.now() - Date.parse(last.at) > STALE_MS) await automatic();
}

window.addEventListener("online", automatic);
// Only for a phone enrolled when the app opened: enrolling syncs by itself.
getMeta("token").then((token) => {
  if (token) setTimeout(atStart, 1500);
});
