// The hashing worker: Pyodide + ../hashing (built into this file), behind protocol.ts.
// It starts loading the moment the page creates it; hash jobs wait for it to be ready.
import sources from "virtual:python-sources";
import type { FromWorker, ToWorker } from "./protocol";

const CHUNK = 1 << 20; // the file is read in 1 MiB slices, never whole

interface Glue {
  begin(job: number): void;
  update(job: number, chunk: Uint8Array): void;
  finish(job: number, width: number, height: number, rgba: Uint8Array): string;
  drop(job: number): void;
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

// One job at a time, in the order the page sent them.
let queue: Promise<void> = Promise.resolve();

async function hash(message: ToWorker & { type: "hash" }): Promise<void> {
  const { job, file } = message;
  let glue: Glue;
  try {
    glue = await ready;
  } catch (e) {
    post({ type: "error", job, code: "internal", detail: String(e) });
    return;
  }
  try {
    glue.begin(job);
    for (let offset = 0; offset < file.size; offset += CHUNK) {
      const chunk = new Uint8Array(await file.slice(offset, offset + CHUNK).arrayBuffer());
      glue.update(job, chunk);
      post({ type: "progress", job, fraction: Math.min(1, (offset + chunk.length) / file.size) * 0.5 });
    }
    const out = JSON.parse(glue.finish(job, message.width, message.height, new Uint8Array(message.pixels)));
    if (out.record) post({ type: "result", job, record: out.record });
    else post({ type: "error", job, code: out.error, detail: out.detail });
  } catch (e) {
    glue.drop(job);
    post({ type: "error", job, code: "internal", detail: String(e) });
  }
}

scope.onmessage = (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  if (message.type === "hash") queue = queue.then(() => hash(message));
};
