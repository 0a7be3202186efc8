"""The proof of work (hashing/admission.py) finds the same nonce in Pyodide (the page's worker)
as in CPython (`takeback submit`, the server's check)."""
import json
import shutil
import subprocess

import pytest

from hashing import admission
from tests.pyodide_node import ROOT

pytestmark = pytest.mark.slow  # `make check` leaves these out

SCRIPT = """
import { readFileSync } from "node:fs";
import { loadPyodide } from "%s";
const py = await loadPyodide();
py.FS.mkdirTree("/work/hashing");
py.FS.writeFile("/work/hashing/__init__.py", "");
py.FS.writeFile("/work/hashing/admission.py", readFileSync("%s"));
py.runPython("import sys; sys.path.insert(0, '/work')");
py.globals.set("cases_json", process.argv[2]);
console.log(py.runPython(`
import json
from hashing import admission
json.dumps([admission.solve(c, admission.body_digest(b.encode("utf-8")), bits) for c, b, bits in json.loads(cases_json)])
`));
"""


def test_cpython_and_pyodide_find_the_same_nonce(tmp_path):
    if shutil.which("node") is None or not (ROOT / "node_modules" / "pyodide").is_dir():
        pytest.fail("node and node_modules/pyodide are needed (make setup installs them)")
    cases = [["v1.1800000000.12.%032x" % n, '{"items": [%d, "é"]}' % n, bits] for n, bits in ((1, 0), (2, 8), (3, 12), (4, 14))]
    script = tmp_path / "solve.mjs"
    script.write_text(SCRIPT % ((ROOT / "node_modules" / "pyodide" / "pyodide.mjs").as_uri(), ROOT / "hashing" / "admission.py"))
    done = subprocess.run(["node", str(script), json.dumps(cases)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    theirs = json.loads(done.stdout.strip().splitlines()[-1])
    ours = [admission.solve(c, admission.body_digest(b.encode("utf-8")), bits) for c, b, bits in cases]
    assert theirs == ours
    for (c, b, bits), nonce in zip(cases, ours):
        assert admission.verify(c, admission.body_digest(b.encode("utf-8")), bits, str(nonce))
