// Photos' bytes on the phone and on their way: kept by SHA-256 in their own IndexedDB database
// (never in the records' one, which a sync reads whole), sent after the push in 32 KiB chunks
// to /api/v1/media, resumed from what the server holds after any cut, never sent again once
// it holds them whole (field_client/media_upload.py and photos.py, mirrored).
import { sha256Hex as hex } from "./photo_reduce.js";
import { getMeta, listRecords, outboxEntries, PENDING } from "./store.js";

const NAME = "tianjian-media";
const VERSION = 1;
// As field_client/media_upload.py CHUNK_BYTES: about 9 s a request on 2G; the server takes 64 KiB.
export const CHUNK_BYTES = 32 * 1024;
// A server asking to slow down is waited for up to this long, then the rest waits for the next sync.
const LONGEST_WAIT_S = 60;
const REQUEST_TIMEOUT_MS = 90_000;
const PROTOCOL_VERSION = "1";

const NOT_YET = {
  zh: "服务器还没有这张照片的记录（可能在等所属的培训），下次同步再传",
  en: "the server does not hold this photo's record yet (it may wait for its session): sent next sync",
};
const MISSING = {
  zh: "本机的照片文件缺失或已损坏",
  en: "the photo's file on this device is missing or damaged",
};
const UNFINISHED = { zh: "上传未能完成，下次同步再试", en: "the upload did not finish: tried next sync" };

let opened = null;

function openMedia() {
  if (!opened) {
    opened = new Promise((resolve, reject) => {
      const request = indexedDB.open(NAME, VERSION);
      request.onupgradeneeded = () => {
        request.result.createObjectStore("files", { keyPath: "sha256" });
        request.result.createObjectStore("uploads", { keyPath: "sha256" });
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }
  return opened;
}

function done(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function run(stores, mode, body) {
  const db = await openMedia();
  const tx = db.transaction(stores, mode);
  const finished = new Promise((resolve, reject) => {
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("aborted"));
  });
  const result = await body(tx);
  await finished;
  return result;
}

// ------------------------------------------------------------------ files

/** Keep a reduced photo's bytes and thumbnail (whole, in one transaction) and its upload state. */
export function keepFile(sha256, blob, thumb = null) {
  return run(["files", "uploads"], "readwrite", async (tx) => {
    await done(tx.objectStore("files").put({ sha256, blob, thumb, size: blob.size }));
    const known = await done(tx.objectStore("uploads").get(sha256));
    if (!known) {
      await done(
        tx.objectStore("uploads").put({ sha256, size: blob.size, sent: 0, complete: false, error: null }),
      );
    }
  });
}

/** The kept blob of a photo, or null. */
export async function fileBlob(sha256) {
  const row = await run(["files"], "readonly", (tx) => done(tx.objectStore("files").get(sha256)));
  return row ? row.blob : null;
}

/** The kept thumbnail (a data: URL) of a photo, or null. */
export async function fileThumb(sha256) {
  const row = await run(["files"], "readonly", (tx) => done(tx.objectStore("files").get(sha256)));
  return row ? row.thumb || null : null;
}

export function uploadStates() {
  return run(["uploads"], "readonly", (tx) => done(tx.objectStore("uploads").getAll()));
}

async function note(sha256, values) {
  await run(["uploads"], "readwrite", async (tx) => {
    const row = await done(tx.objectStore("uploads").get(sha256));
    if (row) await done(tx.objectStore("uploads").put({ ...row, ...values }));
  });
}

/** Remove the bytes (and upload state) of pictures no live photo names any more. */
export async function forgetFiles(hashes) {
  const named = new Set((await listRecords("photo")).map((r) => r.sha256));
  const gone = hashes.filter((sha) => sha && !named.has(sha));
  if (!gone.length) return;
  await run(["files", "uploads"], "readwrite", async (tx) => {
    for (const sha of gone) {
      await done(tx.objectStore("files").delete(sha));
      await done(tx.objectStore("uploads").delete(sha));
    }
  });
}

/** Photos made here, live, whose bytes the server does not hold whole: {photos, bytesTotal,
 * bytesSent} (a picture on two records is one upload). */
export async function waiting() {
  const live = new Set((await listRecords("photo")).map((r) => r.sha256));
  const rows = (await uploadStates()).filter((u) => !u.complete && live.has(u.sha256));
  return {
    photos: rows.length,
    bytesTotal: rows.reduce((sum, u) => sum + u.size, 0),
    bytesSent: rows.reduce((sum, u) => sum + Math.min(u.sent, u.size), 0),
  };
}

// Files to send now: waiting, kept here, and named by a live record whose create the server
// already has (it takes bytes only for a photo record it holds), oldest first.
async function uploadable() {
  const records = await listRecords("photo");
  const unsent = new Set(
    (await outboxEntries())
      .filter((e) => e.kind === "photo" && e.state === PENDING && e.is_create)
      .map((e) => e.id),
  );
  const pushed = new Set(records.filter((r) => !unsent.has(r.id)).map((r) => r.sha256));
  return (await uploadStates()).filter((u) => !u.complete && pushed.has(u.sha256));
}

// ------------------------------------------------------------------ sending

class Skip extends Error {
  constructor(text) {
    super(`${text.zh} / ${text.en}`);
  }
}
// The link is down or the server busy: the rest waits for the next sync, nothing lost.
class Stop extends Error {}

/** Send every photo the server lacks, after the push (registered with sync.js afterPush).
 * Resolves {photosSent, bytesSent, requests, stopped}; never throws for a bad link. */
export async function sendWaiting() {
  const report = { photosSent: 0, bytesSent: 0, requests: 0, stopped: null };
  const [server, token] = await Promise.all([getMeta("server_url"), getMeta("token")]);
  if (!server || !token) return report;
  const link = { base: `${server.replace(/\/$/, "")}/api/v1/media/`, token, report };
  for (const upload of await uploadable()) {
    const blob = await fileBlob(upload.sha256);
    const bytes = blob ? new Uint8Array(await blob.arrayBuffer()) : null;
    if (!bytes || bytes.length !== upload.size) {
      await note(upload.sha256, { error: `${MISSING.zh} / ${MISSING.en}` });
      continue;
    }
    try {
      await sendFile(link, upload.sha256, bytes);
      report.photosSent += 1;
    } catch (error) {
      if (error instanceof Stop) {
        report.stopped = error.message;
        break;
      }
      await note(upload.sha256, { error: error.message });
    }
  }
  return report;
}

async function sendFile(link, sha256, bytes) {
  let status = await ask(link, sha256);
  if (status.size === null || status.size === undefined) throw new Skip(NOT_YET);
  let offset = status.received;
  let refusals = 0;
  let busy = 0;
  let tries = 3 * (Math.floor(bytes.length / CHUNK_BYTES) + 1) + 10;
  while (!status.complete) {
    tries -= 1;
    if (tries < 0) throw new Skip(UNFINISHED);
    const chunk = bytes.slice(offset, offset + CHUNK_BYTES);
    let response;
    let answer;
    try {
      response = await request(link, sha256, {
        method: "PUT",
        query: `?offset=${offset}&size=${bytes.length}`,
        body: chunk,
        headers: {
          "Content-Type": "application/octet-stream",
          "X-Chunk-SHA256": await hex(chunk),
        },
      });
      answer = await response.json();
    } catch (_cut) {
      // A chunk cut off: ask what the server kept rather than send it blind again.
      status = await ask(link, sha256);
      offset = status.received;
      continue;
    }
    if (response.status === 200 && Number.isInteger(answer.received) && typeof answer.complete === "boolean") {
      link.report.bytesSent += Math.max(0, answer.received - offset);
      offset = answer.received;
      status = answer;
      await note(sha256, { sent: offset, complete: answer.complete, error: null });
    } else if (response.status === 409 || response.status === 200) {
      // The server holds another amount (a cut whose answer was lost), or the answer was garbled.
      status = await ask(link, sha256);
      offset = status.received;
    } else if (response.status === 422) {
      // A chunk spoilt on the way goes again; a whole thrown away starts again; a few times.
      refusals += 1;
      if (refusals > 2) throw new Skip(words(answer, response));
      status = await ask(link, sha256);
      offset = status.received;
    } else if (response.status === 429 || response.status >= 500) {
      busy += 1;
      const wait = Number(response.headers.get("Retry-After") || 2);
      if (busy > 3 || !(wait <= LONGEST_WAIT_S)) throw new Stop(words(answer, response));
      await new Promise((resolve) => setTimeout(resolve, wait * 1000));
    } else if (response.status === 401 || response.status === 426) {
      throw new Stop(words(answer, response));
    } else {
      throw new Skip(words(answer, response));
    }
  }
  await note(sha256, { sent: bytes.length, complete: true, error: null });
}

// What the server holds of a picture; a cut here stops the run (the link is down).
async function ask(link, sha256) {
  let response;
  let answer;
  try {
    response = await request(link, sha256, { method: "GET" });
    answer = await response.json();
  } catch (_cut) {
    throw new Stop("网络中断，照片下次同步续传 / the link dropped: photos resume at the next sync");
  }
  if (response.status !== 200) {
    if (response.status === 429 || response.status >= 500 || response.status === 401) {
      throw new Stop(words(answer, response));
    }
    throw new Skip(words(answer, response));
  }
  return {
    size: answer.size,
    received: Number.isInteger(answer.received) ? answer.received : 0,
    complete: answer.complete === true,
  };
}

async function request(link, sha256, { method, query = "", body = undefined, headers = {} }) {
  link.report.requests += 1;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
  try {
    return await fetch(`${link.base}${sha256}${query}`, {
      method,
      body,
      headers: {
        "X-Tianjian-Protocol": PROTOCOL_VERSION,
        Authorization: `Bearer ${link.token}`,
        ...headers,
      },
      signal: controller.signal,
      cache: "no-store",
    });
  } finally {
    clearTimeout(timer);
  }
}

function words(answer, response) {
  return String((answer && answer.message) || `HTTP ${response.status}`);
}
