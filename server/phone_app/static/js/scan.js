// Reading QR codes with the phone's rear camera: frames are decoded in a Web Worker (zxing-wasm).
import { t } from "./i18n.js";

// Frames are scaled down to this width before decoding: a card fills much of a 640 px frame,
// and a smaller image is decoded faster on a slow phone.
const FRAME_WIDTH = 640;
const WORKER_URL = new URL("./scan_worker.js", import.meta.url);

const MESSAGES = {
  unsupported: {
    zh: "此浏览器不能使用相机，请用 Chrome 或系统浏览器打开，或手动输入",
    en: "This browser cannot use the camera: open the app in Chrome or the phone's browser, or type the code",
  },
  denied: {
    zh: "相机权限被拒绝：请在浏览器的网站设置中允许使用相机，或手动输入",
    en: "Camera permission was refused: allow the camera in the browser's site settings, or type the code",
  },
  no_camera: {
    zh: "没有找到相机，请手动输入",
    en: "No camera was found on this phone: type the code instead",
  },
  busy: {
    zh: "相机正被其他应用使用，请关闭其他应用后重试",
    en: "Another app is using the camera: close it and try again",
  },
  decoder: {
    zh: "二维码识别组件无法加载，请重新打开应用，或手动输入",
    en: "The QR reader could not load: reopen the app, or type the code",
  },
  aiming: {
    zh: "请将二维码对准取景框",
    en: "Hold the QR code inside the frame",
  },
};

/** A scan that could not run; `code` says why, `message` says it in the chosen language. */
export class ScanError extends Error {
  constructor(code) {
    super(t(MESSAGES[code]));
    this.name = "ScanError";
    this.code = code;
  }
}

/** True when this browser can open a camera and run the decoder. */
export function scanAvailable() {
  return Boolean(
    globalThis.isSecureContext &&
      navigator.mediaDevices &&
      typeof navigator.mediaDevices.getUserMedia === "function" &&
      typeof Worker === "function" &&
      typeof WebAssembly === "object",
  );
}

// One decoder thread for the app's life: the .wasm is compiled once, not at every scan.
let decoder = null;

function getDecoder() {
  if (decoder) {
    return decoder;
  }
  const worker = new Worker(WORKER_URL);
  const waiting = new Map();
  let next = 0;
  worker.onmessage = (event) => {
    const answer = event.data;
    const settle = waiting.get(answer.id);
    waiting.delete(answer.id);
    if (settle) {
      settle(answer);
    }
  };
  worker.onerror = () => {
    // The script or .wasm failed to load: every waiting frame hears so, the next scan retries.
    for (const settle of waiting.values()) {
      settle({ error: "worker" });
    }
    waiting.clear();
    decoder = null;
    worker.terminate();
  };
  decoder = {
    send(message, transfer) {
      next += 1;
      const id = next;
      return new Promise((resolve) => {
        waiting.set(id, resolve);
        worker.postMessage({ ...message, id }, transfer || []);
      });
    },
  };
  return decoder;
}

function cameraError(error) {
  const name = error && error.name;
  if (name === "NotAllowedError" || name === "SecurityError") {
    return new ScanError("denied");
  }
  if (name === "NotFoundError" || name === "OverconstrainedError" || name === "DevicesNotFoundError") {
    return new ScanError("no_camera");
  }
  if (name === "NotReadableError" || name === "TrackStartError" || name === "AbortError") {
    return new ScanError("busy");
  }
  return new ScanError("no_camera");
}

function aborted() {
  return new DOMException(t({ zh: "扫描已取消", en: "Scanning was cancelled" }), "AbortError");
}

function showMessage(container, text, kind) {
  let line = container.querySelector(".scan-message");
  if (!line) {
    line = document.createElement("p");
    line.className = "scan-message";
    line.setAttribute("role", "status");
    container.append(line);
  }
  line.textContent = text;
  line.dataset.kind = kind;
}

function nextFrame(video) {
  // Decode each new camera picture once; browsers without the callback poll at ~15 a second.
  // The timer also wakes a loop whose video stopped painting (its screen was taken away).
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, typeof video.requestVideoFrameCallback === "function" ? 500 : 66);
    if (typeof video.requestVideoFrameCallback === "function") {
      video.requestVideoFrameCallback(() => {
        clearTimeout(timer);
        resolve();
      });
    }
  });
}

/**
 * Open the rear camera in `container`, resolve with the first QR code's text, stop the camera.
 * Rejects with ScanError (no camera, permission refused, decoder missing) or, when `signal`
 * aborts, with an AbortError; the camera is stopped either way.
 */
export function scanQr(container, { signal } = {}) {
  return runCamera(container, signal, () => true);
}

/**
 * Keep the camera open and call `onText(text)` (it may return a promise) for each QR read,
 * the same text again only after `holdMs` without it (a card held still is one card). Runs
 * until `signal` aborts (then rejects with an AbortError) or a ScanError; the camera stops.
 */
export function scanEach(container, { signal, onText, holdMs = 3000 } = {}) {
  let last = null;
  let lastSeen = 0;
  return runCamera(container, signal, async (text) => {
    const now = performance.now();
    const again = text === last && now - lastSeen < holdMs;
    lastSeen = now;
    last = text;
    if (!again) {
      await onText(text);
    }
    return false;
  });
}

async function runCamera(container, signal, handle) {
  if (signal && signal.aborted) {
    throw aborted();
  }
  if (!scanAvailable()) {
    const error = new ScanError("unsupported");
    showMessage(container, error.message, "error");
    throw error;
  }
  const worker = getDecoder();
  const warmed = worker.send({ type: "warm" });
  let stream = null;
  const video = document.createElement("video");
  video.className = "scan-video";
  video.muted = true;
  video.playsInline = true;
  video.setAttribute("playsinline", "");
  let stopped = false;
  let wake = null;
  // Settles when the scan stops, so no wait (a frame, the decoder) outlives an abort.
  const stopping = new Promise((resolve) => {
    wake = resolve;
  });
  const stop = () => {
    stopped = true;
    wake();
    if (stream) {
      for (const track of stream.getTracks()) {
        track.stop();
      }
    }
    video.srcObject = null;
    video.remove();
  };
  const onAbort = () => stop();
  if (signal) {
    signal.addEventListener("abort", onAbort, { once: true });
  }
  try {
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: false,
        video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } },
      });
    } catch (error) {
      if (stopped) {
        throw aborted();
      }
      throw cameraError(error);
    }
    if (stopped) {
      // Aborted while the permission prompt was up: the camera must not stay on.
      stop();
      throw aborted();
    }
    video.srcObject = stream;
    container.prepend(video);
    showMessage(container, t(MESSAGES.aiming), "aiming");
    try {
      await video.play();
    } catch (error) {
      throw stopped ? aborted() : cameraError(error);
    }
    const ready = await Promise.race([warmed, stopping]);
    if (stopped) {
      throw aborted();
    }
    if (ready.error) {
      throw new ScanError("decoder");
    }
    const canvas = document.createElement("canvas");
    const context = canvas.getContext("2d", { willReadFrequently: true });
    let frames = 0;
    while (!stopped) {
      await Promise.race([nextFrame(video), stopping]);
      if (!container.isConnected) {
        // The screen was redrawn or left: its camera must not run on unseen.
        break;
      }
      if (stopped || !video.videoWidth) {
        continue;
      }
      const scale = Math.min(1, FRAME_WIDTH / video.videoWidth);
      canvas.width = Math.round(video.videoWidth * scale);
      canvas.height = Math.round(video.videoHeight * scale);
      context.drawImage(video, 0, 0, canvas.width, canvas.height);
      const pixels = context.getImageData(0, 0, canvas.width, canvas.height);
      const answer = await Promise.race([
        worker.send(
          { type: "decode", width: pixels.width, height: pixels.height, buffer: pixels.data.buffer },
          [pixels.data.buffer],
        ),
        stopping,
      ]);
      if (stopped) {
        break;
      }
      frames += 1;
      container.dataset.scanFrames = String(frames);
      if (answer.error) {
        throw new ScanError("decoder");
      }
      if (answer.text !== null && (await handle(answer.text))) {
        return answer.text;
      }
    }
    throw aborted();
  } catch (error) {
    if (error instanceof ScanError) {
      showMessage(container, error.message, "error");
    }
    throw error;
  } finally {
    if (signal) {
      signal.removeEventListener("abort", onAbort);
    }
    stop();
  }
}
