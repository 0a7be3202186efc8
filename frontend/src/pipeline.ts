// Hashing on this device: photos and videos are decoded on the page (the browser's own
// decoders) and hashed by Pyodide in a worker, behind the typed messages of protocol.ts.
import { decode, DecodeError } from "./decode";
import { stopHeif } from "./heic/heic";
import type { Key } from "./i18n";
import type { FromWorker, MediaRecord, ToWorker } from "./protocol";
import { sniff, type Sniffed } from "./sniff";
import { isVideo, VideoFrames } from "./video";

export type FileState = "waiting" | "decoding" | "hashing" | "done" | "error";
export interface Item {
  job: number;
  key: string; // its pending record's key on this device (store.ts)
  name: string; // the file's name, shown to the person only; "" for a record kept from before
  file: File | null; // dropped once hashed
  sniffed?: Promise<Sniffed>; // what its first bytes say it is (sniff.ts)
  state: FileState;
  fraction: number;
  problem?: Key;
  record?: MediaRecord;
  thumbnail?: HTMLCanvasElement;
  removed: boolean;
  sent?: boolean;
  video?: boolean;
  frames?: [number, number]; // a video's frames hashed, of how many
  times?: number[]; // the times of the frames a video kept (page only)
  cancelled?: boolean;
  ms?: number; // decode + hash time, shown to nobody; read by make bench-web
  seekMs?: number; // a video's time spent seeking and drawing frames; read by make bench-video
}

/** What the page does when something changes; set by main.ts. */
export const hooks = {
  changed: () => {},
  ready: () => {},
  done: (_item: Item) => {},
};

export const items: Item[] = [];
let nextJob = 1;
export let workerState: "loading" | "ready" | "failed" = "loading";

const newKey = () => crypto.getRandomValues(new Uint32Array(4)).join("-");

const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module", name: "takeback-hashing" });
const listeners = new Map<number, (m: FromWorker) => void>(); // by job: its worker's answers
worker.onmessage = (event: MessageEvent<FromWorker>) => {
  const m = event.data;
  if (m.type === "ready") {
    workerState = "ready";
    document.documentElement.dataset.worker = "ready";
    document.documentElement.dataset.workerMs = String(m.ms);
    document.documentElement.dataset.workerPhases = JSON.stringify(m.phases);
    document.documentElement.dataset.readyAt = String(Math.round(performance.now()));
    hooks.ready();
  } else if (m.type === "failed") {
    workerState = "failed";
    document.documentElement.dataset.worker = "failed";
    hooks.changed();
  } else if (m.type === "progress") {
    const item = items.find((i) => i.job === m.job);
    if (item) { item.fraction = item.video ? 0.9 + 0.1 * m.fraction : 0.5 + 0.5 * m.fraction; hooks.changed(); }
  } else {
    listeners.get(m.job)?.(m);
  }
};

worker.onerror = () => {
  // The worker script itself could not run (a very old browser, a blocked script).
  workerState = "failed";
  document.documentElement.dataset.worker = "failed";
  hooks.changed();
  for (const [job, resolve] of listeners) resolve({ type: "error", job, code: "internal", detail: "worker failed" });
};

/** The proof of work for a case body (hashing/admission.py), found by the worker after the
 * hashing queued before it: about a second on a phone. */
export function solveWork(challenge: string, body: string, bits: number): Promise<string> {
  if (workerState === "failed") return Promise.reject(new Error("worker failed"));
  const job = nextJob++;
  return new Promise((resolve, reject) => {
    listeners.set(job, (m) => {
      listeners.delete(job);
      if (m.type === "work") resolve(m.nonce);
      else reject(new Error(m.type === "error" ? m.detail : "worker"));
    });
    const message: ToWorker = { type: "work", job, challenge, body, bits };
    worker.postMessage(message);
  });
}

export const stopWorker = () => { worker.terminate(); stopHeif(); };

/** Files the person picked: queued, then hashed one after another. Photo or video is decided
 * by the content (a video named .jpg is a video); the name and type only when the content is
 * not recognised, and until it has been read. */
export function add(files: File[]): void {
  for (const file of files) {
    const item: Item = { job: nextJob++, key: newKey(), name: file.name, file, state: "waiting", fraction: 0, removed: false, video: isVideo(file) };
    item.sniffed = sniff(file).then((s) => {
      if (s.kind !== "unknown" && item.video !== (s.kind === "video")) {
        item.video = s.kind === "video";
        hooks.changed();
      }
      return s;
    });
    items.push(item);
  }
  hooks.changed();
  void pump();
}

/** A record kept on this device from before a reload (no file, no picture). */
export function restore(key: string, record: MediaRecord): void {
  items.push({ job: nextJob++, key, name: "", file: null, state: "done", fraction: 1, record, removed: false, video: record.media === "video" });
}

/** Stops the video being hashed, if any. */
export function cancelVideo(): void {
  const item = items.find((i) => i.video && (i.state === "decoding" || i.state === "hashing"));
  if (!item) return;
  item.cancelled = true;
  // Wakes a wait for the worker at once; the seek under way (if any) ends by itself.
  listeners.get(item.job)?.({ type: "error", job: item.job, code: "internal", detail: "cancelled" });
}

// Decoding the next photo on the page overlaps hashing the previous one in the worker; at most
// one photo waits in the worker's queue, so at most two pixel buffers exist at a time.
let running = false;
async function pump() {
  if (running) return;
  running = true;
  try {
    let previous: Promise<void> = Promise.resolve();
    for (let item = items.find((i) => i.state === "waiting"); item; item = items.find((i) => i.state === "waiting")) {
      const sniffed = await item.sniffed;
      if (item.video) {
        await previous;
        previous = Promise.resolve();
        await hashVideo(item);
        continue;
      }
      const { hashed } = await decodeAndSend(item, sniffed);
      await previous;
      previous = hashed;
    }
    await previous;
  } finally {
    running = false;
    hooks.changed();
  }
  // Photos picked while the last one was finishing.
  if (items.some((i) => i.state === "waiting")) void pump();
}

/** Decodes one photo and hands it to the worker; the promise returned settles when it is hashed. */
async function decodeAndSend(item: Item, sniffed?: Sniffed): Promise<{ hashed: Promise<void> }> {
  const file = item.file!;
  const started = performance.now();
  item.state = "decoding";
  hooks.changed();
  let decoded;
  try {
    decoded = await decode(file, sniffed);
  } catch (e) {
    item.state = "error";
    item.problem = e instanceof DecodeError ? (`file.${e.problem}` as Key) : "file.undecodable";
    item.file = null;
    hooks.changed();
    return { hashed: Promise.resolve() };
  }
  item.state = "hashing";
  item.fraction = 0.5;
  item.thumbnail = decoded.thumbnail;
  hooks.changed();
  const answer = new Promise<FromWorker>((resolve) => {
    listeners.set(item.job, resolve);
    const message: ToWorker = {
      type: "hash", job: item.job, file, width: decoded.width, height: decoded.height, pixels: decoded.pixels,
    };
    worker.postMessage(message, [decoded.pixels]);
  });
  const hashed = answer.then((m) => {
    listeners.delete(item.job);
    item.file = null;
    item.ms = Math.round(performance.now() - started);
    if (m.type === "result") {
      item.state = "done";
      item.record = m.record;
      hooks.done(item);
    } else {
      item.state = "error";
      item.problem = m.type === "error" ? (`file.${m.code}` as Key) : "file.internal";
    }
    hooks.changed();
  });
  return { hashed };
}

/** A video: the worker names the frame times; each frame is seeked, drawn and sent (at most two
 * waiting in the worker); then the worker reads the file's digests and returns the record.
 * Two <video> elements take turns, so that seeking (decoding from a keyframe, the slow part for
 * videos with few keyframes) runs on both cores and overlaps the hashing. */
async function hashVideo(item: Item): Promise<void> {
  const file = item.file!;
  const started = performance.now();
  const inbox: FromWorker[] = [];
  let wake = () => {};
  listeners.set(item.job, (m) => { inbox.push(m); wake(); });
  const next = async (): Promise<FromWorker> => {
    while (!inbox.length) await new Promise<void>((r) => { wake = r; });
    const m = inbox.shift()!;
    if (m.type === "error") throw m;
    return m;
  };
  const send = (m: ToWorker, transfer: Transferable[] = []) => worker.postMessage(m, transfer);
  item.state = "decoding";
  hooks.changed();
  const videos: VideoFrames[] = []; // two <video>s seek in turn: one decodes while the other is drawn
  try {
    const video = await VideoFrames.open(file);
    videos.push(video);
    send({ type: "video", job: item.job, duration: video.duration });
    const { times } = (await next()) as { times: number[] };
    if (times.length > 1) videos.push(await VideoFrames.open(file));
    item.state = "hashing";
    const grab = (i: number) => {
      const p = videos[i % videos.length].frame(times[i]);
      p.catch(() => {}); // awaited in turn below
      return p;
    };
    const grabbed = times.slice(0, videos.length).map((_, i) => grab(i));
    let acked = 0;
    let seekMs = 0;
    for (let i = 0; i < times.length; i++) {
      if (item.cancelled) throw "cancelled";
      const t0 = performance.now();
      const pixels = await grabbed[i];
      seekMs += performance.now() - t0;
      if (i === 0) item.thumbnail = video.thumbnail();
      if (i + videos.length < times.length) grabbed[i + videos.length] = grab(i + videos.length);
      send({ type: "frame", job: item.job, time: times[i], width: video.width, height: video.height, pixels }, [pixels]);
      for (; i + 1 - acked >= 2 || (i === times.length - 1 && acked < times.length); acked++) {
        await next();
        item.frames = [acked + 1, times.length];
        item.fraction = (0.9 * (acked + 1)) / times.length;
        hooks.changed();
        if (item.cancelled) throw "cancelled";
      }
    }
    send({ type: "end", job: item.job, file });
    const m = (await next()) as FromWorker & { type: "result" };
    item.record = m.record;
    item.times = m.times;
    item.seekMs = Math.round(seekMs);
    item.state = "done";
    hooks.done(item);
  } catch (e) {
    send({ type: "drop", job: item.job });
    if (item.cancelled || e === "cancelled") {
      item.problem = "file.cancelled";
    } else if (e instanceof DecodeError) {
      item.problem = `file.${e.problem}` as Key;
    } else {
      const code = (e as { code?: string }).code;
      item.problem = code ? (`file.${code}` as Key) : "file.internal";
    }
    item.state = "error";
  } finally {
    for (const video of videos) video.close();
    listeners.delete(item.job);
    item.file = null;
    item.ms = Math.round(performance.now() - started);
    hooks.changed();
  }
}
