// Reading a QR code on the device, for both pages (a photo on /verify; the camera and a photo on /inspect).
// The phone's own BarcodeDetector first where it has one (Android Chrome, Safari), then ZXing-C++ built to
// WebAssembly (zxing-wasm's reader): the decoder the server uses (qr/decode.py, zxing-cpp), with the server's
// fallback of a contrast stretch for dim, grey photos. The .wasm is served by us from /static/zxing/ (never the
// CDN zxing-wasm names by default) and fetched only when the first picture needs it; the page's policy allows
// compiling it with 'wasm-unsafe-eval' and nothing else.
import { prepareZXingModule, purgeZXingModule, readBarcodes, ZXING_WASM_VERSION } from "zxing-wasm/reader";
import { SCAN_PIXELS } from "../generated/constants.js";

// Both the chunk that holds this module and the page entries live one folder below /static/.
const WASM = new URL(`../zxing/zxing_reader.wasm?v=${ZXING_WASM_VERSION}`, import.meta.url).href;
const PHOTO_PIXELS = SCAN_PIXELS; // as the server (qr.decode): ~7 camera pixels per module
const FRAME_SIDE = 800; // camera frames: fast enough to read several a second on a phone

const OVERRIDES = { locateFile: (path, prefix) => (path.endsWith(".wasm") ? WASM : prefix + path) };
prepareZXingModule({ overrides: OVERRIDES });

const OPTIONS = {
  formats: ["QRCode"], tryHarder: true, tryRotate: true, tryInvert: true, tryDownscale: true, maxNumberOfSymbols: 1,
};
let native; // undefined: not asked yet; null: none, or one that cannot read QR codes

async function nativeDetector() {
  if (native !== undefined) return native;
  native = null;
  try {
    if ("BarcodeDetector" in globalThis &&
        (await globalThis.BarcodeDetector.getSupportedFormats()).includes("qr_code")) {
      native = new globalThis.BarcodeDetector({ formats: ["qr_code"] });
    }
  } catch { /* no usable detector: ZXing alone */ }
  return native;
}

function pixelsOf(source, width, height, scale) {
  const w = Math.max(1, Math.round(width * scale)), h = Math.max(1, Math.round(height * scale));
  const canvas = document.createElement("canvas");
  canvas.width = w; canvas.height = h;
  const g = canvas.getContext("2d", { willReadFrequently: true });
  g.drawImage(source, 0, 0, w, h);
  return g.getImageData(0, 0, w, h);
}

// Stretch grey levels so that the darkest and brightest 2 % of pixels become black and white (as Pillow's
// ImageOps.autocontrast(cutoff=2), the server's second try).
function autocontrast(image) {
  const d = image.data, n = d.length / 4, hist = new Uint32Array(256);
  const grey = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    grey[i] = (d[4 * i] * 77 + d[4 * i + 1] * 150 + d[4 * i + 2] * 29) >> 8;
    hist[grey[i]]++;
  }
  const cut = Math.floor(n * 0.02);
  let lo = 0, hi = 255;
  for (let s = 0; lo < 255 && s + hist[lo] <= cut; lo++) s += hist[lo];
  for (let s = 0; hi > 0 && s + hist[hi] <= cut; hi--) s += hist[hi];
  if (hi <= lo) return null;
  const out = new ImageData(image.width, image.height);
  for (let i = 0; i < n; i++) {
    const v = Math.max(0, Math.min(255, Math.round((grey[i] - lo) * 255 / (hi - lo))));
    out.data[4 * i] = out.data[4 * i + 1] = out.data[4 * i + 2] = v;
    out.data[4 * i + 3] = 255;
  }
  return out;
}

async function zxing(image) {
  let results;
  try {
    results = await readBarcodes(image, OPTIONS);
  } catch (e) {
    purgeZXingModule(); // a failed download stays failed otherwise: fetch it again next time
    prepareZXingModule({ overrides: OVERRIDES });
    throw e;
  }
  const found = results.find((r) => r.isValid);
  return found ? found.text : null;
}

async function read(image, thorough) {
  const detector = await nativeDetector();
  if (detector) {
    try {
      const codes = await detector.detect(image);
      if (codes.length) return codes[0].rawValue;
    } catch { /* fall through to ZXing */ }
  }
  const text = await zxing(image);
  if (text !== null || !thorough) return text;
  const stretched = autocontrast(image);
  return stretched ? zxing(stretched) : null;
}

// The text of the QR code in a photo (a File or Blob from an <input type=file>), or null when none is found.
export async function decodePhoto(file) {
  const bitmap = await createImageBitmap(file); // turned upright by its EXIF orientation
  try {
    const scale = Math.min(1, Math.sqrt(PHOTO_PIXELS / (bitmap.width * bitmap.height)));
    return await read(pixelsOf(bitmap, bitmap.width, bitmap.height, scale), true);
  } finally {
    bitmap.close();
  }
}

// The text of the QR code in the current frame of a playing <video>, or null.
export async function decodeFrame(video) {
  if (!video.videoWidth) return null;
  const scale = Math.min(1, FRAME_SIDE / Math.max(video.videoWidth, video.videoHeight));
  return read(pixelsOf(video, video.videoWidth, video.videoHeight, scale), false);
}

// Fetch and compile the decoder ahead of the first picture (when the camera starts).
export async function warmUp() {
  if (await nativeDetector()) return;
  await prepareZXingModule({ overrides: OVERRIDES, fireImmediately: true });
}
