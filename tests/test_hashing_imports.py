"""hashing/ runs in Pyodide, which has no numpy or Pillow: it may import the standard library only."""
import ast
import pathlib
import sys

HASHING = pathlib.Path(__file__).resolve().parent.parent / "hashing"


def imported_modules(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module


def test_hashing_imports_only_the_standard_library():
    files = sorted(HASHING.rglob("*.py"))
    assert files, "no modules found under hashing/"
    offenders = []
    for path in files:
        for module in imported_modules(path):
            top = module.split(".")[0]
            if top not in sys.stdlib_module_names and top != "hashing":
                offenders.append("%s imports %s" % (path.name, module))
    assert offenders == []


def test_the_checker_catches_a_third_party_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import numpy\nfrom PIL import Image\nimport json\nfrom . import pdq\n")
    tops = {m.split(".")[0] for m in imported_modules(bad)}
    assert {"numpy", "PIL"} <= tops
    assert not ({"numpy", "PIL"} & set(sys.stdlib_module_names))
