// The hashing worker: Pyodide + ../hashing (built into this file), behind protocol.ts.
// It starts loading the moment the page creates it; hash jobs wait for it to be ready.
import sources from "virtual:python-sources";
import type { FromWorker, ToWorker } from "./protocol";

const CHUNK = 1 << 20; // the file is read in 1 MiB slices, never whole

interface Glue {
  begin(job: number): void;
  update(job: number, chunk: Uint8Array): void;
  finish(job: number, width: number, height: number, rgba: Uint8Array): string;
  begin_video(job: number, duration: number): string;
  add_frame(job: number, time: number, width: number, height: number, rgba: Uint8Array): string;
  finish_video(job: number): string;
  drop(job: number): void;
  work(challenge: string, body: string, bits: number): string;
}

const scope = self as unknown as DedicatedWorkerGlobalScope;
const post = (message: FromWorker) => scope.postMessage(message);

async function boot(): Promise<Glue> {
  const started = performance.now();
  const phases: Record<string, number> = {};
  const lap = (name: string) => { phases[name] = Math.round(performance.now() - started); };
  const { loadPyodide } = await import(/* @vite-ignore */ __PYODIDE_BASE__ + "pyodide.mjs");
  lap("imported");
  const py = await loadPyodide({
    indexURL: __PYODIDE_BASE__,
    stdLibURL: __STDLIB_URL__,
    lockFileContents: { info: __LOCK_INFO__, packages: {} },
    stdout: () => {},
    stderr: () => {},
  });
  lap("started");
  py.FS.mkdirTree("/home/pyodide/hashing");
  for (const [name, text] of Object.entries(sources)) py.FS.writeFile(`/home/pyodide/${name}`, text);
  py.runPython("import sys; sys.path.insert(0, '/home/pyodide')");
  const glue = py.pyimport("takeback_glue") as Glue;
  lap("hashing");
  post({ type: "ready", ms: Math.round(performance.now() - started), phases });
  return glue;
}

const ready = boot();
ready.catch((e: unknown) => post({ type: "failed", detail: String(e) }));

// One message at a time, in the order the page sent them.
let queue: Promise<void> = Promise.resolve();
const dropped = new Set<number>(); // cancelled or failed video jobs: their queued frames are skipped

async function digests(glue: Glue, job: number, file: Blob): Promise<void> {
  for (let offset = 0; offset < file.size; offset += CHUNK) {
    const chunk = new Uint8Array(await file.slice(offset, offset + CHUNK).arrayBuffer());
    glue.update(job, chunk);
    post({ type: "progress", job, fraction: Math.min(1, (offset + chunk.length) / file.size) });
  }
}

function answer(job: number, json: string): void {
  const out = JSON.parse(json);
  if (out.record) post({ type: "result", job, record: out.record, times: out.times });
  else if (out.times) post({ type: "times", job, times: out.times });
  else {
    dropped.add(job);
    post({ type: "error", job, code: out.error, detail: out.detail });
  }
}

async function handle(message: ToWorker): Promise<void> {
  const { job } = message;
  if (dropped.has(job)) return;
  let glue: Glue;
  try {
    glue = await ready;
  } catch (e) {
    dropped.add(job);
    post({ type: "error", job, code: "internal", detail: String(e) });
    return;
  }
  try {
    if (message.type === "hash") {
      glue.begin(job);
      await digests(glue, job, message.file);
      answer(job, glue.finish(job, message.width, message.height, new Uint8Array(message.pixels)));
    } else if (message.type === "video") {
      answer(job, glue.begin_video(job, message.duration));
    } else if (message.type === "frame") {
      const error = glue.add_frame(job, message.time, message.width, message.height, new Uint8Array(message.pixels));
      if (error) { glue.drop(job); answer(job, error); }
      else post({ type: "frame", job });
    } else if (message.type === "work") {
      post({ type: "work", job, nonce: glue.work(message.challenge, message.body, message.bits) });
    } else if (message.type === "end") {
      await digests(glue, job, message.file);
      answer(job, glue.finish_video(job));
    }
  } catch (e) {
    glue.drop(job);
    dropped.add(job);
    post({ type: "error", job, code: "internal", detail: String(e) });
  }
}

scope.onmessage = (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  if (message.type === "drop") {
    // At once, so frames already queued for this job are not hashed; then free its state.
    dropped.add(message.job);
    queue = queue.then(() => ready.then((glue) => glue.drop(message.job), () => {}));
  } else {
    queue = queue.then(() => handle(message));
  }
};
