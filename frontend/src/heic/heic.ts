// HEIF/HEIC photos the browser cannot decode itself (every browser but Safari): decoded by
// libheif in a worker of their own. The worker, its script and libheif's 1.4 MB of WebAssembly
// are fetched only when the first such photo is picked (never on a visit without one); the
// worker is then kept for the next ones.
import { DecodeError } from "../decode";
import type { FromHeif, ToHeif } from "./protocol";

export interface HeifPixels {
  width: number;
  height: number;
  pixels: ArrayBuffer; // RGBA, flattened onto white
}

const LIMIT_MS = 120_000; // a 12 MP HEIC takes 1-2 s here; a slow phone, a 48 MP one, far less than this
let worker: Worker | null = null;
let nextId = 1;
const waiting = new Map<number, { resolve: (p: HeifPixels) => void; reject: (e: DecodeError) => void }>();

function start(): Worker {
  const w = new Worker(new URL("./heic-worker.ts", import.meta.url), { type: "module", name: "takeback-heif" });
  w.onmessage = (event: MessageEvent<FromHeif>) => {
    const m = event.data;
    const promise = waiting.get(m.id);
    waiting.delete(m.id);
    if (m.ok) promise?.resolve({ width: m.width, height: m.height, pixels: m.pixels });
    else promise?.reject(new DecodeError(m.problem));
    if (!m.ok && m.restart && worker === w) stopHeif();
  };
  // The script itself did not run (offline before it was ever fetched): the next photo tries anew.
  w.onerror = () => { if (worker === w) stopHeif(); };
  return w;
}

/** The primary image of a HEIF file, by the rules of `takeback hash`; a DecodeError if it
 * cannot be decoded or has more than maxPixels. */
export function decodeHeif(file: Blob, maxPixels: number): Promise<HeifPixels> {
  worker ??= start();
  const id = nextId++;
  return new Promise((resolve, reject) => {
    // A worker the browser kills for memory may never answer: after LIMIT_MS the photo is
    // refused as too large for this phone, and the next one gets a fresh worker.
    const timer = setTimeout(() => {
      waiting.delete(id);
      reject(new DecodeError("too_large"));
      stopHeif();
    }, LIMIT_MS);
    const settle = <T>(f: (v: T) => void) => (v: T) => { clearTimeout(timer); f(v); };
    waiting.set(id, { resolve: settle(resolve), reject: settle(reject) });
    const message: ToHeif = { id, file, maxPixels };
    worker!.postMessage(message);
  });
}

/** Stops the worker (Quick exit), failing what it was doing. */
export function stopHeif(): void {
  worker?.terminate();
  worker = null;
  for (const { reject } of waiting.values()) reject(new DecodeError("undecodable"));
  waiting.clear();
}
