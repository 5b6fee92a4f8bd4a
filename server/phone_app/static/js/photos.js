// Photos of a session or a plot observation as evidence (issue 21's rules): reduced on the
// phone (photo_reduce.js), placed by the camera's EXIF GPS or else the phone's own position
// with its accuracy, recorded through store.js with its outbox change in one transaction, and
// the bytes sent after the push (photo_upload.js). Photos of people are personal information:
// the screen says so where photos are taken, as the field client's pages do.
import { navigate, onSynced, refresh, registerScreen, toast } from "./app.js";
import { half, t } from "./i18n.js";
import { fileThumb, forgetFiles, keepFile, sendWaiting, uploadStates, waiting } from "./photo_upload.js";
import { PhotoRefused, reducePhoto } from "./photo_reduce.js";
import { deleteRecord, getMeta, listRecords, listReference, saveRecord } from "./store.js";
import { afterPush } from "./sync.js";
import {
  chinaText,
  choiceWords,
  currentPosition,
  el,
  live,
  loadRules,
  mayRecordAt,
  myEnvoyId,
  say,
  select,
  sessionLabel,
  toIso,
  unitNames,
} from "./more_common.js";

import { PHOTO } from "./protocol.js";

const W = {
  title: { zh: "照片", en: "Photos" },
  choose: { zh: "给哪条记录拍照？", en: "Which record is the photo of?" },
  sessions: { zh: "我的培训", en: "My sessions" },
  observations: { zh: "我的示范田观察", en: "My plot observations" },
  none: { zh: "还没有可加照片的记录。", en: "No records to add photos to yet." },
  pipl: {
    zh: "人物照片属于个人信息：只拍记录需要的内容（现场、签到表、展板）。不要求拍农民的脸；近距离拍人前请先征得同意。",
    en: "Photos of people are personal information: take only what the record needs (the site, the sign-in sheet, the boards). Farmers' faces are never required; ask before photographing anyone up close.",
  },
  kind: { zh: "照片类型", en: "What it shows" },
  note: { zh: "说明（可不填）", en: "Note (optional)" },
  take: { zh: "拍照或选择照片", en: "Take or choose a photo" },
  working: { zh: "正在处理照片…", en: "Reducing the photo…" },
  added: { zh: "照片已保存，下次同步时上传。", en: "Photo added; it is sent at the next sync." },
  again: { zh: "这张照片已经有了。", en: "This photo was there already." },
  noPlace: {
    zh: "照片已保存，但没有位置：",
    en: "Photo added without a place: ",
  },
  notYours: {
    zh: "只能给自己主持或协办的培训、自己的观察记录加照片",
    en: "photos go only on your own sessions and observations",
  },
  notFound: { zh: "找不到这条记录。", en: "No such record." },
  sent: { zh: "已上传", en: "sent" },
  onServer: { zh: "照片在服务器上", en: "kept on the server" },
  delete: { zh: "删除", en: "Delete" },
  deleteAsk: {
    zh: "删除这张照片？删除记录会同步到服务器。",
    en: "Delete this photo? The deletion syncs to the server.",
  },
  deleted: { zh: "照片已删除。", en: "Photo deleted." },
  noTime: { zh: "无拍摄时间", en: "no time taken" },
  noPosition: { zh: "无位置", en: "no place" },
  back: { zh: "选择其他记录", en: "Another record" },
};

// ------------------------------------------------------------------ recording

// The device's own time as the field client's store.best_now_iso gives it: the clock
// corrected by the offset the server told at enrolment.
async function recordedAt() {
  const offset = Number((await getMeta("clock_offset_ms", 0)) || 0);
  return toIso(new Date(Date.now() + offset));
}

/** Record a photo of a subject from a chosen file: refused whole (nothing written) when the
 * file is not an image it can take. Resolves {record, isNew, position}. */
export async function addPhoto(subjectKind, subjectId, file, photoKind, note, rules, positionWanted) {
  const reduced = await reducePhoto(file, rules.photos);
  const same = (await listRecords(PHOTO)).find(
    (r) => r.subject_kind === subjectKind && r.subject_id === subjectId && r.sha256 === reduced.sha256,
  );
  if (same) return { record: same, isNew: false, position: null };
  // The camera's own GPS says where the picture was taken; else where the phone is now.
  let position = null;
  let place = { latitude: null, longitude: null, accuracy_m: null };
  if (reduced.latitude !== null) {
    place = { latitude: reduced.latitude, longitude: reduced.longitude, accuracy_m: reduced.accuracyM };
  } else {
    position = await positionWanted;
    if (!position.problem) {
      place = { latitude: position.latitude, longitude: position.longitude, accuracy_m: position.accuracy };
    }
  }
  // Bytes first, then the record with its outbox change: a record never names bytes not here.
  await keepFile(reduced.sha256, reduced.blob, reduced.thumb);
  const record = await saveRecord(PHOTO, {
    subject_kind: subjectKind,
    subject_id: subjectId,
    photo_kind: photoKind,
    sha256: reduced.sha256,
    size_bytes: reduced.bytes.length,
    width: reduced.width,
    height: reduced.height,
    taken_at: reduced.takenAt,
    recorded_at: await recordedAt(),
    ...place,
    note: note || null,
  });
  return { record, isNew: true, position };
}

// ------------------------------------------------------------------ the screen

async function subjectOf(kind, id, envoyId) {
  if (kind === "session") {
    const [sessions, units] = await Promise.all([listRecords("session"), listReference("unit")]);
    const s = sessions.find((x) => x.id === id);
    if (!s) return null;
    return { label: sessionLabel(s, unitNames(units)), mine: mayRecordAt(s, envoyId) };
  }
  if (kind === "observation") {
    const [observations, plots] = await Promise.all([listRecords("plot_observation"), listRecords("plot")]);
    const o = observations.find((x) => x.id === id);
    if (!o) return null;
    const plot = plots.find((p) => p.id === o.plot_id);
    const label = [plot ? `${plot.host_name} · ${plot.crop}` : "", o.observed_on].filter(Boolean).join(" · ");
    return { label, mine: o.envoy_id === envoyId };
  }
  return null;
}

async function render(root, params = {}) {
  root.replaceChildren();
  root.classList.add("more-screen");
  const [envoyId, rules] = await Promise.all([myEnvoyId(), loadRules()]);
  if (!params.subject_kind || !params.subject_id) {
    root.append(await chooser(envoyId));
    return;
  }
  const subject = await subjectOf(params.subject_kind, params.subject_id, envoyId);
  if (!subject) {
    root.append(el("p", {}, t(W.notFound)));
    return;
  }
  root.append(
    el("p", {}, el("a", { href: "#", onclick: (e) => (e.preventDefault(), navigate("photos", {})) }, t(W.back))),
    el("h1", { className: "more-subject" }, subject.label),
    el("p", { className: "more-message more-notice", id: "pipl-notice" }, t(W.pipl)),
  );
  if (subject.mine) root.append(photoForm(root, params, rules));
  else root.append(el("p", { className: "more-message more-warn" }, t(W.notYours)));
  root.append(await waitingLine(), await gallery(params, rules, envoyId));
}

async function chooser(envoyId) {
  const [sessions, units, observations, plots] = await Promise.all([
    listRecords("session"),
    listReference("unit"),
    listRecords("plot_observation"),
    listRecords("plot"),
  ]);
  const names = unitNames(units);
  const box = el("section", { className: "card" }, el("h1", {}, t(W.choose)));
  const mine = live(sessions)
    .filter((s) => mayRecordAt(s, envoyId))
    .sort((a, b) => String(b.starts_at || "").localeCompare(String(a.starts_at || "")))
    .slice(0, 30);
  const plotNames = Object.fromEntries(plots.map((p) => [p.id, `${p.host_name} · ${p.crop}`]));
  const seen = live(observations)
    .filter((o) => o.envoy_id === envoyId)
    .sort((a, b) => String(b.observed_on || "").localeCompare(String(a.observed_on || "")))
    .slice(0, 30);
  const link = (kind, id, label) =>
    el(
      "li",
      {},
      el("a", { href: "#", "data-subject": id, onclick: (e) => (e.preventDefault(), navigate("photos", { subject_kind: kind, subject_id: id })) }, label),
    );
  if (!mine.length && !seen.length) box.append(el("p", {}, t(W.none)));
  if (mine.length) {
    box.append(el("h2", {}, t(W.sessions)), el("ul", { className: "list" }, mine.map((s) => link("session", s.id, sessionLabel(s, names)))));
  }
  if (seen.length) {
    box.append(
      el("h2", {}, t(W.observations)),
      el("ul", { className: "list" }, seen.map((o) => link("observation", o.id, `${plotNames[o.plot_id] || ""} · ${o.observed_on}`))),
    );
  }
  return box;
}

function photoForm(root, params, rules) {
  const kinds = rules.photo_kinds_of_subject[params.subject_kind] || [];
  const message = el("p", { hidden: true, id: "photo-message" });
  const kind = select(
    { id: "photo-kind", name: "photo_kind" },
    kinds.map((code) => ({ value: code, label: t(choiceWords(rules, "photo_kind", code)) })),
  );
  const note = el("input", { id: "photo-note", name: "note", maxlength: 500 });
  const input = el("input", { id: "photo-file", type: "file", accept: "image/*", capture: "environment" });
  input.addEventListener("change", async () => {
    const file = input.files && input.files[0];
    if (!file) return;
    // Asked at once, so the position is found while the photo is reduced.
    const position = currentPosition();
    say(message, W.working, "done");
    input.disabled = true;
    try {
      const added = await addPhoto(params.subject_kind, params.subject_id, file, kind.value, note.value.trim(), rules, position);
      await render(root, params);
      const box = root.querySelector("#photo-message");
      if (!added.isNew) say(box, W.again, "warn");
      else if (added.record.latitude === null) {
        const why = added.position?.problem || { zh: "", en: "" };
        say(box, { zh: W.noPlace.zh + why.zh, en: W.noPlace.en + why.en }, "warn");
      } else say(box, W.added, "done");
      toast(added.isNew ? W.added : W.again);
    } catch (error) {
      input.disabled = false;
      input.value = "";
      say(message, error instanceof PhotoRefused ? error.text : { zh: half(error.message), en: half(error.message) }, "refused");
    }
  });
  return el(
    "form",
    { id: "photo-form", className: "card", novalidate: true, onsubmit: (e) => e.preventDefault() },
    message,
    el("label", { className: "field" }, el("span", {}, t(W.kind)), kind),
    el("label", { className: "field" }, el("span", {}, t(W.note)), note),
    // The native file button speaks the browser's language: a labelled button of ours instead.
    el("label", { className: "more-camera primary", id: "photo-take" }, t(W.take), input),
  );
}

async function waitingLine() {
  const w = await waiting();
  const kb = (n) => Math.ceil(n / 1024);
  return el(
    "p",
    { id: "photo-waiting", className: "more-hint" },
    t({
      zh: `等待上传的照片：${w.photos} 张（已传 ${kb(w.bytesSent)} / ${kb(w.bytesTotal)} KB）`,
      en: `Photos waiting to be sent: ${w.photos} (${kb(w.bytesSent)} of ${kb(w.bytesTotal)} KB sent)`,
    }),
  );
}

async function gallery(params, rules, envoyId) {
  const photos = (await listRecords(PHOTO))
    .filter((r) => r.subject_kind === params.subject_kind && r.subject_id === params.subject_id)
    .sort((a, b) => String(b.recorded_at || "").localeCompare(String(a.recorded_at || "")));
  const states = Object.fromEntries((await uploadStates()).map((u) => [u.sha256, u]));
  const list = el("ul", { className: "more-gallery", id: "photo-gallery" });
  for (const r of photos) {
    const thumb = await fileThumb(r.sha256);
    const state = states[r.sha256];
    const place =
      r.latitude !== null && r.latitude !== undefined
        ? `${r.latitude.toFixed(5)}, ${r.longitude.toFixed(5)}${r.accuracy_m != null ? ` ±${Math.round(r.accuracy_m)} m` : ""}`
        : t(W.noPosition);
    let upload = t(W.onServer);
    if (state && state.complete) upload = t(W.sent);
    else if (state) {
      upload = t({
        zh: `等待上传 ${Math.ceil(state.sent / 1024)}/${Math.ceil(state.size / 1024)} KB`,
        en: `waiting, ${Math.ceil(state.sent / 1024)} of ${Math.ceil(state.size / 1024)} KB sent`,
      });
      if (state.error) upload += ` · ${half(state.error)}`;
    }
    const item = el(
      "li",
      { "data-id": r.id, "data-sha256": r.sha256 },
      thumb ? el("img", { src: thumb, alt: t(choiceWords(rules, "photo_kind", r.photo_kind)), width: 160 }) : null,
      el(
        "div",
        {},
        el("strong", {}, t(choiceWords(rules, "photo_kind", r.photo_kind))),
        el("div", { className: "photo-time" }, r.taken_at ? chinaText(r.taken_at) : t(W.noTime)),
        el("div", { className: "photo-place" }, place),
        el("div", { className: "photo-upload" }, upload),
        r.note ? el("div", {}, r.note) : null,
      ),
    );
    if (r.envoy_id === envoyId) {
      item.append(
        el(
          "button",
          {
            type: "button",
            className: "more-secondary photo-delete",
            onclick: async () => {
              if (!window.confirm(t(W.deleteAsk))) return;
              await deleteRecord(PHOTO, r.id);
              await forgetFiles([r.sha256]);
              toast(W.deleted);
              refresh();
            },
          },
          t(W.delete),
        ),
      );
    }
    list.append(item);
  }
  return list;
}

// ------------------------------------------------------------------ after each push

afterPush(async (report) => {
  const sent = await sendWaiting();
  // In the sync's report, for the outbox screen: photos and bytes sent this time.
  report.photosSent = sent.photosSent;
  report.photoBytesSent = sent.bytesSent;
  report.photoRequests = sent.requests;
  if (sent.stopped) report.photosStopped = sent.stopped;
  // Bytes of photos deleted elsewhere (a session deleted with its photos) leave the phone.
  await forgetFiles((await uploadStates()).map((u) => u.sha256));
});
onSynced(() => {
  if (location.hash.startsWith("#photos")) refresh();
});

registerScreen("photos", { title: W.title, render, menu: true, order: 60 });
