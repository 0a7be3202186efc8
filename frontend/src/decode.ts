// Decoding on the UI thread with the browser's own decoders, by the same rules as
// `takeback hash`: EXIF orientation applied, no colour conversion, transparency on white.

export type DecodeProblem = "empty" | "undecodable" | "too_small" | "too_large" | "video_undecodable";

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

const MAX_PIXELS = 64e6; // beyond any phone camera; refuse before allocating
const THUMB = 96;

export async function decode(file: Blob): Promise<Decoded> {
  if (file.size === 0) throw new DecodeError("empty");
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file, { colorSpaceConversion: "none", imageOrientation: "from-image" });
  } catch {
    throw new DecodeError("undecodable");
  }
  try {
    const { width, height } = bitmap;
    if (width === 0 || height === 0) throw new DecodeError("undecodable");
    if (width < 5 || height < 5) throw new DecodeError("too_small");
    if (width * height > MAX_PIXELS) throw new DecodeError("too_large");
    const canvas = new OffscreenCanvas(width, height);
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    if (!ctx) throw new DecodeError("too_large");
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, width, height);
    ctx.drawImage(bitmap, 0, 0);
    const pixels = ctx.getImageData(0, 0, width, height).data.buffer as ArrayBuffer;

    const scale = Math.min(1, THUMB / Math.max(width, height));
    const thumbnail = document.createElement("canvas");
    thumbnail.width = Math.max(1, Math.round(width * scale));
    thumbnail.height = Math.max(1, Math.round(height * scale));
    const tctx = thumbnail.getContext("2d");
    if (tctx) {
      tctx.fillStyle = "#ffffff";
      tctx.fillRect(0, 0, thumbnail.width, thumbnail.height);
      tctx.drawImage(bitmap, 0, 0, thumbnail.width, thumbnail.height);
    }
    return { width, height, pixels, thumbnail };
  } finally {
    bitmap.close();
  }
}
