// A photo reduced on the phone as shared/photos.py reduces it on the laptop: only JPEG, PNG or
// WebP within Pillow's pixel limit (judged from the header, before decoding), turned upright,
// long side at most MAX_SIDE, JPEG quality searched for the highest not over TARGET_BYTES,
// transparent parts on white; the canvas re-encode carries no metadata, so EXIF, GPS, XMP and
// comments are gone from the bytes, and the EXIF time and place are returned as fields.

const TIFF_ASCII = 2;
const TIFF_RATIONAL = 5;
const EXIF_IFD = 0x8769;
const GPS_IFD = 0x8825;
const DATETIME_ORIGINAL = 0x9003;
const OFFSET_TIME_ORIGINAL = 0x9011;
const GPS_LAT_REF = 1;
const GPS_LAT = 2;
const GPS_LON_REF = 3;
const GPS_LON = 4;
const GPS_H_ERROR = 31;
const ORIENTATION = 0x0112;

/** A refusal of the file itself, with the words the laptop's shared/errors.py gives. */
export class PhotoRefused extends Error {
  constructor(text) {
    super(`${text.zh} / ${text.en}`);
    this.text = text;
  }
}

const NOT_AN_IMAGE = {
  zh: "不是可用的照片（只收 JPEG、PNG、WebP）",
  en: "not a photo this app takes (JPEG, PNG or WebP only)",
};
const DAMAGED = { zh: "照片文件已损坏或不完整", en: "the photo file is damaged or cut short" };

// ------------------------------------------------------------------ the header

/** The format and pixel size from the file's first bytes, or null when it is none of the three. */
export function sniff(bytes) {
  const b = bytes;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length >= 24 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) {
    return { format: "PNG", width: view.getUint32(16), height: view.getUint32(20) };
  }
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) return { format: "JPEG", ...jpegSize(b, view) };
  const text = (at, n) => String.fromCharCode(...b.subarray(at, at + n));
  if (b.length >= 30 && text(0, 4) === "RIFF" && text(8, 4) === "WEBP") {
    const chunk = text(12, 4);
    if (chunk === "VP8X") {
      const w = 1 + (b[24] | (b[25] << 8) | (b[26] << 16));
      const h = 1 + (b[27] | (b[28] << 8) | (b[29] << 16));
      return { format: "WEBP", width: w, height: h };
    }
    if (chunk === "VP8 ") {
      return { format: "WEBP", width: view.getUint16(26, true) & 0x3fff, height: view.getUint16(28, true) & 0x3fff };
    }
    if (chunk === "VP8L") {
      const bits = view.getUint32(21, true);
      return { format: "WEBP", width: (bits & 0x3fff) + 1, height: ((bits >> 14) & 0x3fff) + 1 };
    }
    return { format: "WEBP", width: 0, height: 0 };
  }
  return null;
}

function jpegSize(b, view) {
  let at = 2;
  while (at + 9 < b.length) {
    if (b[at] !== 0xff) return { width: 0, height: 0 };
    const marker = b[at + 1];
    if (marker === 0xff) {
      at += 1;
      continue;
    }
    const length = view.getUint16(at + 2);
    // Start-of-frame markers (C0–CF but not C4 DHT, C8, CC DAC) carry the size.
    if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker)) {
      return { height: view.getUint16(at + 5), width: view.getUint16(at + 7) };
    }
    at += 2 + length;
  }
  return { width: 0, height: 0 };
}

// Whether the file runs to its format's end, as Pillow's load() insists (a browser would draw a
// photo cut short with a grey lower half): a JPEG's end-of-image marker, a PNG's IEND chunk,
// a WebP's RIFF length.
function isWhole(format, b) {
  if (format === "JPEG") {
    let end = b.length;
    while (end > 2 && b[end - 1] === 0) end -= 1; // padding some cameras add
    return end >= 4 && b[end - 2] === 0xff && b[end - 1] === 0xd9;
  }
  if (format === "PNG") {
    const tail = String.fromCharCode(...b.subarray(Math.max(0, b.length - 12)));
    return tail.includes("IEND");
  }
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return view.getUint32(4, true) + 8 <= b.length;
}

// ------------------------------------------------------------------ EXIF

/** The EXIF time and place of a JPEG (shared/photos.py _taken_at and _place): takenAt as UTC
 * ISO text (China time when the camera wrote no offset), latitude/longitude/accuracyM. */
export function readExif(bytes) {
  const found = { takenAt: null, latitude: null, longitude: null, accuracyM: null, orientation: 1 };
  try {
    const tiff = exifTiff(bytes);
    if (!tiff) return found;
    const ifd0 = readIfd(tiff, tiff.first);
    found.orientation = ifd0.get(ORIENTATION)?.value?.[0] || 1;
    const inner = ifd0.get(EXIF_IFD) ? readIfd(tiff, ifd0.get(EXIF_IFD).value[0]) : new Map();
    found.takenAt = takenAt(inner.get(DATETIME_ORIGINAL)?.value, inner.get(OFFSET_TIME_ORIGINAL)?.value);
    const gps = ifd0.get(GPS_IFD) ? readIfd(tiff, ifd0.get(GPS_IFD).value[0]) : new Map();
    const lat = degrees(gps.get(GPS_LAT)?.value, gps.get(GPS_LAT_REF)?.value, "S", 90);
    const lon = degrees(gps.get(GPS_LON)?.value, gps.get(GPS_LON_REF)?.value, "W", 180);
    if (lat !== null && lon !== null) {
      found.latitude = lat;
      found.longitude = lon;
      const error = gps.get(GPS_H_ERROR)?.value?.[0];
      found.accuracyM = Number.isFinite(error) && error >= 0 && error <= 100000 ? error : null;
    }
  } catch (_damaged) {
    // EXIF that cannot be read is EXIF that is not there: nothing is made up.
  }
  return found;
}

function exifTiff(b) {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b[0] !== 0xff || b[1] !== 0xd8) return null;
  let at = 2;
  while (at + 4 < b.length && b[at] === 0xff) {
    const marker = b[at + 1];
    const length = view.getUint16(at + 2);
    if (marker === 0xda) return null; // image data begins: no EXIF before it
    if (marker === 0xe1 && String.fromCharCode(...b.subarray(at + 4, at + 10)) === "Exif\0\0") {
      const start = at + 10;
      const little = b[start] === 0x49;
      const tiffView = new DataView(b.buffer, b.byteOffset + start, Math.min(length - 8, b.length - start));
      return { view: tiffView, little, first: tiffView.getUint32(4, little) };
    }
    at += 2 + length;
  }
  return null;
}

function readIfd(tiff, offset) {
  const { view, little } = tiff;
  const entries = new Map();
  const count = view.getUint16(offset, little);
  for (let i = 0; i < count && i < 500; i += 1) {
    const at = offset + 2 + i * 12;
    const tag = view.getUint16(at, little);
    const type = view.getUint16(at + 2, little);
    const n = view.getUint32(at + 4, little);
    const sizes = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1, 9: 4, 10: 8 };
    const size = (sizes[type] || 1) * n;
    const where = size <= 4 ? at + 8 : view.getUint32(at + 8, little);
    entries.set(tag, { type, value: readValue(view, little, type, n, where) });
  }
  return entries;
}

function readValue(view, little, type, n, at) {
  if (type === TIFF_ASCII) {
    let text = "";
    for (let i = 0; i < n; i += 1) text += String.fromCharCode(view.getUint8(at + i));
    return text.replace(/[\0 ]+$/, "");
  }
  const values = [];
  for (let i = 0; i < Math.min(n, 16); i += 1) {
    if (type === TIFF_RATIONAL) {
      const den = view.getUint32(at + i * 8 + 4, little);
      values.push(den ? view.getUint32(at + i * 8, little) / den : Number.NaN);
    } else if (type === 3) values.push(view.getUint16(at + i * 2, little));
    else if (type === 4) values.push(view.getUint32(at + i * 4, little));
    else values.push(view.getUint8(at + i));
  }
  return values;
}

function takenAt(text, offset) {
  if (typeof text !== "string") return null;
  const m = /^(\d{4}):(\d\d):(\d\d) (\d\d):(\d\d):(\d\d)/.exec(text);
  if (!m) return null;
  const year = Number(m[1]);
  if (year < 1990 || year > 2200) return null;
  const zone = typeof offset === "string" && /^[+-]\d\d:\d\d$/.test(offset) ? offset : "+08:00";
  const date = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${zone}`);
  if (Number.isNaN(date.getTime())) return null;
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function degrees(value, ref, negative, bound) {
  if (!Array.isArray(value) || value.length !== 3 || !value.every(Number.isFinite)) return null;
  let result = value[0] + value[1] / 60 + value[2] / 3600;
  if (ref === negative) result = -result;
  if (result < -bound || result > bound) return null;
  return Math.round(result * 1e7) / 1e7;
}

// ------------------------------------------------------------------ reducing

/** Check and reduce a chosen file with the rules' sizes (server/phone_app/rules.py "photos").
 * Resolves {blob, bytes, width, height, thumb, sha256, takenAt, latitude, longitude,
 * accuracyM}; `thumb` a data: URL of a 320 px copy for lists. */
export async function reducePhoto(file, limits) {
  if (file.size > limits.max_photo_bytes) {
    const kb = Math.floor(file.size / 1024);
    const most = Math.floor(limits.max_photo_bytes / 1024);
    throw new PhotoRefused({
      zh: `照片文件太大（${kb} KB，最多 ${most} KB）`,
      en: `the photo file is too large (${kb} KB, at most ${most} KB)`,
    });
  }
  const original = new Uint8Array(await file.arrayBuffer());
  const header = original.length ? sniff(original) : null;
  if (!header) throw new PhotoRefused(NOT_AN_IMAGE);
  if (!header.width || !header.height || !isWhole(header.format, original)) {
    throw new PhotoRefused(DAMAGED);
  }
  if (header.width * header.height > limits.max_pixels) {
    const mp = (limits.max_pixels / 1e6).toFixed(1);
    throw new PhotoRefused({
      zh: `图片像素太多${header.width}×${header.height}（最多 ${mp} 百万像素），请用较低分辨率拍摄`,
      en: `the image has too many pixels ${header.width}×${header.height} (at most ${mp} megapixels): take it at a lower resolution`,
    });
  }
  const exif =
    header.format === "JPEG"
      ? readExif(original)
      : { takenAt: null, latitude: null, longitude: null, accuracyM: null, orientation: 1 };
  const bitmap = await decodeUpright(original, header, exif.orientation, limits.max_side);
  const scale = Math.min(1, limits.max_side / Math.max(bitmap.width, bitmap.height));
  const width = Math.max(1, Math.round(bitmap.width * scale));
  const height = Math.max(1, Math.round(bitmap.height * scale));
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d");
  // Transparent parts on white, as paper shows them.
  context.fillStyle = "#fff";
  context.fillRect(0, 0, width, height);
  context.imageSmoothingQuality = "high";
  context.drawImage(bitmap, 0, 0, width, height);
  bitmap.close();
  const blob = await encodeNear(canvas, limits);
  const thumb = thumbnail(canvas);
  canvas.width = 0; // let the pixels go now, on a phone with little memory
  if (blob.size > limits.max_reduced_bytes) throw new PhotoRefused(DAMAGED);
  const bytes = new Uint8Array(await blob.arrayBuffer());
  return { blob, bytes, width, height, thumb, sha256: await sha256Hex(bytes), ...exif };
}

// As field_client/photos.py THUMB_SIDE: small enough that a dozen show at once. A data: URL,
// which the app's content security policy allows for images (blob: it does not).
const THUMB_SIDE = 320;

function thumbnail(canvas) {
  const scale = Math.min(1, THUMB_SIDE / Math.max(canvas.width, canvas.height));
  const small = document.createElement("canvas");
  small.width = Math.max(1, Math.round(canvas.width * scale));
  small.height = Math.max(1, Math.round(canvas.height * scale));
  const context = small.getContext("2d");
  context.imageSmoothingQuality = "high";
  context.drawImage(canvas, 0, 0, small.width, small.height);
  const url = small.toDataURL("image/jpeg", 0.7);
  small.width = 0;
  return url;
}

// The pixels turned upright by the EXIF orientation ("from-image", as ImageOps.exif_transpose
// does), decoded straight at the size kept when the photo is larger: a 50-megapixel photo
// then never takes 200 MB (Pillow's draft mode, for the same reason).
async function decodeUpright(original, header, orientation, maxSide) {
  const turned = orientation >= 5 && orientation <= 8;
  const [w, h] = turned ? [header.height, header.width] : [header.width, header.height];
  const scale = Math.min(1, maxSide / Math.max(w, h));
  const options = { imageOrientation: "from-image" };
  const wanted = [Math.max(1, Math.round(w * scale)), Math.max(1, Math.round(h * scale))];
  try {
    if (scale < 1) {
      const small = await createImageBitmap(new Blob([original]), {
        ...options,
        resizeWidth: wanted[0],
        resizeHeight: wanted[1],
        resizeQuality: "high",
      });
      // Sized after turning, the shape is the one wanted; sized before, it comes out crosswise
      // (and squeezed): then decoded whole and scaled on the canvas instead.
      if (small.width === wanted[0] && small.height === wanted[1]) return small;
      small.close();
    }
    return await createImageBitmap(new Blob([original]), options);
  } catch (_error) {
    throw new PhotoRefused(DAMAGED);
  }
}

function jpeg(canvas, quality) {
  return new Promise((resolve, reject) =>
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new PhotoRefused(DAMAGED))), "image/jpeg", quality / 100),
  );
}

// The JPEG at the highest quality not over the target (the lowest when none is): the same
// search as shared/photos.py _encode_near.
async function encodeNear(canvas, limits) {
  let low = limits.min_quality;
  let high = limits.max_quality;
  let best = await jpeg(canvas, low);
  if (best.size > limits.target_bytes) return best;
  while (low < high) {
    const middle = Math.floor((low + high + 1) / 2);
    const attempt = await jpeg(canvas, middle);
    if (attempt.size <= limits.target_bytes) {
      low = middle;
      best = attempt;
    } else {
      high = middle - 1;
    }
  }
  return best;
}

export async function sha256Hex(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...digest].map((x) => x.toString(16).padStart(2, "0")).join("");
}
