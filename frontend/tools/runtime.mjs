// Build-time: the Python side of the worker, made from the repository's own files.
//
// 1. Reads ../hashing/*.py (never a copy in frontend/) and src/glue.py.
// 2. Runs them once in Pyodide under Node, hashing a synthetic image and hitting the error
//    paths, and records every standard-library module that got imported.
// 3. Writes a trimmed standard library (those modules only, stored uncompressed so that
//    brotli on the wire compresses it well) and a JSON bundle of the Python sources.
//
// Usage: node tools/runtime.mjs OUTDIR   -> OUTDIR/python_stdlib.zip, OUTDIR/python-sources.json
import { loadPyodide } from "pyodide";
import { writeFileSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { pythonSources, repo } from "./sources.mjs";

const outDir = resolve(process.argv[2] ?? "build-runtime");
mkdirSync(outDir, { recursive: true });

const sources = pythonSources();
const py = await loadPyodide({ indexURL: join(repo, "node_modules", "pyodide") + "/" });
py.FS.mkdirTree("/home/pyodide/hashing");
for (const [name, text] of Object.entries(sources)) py.FS.writeFile(`/home/pyodide/${name}`, text);

const before = new Set(py.runPython("import sys; sorted(sys.modules)").toJs());
py.runPython("import sys; sys.path.insert(0, '/home/pyodide')");
const glue = py.pyimport("takeback_glue");
// A 40x30 gradient, a too-small image and a bad buffer: every path the worker takes.
const w = 40, h = 30, rgba = new Uint8Array(w * h * 4);
for (let i = 0; i < w * h; i++) rgba.set([i % 251, (i * 7) % 253, (i * 13) % 255, 255], i * 4);
const runs = [[w, h, rgba], [3, 3, new Uint8Array(36)], [4, 4, new Uint8Array(5)]];
runs.forEach(([ww, hh, px], job) => {
  glue.begin(job);
  glue.update(job, new Uint8Array([1, 2, 3]));
  const out = JSON.parse(glue.finish(job, ww, hh, px));
  if (job === 0 && !out.record) throw new Error("runtime check failed: " + JSON.stringify(out));
  if (job > 0 && !out.error) throw new Error("runtime check: expected an error, got " + JSON.stringify(out));
});
// A video job: frame times, two frames (the second a near-repeat), digests, the record.
{
  const times = JSON.parse(glue.begin_video(9, 2.5)).times; // a short clip: 8 a second
  if (times.length !== 20 || times[8] !== 1) throw new Error("runtime check: frame times " + times);
  glue.add_frame(9, 0, w, h, rgba);
  glue.add_frame(9, 1, w, h, rgba);
  glue.update(9, new Uint8Array([1, 2, 3]));
  const out = JSON.parse(glue.finish_video(9));
  if (out.record?.media !== "video" || out.times.length !== 1) throw new Error("runtime check (video): " + JSON.stringify(out));
  if (!JSON.parse(glue.begin_video(10, Infinity)).error) throw new Error("runtime check: infinite video accepted");
}

// Every module loaded now, start-up included, mapped to its file inside the standard library zip.
const used = py.runPython(`
import sys
zips = [p for p in sys.path if p.endswith('.zip')]
out = set()
for name, mod in list(sys.modules.items()):
    if getattr(getattr(mod, '__spec__', None), 'origin', None) == 'frozen':
        continue  # built into the interpreter: never read from the zip
    f = getattr(mod, '__file__', None) or ''
    for z in zips:
        if f.startswith(z + '/'):
            rel = f[len(z) + 1:]
            out.add(rel)
            parts = rel.split('/')
            for i in range(1, len(parts)):
                init = '/'.join(parts[:i]) + '/__init__.py'
                out.add(init)
sorted(out)
`).toJs();
const zipPath = py.runPython("[p for p in __import__('sys').path if p.endswith('.zip')][0]");
py.globals.set("wanted", py.toPy(used));
// Compiled ahead of time: Python would otherwise compile ~140 modules from source at every
// start (seconds on a phone). Unchecked hash-based .pyc (no source to compare with), docstrings
// and line tables stripped to keep the download small; hashing/ itself stays readable source.
py.runPython(`
import importlib.util, marshal, zipfile

def no_positions(code):
    # A valid location table that says "no location" for every code unit (8 per entry):
    # tracebacks through the standard library show "line None" instead of failing.
    units = len(code.co_code) // 2
    table = bytearray()
    while units > 0:
        n = min(8, units)
        table.append(0x80 | (15 << 3) | (n - 1))
        units -= n
    return bytes(table)

def strip(code):
    consts = tuple(strip(c) if hasattr(c, "co_code") else c for c in code.co_consts)
    return code.replace(co_consts=consts, co_linetable=no_positions(code))

src = zipfile.ZipFile(${JSON.stringify(zipPath)})
names = set(src.namelist())
with zipfile.ZipFile("/tmp/trimmed.zip", "w", zipfile.ZIP_STORED) as dst:
    for name in sorted(n for n in wanted if n in names):
        data = src.read(name)
        if name.endswith(".py"):
            code = strip(compile(data, name, "exec", dont_inherit=True, optimize=2))
            data = importlib.util.MAGIC_NUMBER + (0b01).to_bytes(4, "little") + bytes(8) + marshal.dumps(code)
            name += "c"
        dst.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)  # reproducible
`);
const trimmed = py.FS.readFile("/tmp/trimmed.zip");
writeFileSync(join(outDir, "python_stdlib.zip"), trimmed);
writeFileSync(join(outDir, "python-sources.json"), JSON.stringify(sources));

// The check that matters: a fresh Pyodide on the trimmed library runs the worker's code.
const check = await loadPyodide({ indexURL: join(repo, "node_modules", "pyodide") + "/", stdLibURL: join(outDir, "python_stdlib.zip") });
check.FS.mkdirTree("/home/pyodide/hashing");
for (const [name, text] of Object.entries(sources)) check.FS.writeFile(`/home/pyodide/${name}`, text);
check.runPython("import sys; sys.path.insert(0, '/home/pyodide')");
const glue2 = check.pyimport("takeback_glue");
glue2.begin(0);
glue2.update(0, new Uint8Array([1, 2, 3]));
if (!JSON.parse(glue2.finish(0, w, h, rgba)).record) throw new Error("the trimmed standard library does not run the worker's code");
// An error raised inside the (stripped) standard library still gets a readable traceback.
const tb = check.runPython(`
import json, traceback
try:
    json.loads("{")
except ValueError as e:
    text = "".join(traceback.format_exception(e))
text
`);
if (!tb.includes("JSONDecodeError")) throw new Error("tracebacks through the trimmed standard library fail: " + tb);
console.log(`runtime: ${used.length} stdlib files, ${(trimmed.length / 1e6).toFixed(2)} MB (${before.size} modules at start-up) -> ${outDir}`);
