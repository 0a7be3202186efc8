// Runs hashing/ inside Pyodide under Node, for the cross-runtime test and the benchmark.
// usage: node tests/pyodide_runner.mjs JOB.json   (JOB written by tests/pyodide.py)
// Prints one JSON object: {"python": version, "results": [...]} with the same fields CPython gives.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { loadPyodide } from "pyodide";

const job = JSON.parse(readFileSync(process.argv[2], "utf8"));
const pyodide = await loadPyodide();
pyodide.FS.mkdirTree("/work/hashing");
for (const name of readdirSync(job.hashing_dir)) {
  if (name.endsWith(".py")) {
    pyodide.FS.writeFile(join("/work/hashing", name), readFileSync(join(job.hashing_dir, name)));
  }
}
pyodide.runPython("import sys; sys.path.insert(0, '/work')");
pyodide.FS.mkdirTree("/job");
job.items.forEach((item, i) => {
  pyodide.FS.writeFile(`/job/${i}.pixels`, readFileSync(item.pixels));
  if (item.file) pyodide.FS.writeFile(`/job/${i}.file`, readFileSync(item.file));
});
pyodide.globals.set("job_json", JSON.stringify(job));
const out = pyodide.runPython(`
import json, sys, time
from hashing import Pixels, FileDigests, FrameHashes, pdq_hash, trim_borders, enrol_hashes, query_hashes
job = json.loads(job_json)
results = []
for i, item in enumerate(job["items"]):
    with open("/job/%d.pixels" % i, "rb") as f:
        data = f.read()
    pixels = Pixels(item["width"], item["height"], data, item["mode"])
    seconds = []
    for _ in range(job.get("repeat", 1)):
        t = time.perf_counter()
        result = pdq_hash(pixels)
        seconds.append(time.perf_counter() - t)
    trimmed = trim_borders(pixels)
    entry = {"pdq": result.hash.hex(), "quality": result.quality, "seconds": seconds,
             "dihedral": {k: v.hex() for k, v in result.dihedral().items()},
             "trimmed": [trimmed.width, trimmed.height, pdq_hash(trimmed).hash.hex()]}
    if job.get("robust"):
        entry["enrol"] = [h.to_json() for h in enrol_hashes(pixels)]
        entry["query"] = [h.to_json() for h in query_hashes(pixels)]
        frame = FrameHashes()  # as an enrolled video frame (a key frame), bars trimmed
        frame.add(0, pixels)
        entry["frame"] = [h.to_json() for h in frame.records()]
        frame = FrameHashes(query=True)  # as a query's video frame
        frame.add(0, pixels)
        entry["query_frame"] = [h.to_json() for h in frame.records()]
    if item.get("file"):
        digests = FileDigests()
        with open("/job/%d.file" % i, "rb") as f:
            while chunk := f.read(1 << 16):
                digests.update(chunk)
        entry["digests"] = digests.hexdigests()
    results.append(entry)
json.dumps({"python": sys.version.split()[0], "results": results})
`);
process.stdout.write(out + "\n");
