"""Run hashing/ inside Pyodide under Node (node_modules/pyodide) on given pixels and files."""
import json
import pathlib
import subprocess
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
RUNNER = ROOT / "tests" / "pyodide_runner.mjs"


def run_in_pyodide(items, repeat=1, robust=False):
    """items: dicts with pixels (hashing.Pixels) and optionally file (a path).

    Returns the Pyodide Python version and, per item, pdq, quality, dihedral, digests, seconds,
    and with robust=True the enrol and query hash records (hashing.robust) and the records of
    the image as a video frame (hashing.FrameHashes), as JSON.
    """
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        job = {"hashing_dir": str(ROOT / "hashing"), "repeat": repeat, "robust": robust, "items": []}
        for i, item in enumerate(items):
            pixels = item["pixels"]
            path = tmp / ("%d.pixels" % i)
            path.write_bytes(pixels.data)
            entry = {"pixels": str(path), "width": pixels.width, "height": pixels.height, "mode": pixels.mode}
            if item.get("file"):
                entry["file"] = str(item["file"])
            job["items"].append(entry)
        (tmp / "job.json").write_text(json.dumps(job))
        proc = subprocess.run(
            ["node", str(RUNNER), str(tmp / "job.json")], cwd=ROOT, capture_output=True, text=True, timeout=600
        )
        if proc.returncode != 0:
            raise RuntimeError("Pyodide runner failed:\n" + proc.stderr[-4000:])
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        return out["python"], out["results"]
