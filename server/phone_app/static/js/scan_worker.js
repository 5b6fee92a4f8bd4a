// The QR decoder's thread: camera frames in, the first QR text out (zxing-wasm, vendored).
// A classic worker (importScripts): the vendored IIFE build defines the global ZXingWASM.
/* global ZXingWASM */
"use strict";

importScripts("../vendor/zxing-wasm/zxing-reader.js");

// The .wasm sits beside the script on this server: never the package's default CDN address.
ZXingWASM.prepareZXingModule({
  overrides: {
    locateFile: function (path) {
      return new URL("../vendor/zxing-wasm/" + path, self.location.href).href;
    },
  },
});

// QR only (faster than every format); tryHarder finds small, tilted or blurred cards, which
// cheap phone cameras in a dim hall give, at a few milliseconds a frame.
var OPTIONS = { formats: ["QRCode"], maxNumberOfSymbols: 1, tryHarder: true };

self.onmessage = function (event) {
  var frame = event.data;
  if (frame.type === "warm") {
    // Compile the decoder while the camera starts, so the first frame is decoded at once.
    ZXingWASM.prepareZXingModule({ fireImmediately: true }).then(
      function () { self.postMessage({ id: frame.id, text: null }); },
      function (error) { self.postMessage({ id: frame.id, error: String(error) }); },
    );
    return;
  }
  var image = new ImageData(new Uint8ClampedArray(frame.buffer), frame.width, frame.height);
  ZXingWASM.readBarcodes(image, OPTIONS).then(
    function (found) {
      var text = found.length && found[0].isValid ? found[0].text : null;
      self.postMessage({ id: frame.id, text: text, buffer: frame.buffer }, [frame.buffer]);
    },
    function (error) {
      self.postMessage({ id: frame.id, error: String(error) });
    },
  );
};
