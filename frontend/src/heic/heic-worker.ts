// The HEIF decoder: libheif 1.23 compiled to WebAssembly (npm libheif-js), in a worker of its own,
// started only when a HEIF photo is picked that the browser cannot decode (all but Safari).
// libheif.js and libheif.wasm are served exactly as published, as files of their own beside
// their licence (LGPL-3.0: anyone can swap them), never bundled into our code.
// The rules of `takeback hash` (takeback/decode.py): the primary image, irot/imir applied (libheif
// does), no EXIF orientation, 10/12 bits reduced to their high 8, transparency on white.
import glueUrl from "libheif-js/libheif-wasm/libheif.js?url";
import wasmUrl from "libheif-js/libheif-wasm/libheif.wasm?url";
import type { DecodeProblem } from "../decode";
import type { FromHeif, ToHeif } from "./protocol";

type Enum = { value: number };
type Handle = { $$: { ptr: number } };
interface HeifError { code: Enum; subcode: Enum; message: string }
interface Channel { id: Enum; width: number; height: number; stride: number; bits_per_pixel: number; data: Uint8Array }
interface Image { image: unknown; channels: Channel[] }
/** The part of libheif's embind API used here (libheif-wasm/libheif.d.ts). */
interface Lib {
  heif_context_alloc(): unknown;
  heif_context_free(context: unknown): void;
  heif_context_read_from_memory(context: unknown, data: Uint8Array): HeifError;
  heif_js_context_get_primary_image_handle(context: unknown): Handle | HeifError;
  heif_image_handle_get_width(handle: Handle): number;
  heif_image_handle_get_height(handle: Handle): number;
  heif_image_handle_release(handle: Handle): void;
  heif_js_decode_image2(handle: Handle, colorspace: Enum, chroma: Enum): Image | HeifError;
  heif_image_release(image: unknown): void;
  // This build's embind wrapper of it traps ("function signature mismatch"): the C export is used.
  _heif_image_handle_get_luma_bits_per_pixel(handle: number): number;
  heif_colorspace: Record<"heif_colorspace_RGB", Enum>;
  heif_chroma: Record<"heif_chroma_interleaved_RGBA" | "heif_chroma_interleaved_RRGGBBAA_BE", Enum>;
  heif_channel: Record<"heif_channel_interleaved", Enum>;
  HEAPU8: Uint8Array;
}
type Factory = (options: object) => Promise<Lib>;

const scope = self as unknown as DedicatedWorkerGlobalScope & { define?: unknown };
// WebAssembly memory only grows: after a large photo the instance is dropped (and garbage
// collected), and the next photo gets a fresh one.
const KEEP_HEAP = 256 << 20;
let glue: Promise<Factory> | null = null;
let compiled: Promise<WebAssembly.Module> | null = null;
let instance: Promise<Lib> | null = null;

/** libheif.js is a UMD script: in a module its `var libheif` stays private, so its AMD branch
 * (`define([], () => libheif)`) is what hands over the factory. */
async function importGlue(): Promise<Factory> {
  let factory: Factory | undefined;
  scope.define = Object.assign((_: unknown, get: () => Factory) => { factory = get(); }, { amd: true });
  try {
    await import(/* @vite-ignore */ glueUrl);
  } finally {
    delete scope.define;
  }
  if (!factory) throw new Error("libheif.js did not load");
  return factory;
}

async function load(): Promise<Lib> {
  const factory = await (glue ??= importGlue());
  // Compiled once, while it streams in; the glue (built to start synchronously) only
  // instantiates it. Its own way would be a synchronous XHR for the 1.4 MB, then compiling.
  const module = await (compiled ??= WebAssembly.compileStreaming(fetch(wasmUrl)));
  return factory({
    instantiateWasm: (imports: WebAssembly.Imports, done: (i: WebAssembly.Instance, m: WebAssembly.Module) => unknown) =>
      done(new WebAssembly.Instance(module, imports), module),
  });
}

class Refused extends Error {
  constructor(readonly problem: DecodeProblem, detail: string) {
    super(detail);
  }
}

const failed = (r: unknown): r is HeifError => !!r && typeof r === "object" && "code" in r && (r as HeifError).code.value !== 0;

/** Why libheif could not read it, in the page's words. A file that ends before its last box
 * does, or holds no 'meta' (no image), is damaged, as `takeback hash` says. */
function problemOf(bytes: Uint8Array, error: HeifError | null): DecodeProblem {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  let meta = false;
  while (at + 8 <= bytes.length) {
    let size = view.getUint32(at);
    if (size === 1) size = at + 16 <= bytes.length ? Number(view.getBigUint64(at + 8)) : Infinity;
    if (String.fromCharCode(...bytes.subarray(at + 4, at + 8)) === "meta") meta = true;
    if (size === 0) at = bytes.length; // runs to the end of the file
    else if (size < 8) break; // damaged, not cut short: libheif's error says more
    else at += size;
  }
  if (at > bytes.length || (at < bytes.length && at + 8 > bytes.length) || !meta) return "damaged";
  const code = error?.code.value ?? 0;
  const sub = error?.subcode.value ?? 0;
  if (code === 6 || sub === 1000) return "too_large"; // memory allocation, security limit
  if (code === 2 || sub === 100) return "damaged"; // invalid input, end of data
  return "undecodable";
}

async function decode(file: Blob, maxPixels: number): Promise<FromHeif & { ok: true }> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const lib = await (instance ??= load());
  const context = lib.heif_context_alloc();
  let handle: Handle | null = null;
  let image: unknown = null;
  try {
    const read = lib.heif_context_read_from_memory(context, bytes);
    if (failed(read)) throw new Refused(problemOf(bytes, read), read.message);
    const primary = lib.heif_js_context_get_primary_image_handle(context);
    if (failed(primary) || !("$$" in primary)) throw new Refused(problemOf(bytes, failed(primary) ? primary : null), "no primary image");
    handle = primary;
    const width = lib.heif_image_handle_get_width(handle);
    const height = lib.heif_image_handle_get_height(handle);
    if (width * height > maxPixels) throw new Refused("too_large", `${width}x${height}`);
    const deep = lib._heif_image_handle_get_luma_bits_per_pixel(handle.$$.ptr) > 8;
    // RGB converted at the file's own precision; the high 8 bits of each value kept below.
    const chroma = deep ? lib.heif_chroma.heif_chroma_interleaved_RRGGBBAA_BE : lib.heif_chroma.heif_chroma_interleaved_RGBA;
    const decoded = lib.heif_js_decode_image2(handle, lib.heif_colorspace.heif_colorspace_RGB, chroma);
    if (failed(decoded) || !("channels" in decoded)) throw new Refused(problemOf(bytes, failed(decoded) ? decoded : null), "cannot decode");
    image = decoded.image;
    const plane = decoded.channels.find((c) => c.id.value === lib.heif_channel.heif_channel_interleaved.value);
    if (!plane || !plane.width || !plane.height) throw new Refused("undecodable", "no pixels");
    return { id: 0, ok: true, width: plane.width, height: plane.height, pixels: flatten(plane, deep) };
  } finally {
    if (image) lib.heif_image_release(image);
    if (handle) lib.heif_image_handle_release(handle);
    lib.heif_context_free(context);
    if (lib.HEAPU8.byteLength > KEEP_HEAP) instance = null;
  }
}

/** RGBA, 8 bits, onto white: Pillow's alpha_composite over opaque white, in the same integers
 * (takeback hash flattens with it), so that the server's pixels come out exactly. */
function flatten(plane: Channel, deep: boolean): ArrayBuffer {
  const { width, height, stride, data } = plane;
  const out = new Uint8Array(width * height * 4);
  const shift = plane.bits_per_pixel - 8;
  for (let y = 0, o = 0; y < height; y++) {
    const row = y * stride;
    for (let x = 0; x < width * 4; x += 4, o += 4) {
      for (let c = 0; c < 4; c++) {
        out[o + c] = deep ? ((data[row + 2 * (x + c)] << 8) | data[row + 2 * (x + c) + 1]) >> shift : data[row + x + c];
      }
      const a = out[o + 3];
      if (a === 255) continue;
      for (let c = 0; c < 3; c++) {
        const t = 128 * (out[o + c] * a + 255 * (255 - a)) + 16384;
        out[o + c] = (((t >> 8) + t) >> 8) >> 7;
      }
      out[o + 3] = 255;
    }
  }
  return out.buffer;
}

scope.onmessage = async (event: MessageEvent<ToHeif>) => {
  const { id, file, maxPixels } = event.data;
  let answer: FromHeif;
  try {
    answer = { ...(await decode(file, maxPixels)), id };
  } catch (e) {
    const detail = String((e as Error)?.message ?? e);
    if (e instanceof Refused) answer = { id, ok: false, problem: e.problem, detail };
    // libheif trapped, or its files did not load (offline before they were ever fetched): the
    // page starts a fresh worker for the next photo.
    else answer = { id, ok: false, problem: /memory/i.test(detail) ? "too_large" : "undecodable", detail, restart: true };
  }
  scope.postMessage(answer, answer.ok ? [answer.pixels] : []);
};
