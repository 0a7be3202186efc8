// Decoding on the UI thread with the browser's own decoders, by the same rules as
// `takeback hash`: EXIF orientation applied, no colour conversion, transparency on white.
// HEIF photos the browser cannot decode go to libheif (heic/), by the same rules.
import { decodeHeif } from "./heic/heic";
import { sniff, type Sniffed } from "./sniff";

export type DecodeProblem = "empty" | "undecodable" | "damaged" | "too_small" | "too_large" | "video_undecodable";

export class DecodeError extends Error {
  constructor(readonly problem: DecodeProblem) {
    super(problem);
  }
}

export interface Decoded {
  width: number;
  height: number;
  pixels: ArrayBuffer; // RGBA, width * height * 4
  thumbnail: HTMLCanvasElement;
}

// Beyond any phone camera (a 48 MP photo: 192 MB of RGBA). Refused, never reduced: the server
// hashes the full-size picture, and a reduced one would hash differently.
export const MAX_PIXELS = 64e6;
const THUMB = 96;

export async function decode(file: Blob, sniffed?: Sniffed): Promise<Decoded> {
  if (file.size === 0) throw new DecodeError("empty");
  const { format, width: w, height: h } = sniffed ?? (await sniff(file));
  // The size the header declares, before the decoder allocates it: a 100-megapixel photo, or a
  // small file declaring a huge picture (a decompression bomb), is refused here.
  if (w !== undefined && h !== undefined && w * h > MAX_PIXELS) throw new DecodeError("too_large");
  let bitmap: ImageBitmap;
  try {
    bitmap = await bitmapOf(file);
  } catch {
    if (format === "heif") return fromPixels(await decodeHeif(file, MAX_PIXELS));
    throw new DecodeError("undecodable");
  }
  try {
    const { width, height } = bitmap;
    check(width, height);
    const ctx = pixelContext(width, height);
    if (!ctx) throw new DecodeError("too_large");
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, width, height);
    ctx.drawImage(bitmap, 0, 0);
    const pixels = ctx.getImageData(0, 0, width, height).data.buffer as ArrayBuffer;
    return { width, height, pixels, thumbnail: thumbnailOf(bitmap, width, height) };
  } finally {
    bitmap.close();
  }
}

/** The file decoded with EXIF orientation applied and no colour conversion. An engine that does
 * not know the option value "from-image" (older Safari) refuses the options with a TypeError
 * before decoding; its default orientation is already the EXIF one. */
async function bitmapOf(file: Blob): Promise<ImageBitmap> {
  try {
    return await createImageBitmap(file, { colorSpaceConversion: "none", imageOrientation: "from-image" });
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
    return createImageBitmap(file, { colorSpaceConversion: "none" });
  }
}

export type PixelContext = OffscreenCanvasRenderingContext2D | CanvasRenderingContext2D;

/** A 2D context to draw into and read pixels from: an OffscreenCanvas, or a <canvas> that is
 * never shown where the browser has none (Safari before 16.4). The same pixels either way. */
export function pixelContext(width: number, height: number): PixelContext | null {
  if (typeof OffscreenCanvas === "function") {
    return new OffscreenCanvas(width, height).getContext("2d", { willReadFrequently: true });
  }
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  return canvas.getContext("2d", { willReadFrequently: true });
}

function check(width: number, height: number) {
  if (width === 0 || height === 0) throw new DecodeError("undecodable");
  if (width < 5 || height < 5) throw new DecodeError("too_small");
  if (width * height > MAX_PIXELS) throw new DecodeError("too_large");
}

/** RGBA decoded elsewhere (libheif), already on white: only the thumbnail is made here. */
async function fromPixels(decoded: { width: number; height: number; pixels: ArrayBuffer }): Promise<Decoded> {
  const { width, height, pixels } = decoded;
  check(width, height);
  const image = new ImageData(new Uint8ClampedArray(pixels), width, height);
  const [w, h] = thumbSize(width, height);
  // Resized as it is made, so no second full-size copy exists (a browser without the option makes one).
  const bitmap = await createImageBitmap(image, { resizeWidth: w, resizeHeight: h, resizeQuality: "medium" })
    .catch(() => createImageBitmap(image));
  try {
    return { width, height, pixels, thumbnail: thumbnailOf(bitmap, width, height) };
  } finally {
    bitmap.close();
  }
}

function thumbSize(width: number, height: number): [number, number] {
  const scale = Math.min(1, THUMB / Math.max(width, height));
  return [Math.max(1, Math.round(width * scale)), Math.max(1, Math.round(height * scale))];
}

function thumbnailOf(bitmap: ImageBitmap, width: number, height: number): HTMLCanvasElement {
  const thumbnail = document.createElement("canvas");
  [thumbnail.width, thumbnail.height] = thumbSize(width, height);
  const tctx = thumbnail.getContext("2d");
  if (tctx) {
    tctx.fillStyle = "#ffffff";
    tctx.fillRect(0, 0, thumbnail.width, thumbnail.height);
    tctx.drawImage(bitmap, 0, 0, thumbnail.width, thumbnail.height);
  }
  return thumbnail;
}
