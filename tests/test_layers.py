"""The packages' layers, and the imports that keep them apart.

    hashing/               stdlib only: the same code in CPython and in Pyodide
      ^
    the core               takeback.decode, takeback.index, takeback.media
      ^
    the tools              takeback.partner (platforms), takeback.audit (auditors), backend (the server)
      ^                    (takeback.threatexchange, HMA's extension, and takeback.spark, the backlog scan
      ^                     on Apache Spark: each on top of takeback.partner)
    takeback.cli           the `takeback` command, which mounts them all

An arrow is "may be imported by": a layer imports only those below it, and the three tools
not one another, so a platform runs `takeback hash` or `takeback partner scan` without the
server's packages installed (tested here by making them unimportable).
"""
import ast
import json
import pathlib
import subprocess
import sys

from PIL import Image

from takeback.partner import LocalStore

REPO = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = ("hashing", "takeback", "backend")

# Each module's layer, by its longest matching name; and which layers each layer may import.
LAYER_OF = {
    "hashing": "hashing",
    "takeback": "core",
    "takeback.partner": "partner",
    "takeback.audit": "audit",
    "takeback.threatexchange": "threatexchange",
    "takeback.spark": "spark",
    "backend": "server",
    "takeback.cli": "cli",
}
MAY_IMPORT = {
    "hashing": {"hashing"},
    "core": {"hashing", "core"},
    "partner": {"hashing", "core", "partner"},
    "audit": {"hashing", "core", "audit"},
    "threatexchange": {"hashing", "core", "partner", "threatexchange"},
    "server": {"hashing", "core", "server"},
    "spark": {"hashing", "core", "partner", "spark"},
    "cli": {"hashing", "core", "partner", "audit", "server", "spark", "cli"},
}
# The server's packages: only the server (and the command that mounts its commands lazily) may load them.
SERVER_PACKAGES = {"flask", "flask_sqlalchemy", "flask_migrate", "sqlalchemy", "alembic", "psycopg", "werkzeug",
                   "prometheus_client", "gunicorn"}


def layer(module):
    names = module.split(".")
    for n in range(len(names), 0, -1):
        found = LAYER_OF.get(".".join(names[:n]))
        if found:
            return found
    return None


def module_name(path):
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path, module=None):
    """Every module a file imports, anywhere in it (in functions too), relative imports resolved."""
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                yield node.module
                continue
            base = (module or "").split(".")
            base = base[: len(base) - (node.level - 1 if is_package else node.level)]
            if node.module:
                yield ".".join(base + [node.module])
            else:  # from . import a, b: each may be a module
                for alias in node.names:
                    yield ".".join(base + [alias.name])


def modules():
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path, module_name(path)


def test_hashing_imports_only_the_standard_library():
    offenders = []
    for path, module in modules():
        if layer(module) == "hashing":
            for imported in imported_modules(path, module):
                top = imported.split(".")[0]
                if top not in sys.stdlib_module_names and top != "hashing":
                    offenders.append("%s imports %s" % (module, imported))
    assert offenders == []


def test_each_layer_imports_only_those_below_it():
    offenders = []
    seen = set()
    for path, module in modules():
        seen.add(layer(module))
        for imported in imported_modules(path, module):
            top = imported.split(".")[0]
            if top in PACKAGES:
                if layer(imported) not in MAY_IMPORT[layer(module)]:
                    offenders.append("%s (%s) imports %s (%s)" % (module, layer(module), imported, layer(imported)))
            elif top in SERVER_PACKAGES and layer(module) not in ("server",):
                offenders.append("%s (%s) imports the server's %s" % (module, layer(module), imported))
    assert seen == set(MAY_IMPORT), "a layer without modules: is LAYER_OF out of date?"
    assert offenders == []


def test_the_checker_sees_relative_and_late_imports(tmp_path):
    bad = tmp_path / "pkg" / "sub" / "mod.py"
    bad.parent.mkdir(parents=True)
    bad.write_text("import numpy\nfrom . import pdq\nfrom ..cli import main\ndef f():\n    from PIL import Image\n")
    assert list(imported_modules(bad, "pkg.sub.mod")) == ["numpy", "pkg.sub.pdq", "pkg.cli", "PIL"]
    init = tmp_path / "pkg" / "__init__.py"
    init.write_text("from .sub import mod\n")
    assert list(imported_modules(init, "pkg")) == ["pkg.sub"]
    assert layer("takeback.partner.scan") == "partner" and layer("takeback.media") == "core"
    assert layer("takeback.cli") == "cli" and layer("backend.partners_cli") == "server"


# Run in a new interpreter where the server's packages cannot be imported, as on a platform that
# installed Takeback without [server]; prints which of them something tried to import.
WITHOUT_SERVER = """
import json
import sys
blocked = set()
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in %r:
            blocked.add(name.split(".")[0])
            raise ImportError("no module named %%r (blocked)" %% name, name=name)
sys.meta_path.insert(0, Block())
from takeback.cli import main
code = 0
try:
    main(sys.argv[1:])
except SystemExit as e:
    code = e.code
print(json.dumps({"blocked": sorted(blocked), "code": code}), file=sys.stderr)
""" % (sorted(SERVER_PACKAGES),)


def without_server(*args):
    done = subprocess.run([sys.executable, "-c", WITHOUT_SERVER, *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    *messages, last = done.stderr.strip().splitlines()
    return done.stdout, messages, json.loads(last)


def test_a_platform_hashes_compares_and_scans_without_the_servers_packages(tmp_path):
    photo = tmp_path / "upload.png"
    Image.effect_mandelbrot((320, 240), (-2, -1.2, 1, 1.2), 60).convert("RGB").save(photo)
    out, messages, status = without_server("hash", photo)
    assert status == {"blocked": [], "code": 0} and messages == []
    record = json.loads(out)
    (tmp_path / "hashes.jsonl").write_text(out)
    out, messages, status = without_server("compare", "--enrolled", tmp_path / "hashes.jsonl",
                                            "--query", tmp_path / "hashes.jsonl")
    assert status == {"blocked": [], "code": 0} and json.loads(out)["matches"][0]["path"] == str(photo)

    # A store as `takeback partner sync` leaves it, holding the photo's PDQ as a feed entry.
    pdq = next(h for h in record["hashes"] if h["type"] == "pdq")
    store = LocalStore(tmp_path / "store.sqlite")
    store.apply_page([{"id": 7, "type": "pdq", "value": pdq["value"], "quality": pdq["quality"], "media": "image",
                       "status": "active", "updated": "2026-12-07", "not_violating": 0, "seq": 1}], "1")
    store.close()
    out, messages, status = without_server("partner", "scan", "--store", tmp_path / "store.sqlite", photo)
    assert status == {"blocked": [], "code": 0}, messages
    assert [json.loads(line)["path"] for line in out.splitlines()] == [str(photo)]


def test_the_servers_commands_say_what_is_missing_without_its_packages():
    _, messages, status = without_server("partners", "list")
    assert status["code"] == 1 and status["blocked"]
    assert any("needs the server's packages" in m and "takeback[server]" in m for m in messages), messages


def test_takeback_hash_does_not_load_the_server(tmp_path):
    photo = tmp_path / "photo.png"
    Image.new("RGB", (64, 48), (200, 40, 40)).save(photo)
    script = ("import sys\nfrom takeback.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
              "print(sorted({m.split('.')[0] for m in sys.modules} & %r))" % (SERVER_PACKAGES | {"backend"},))
    done = subprocess.run([sys.executable, "-c", script, "hash", str(photo)], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert done.stdout.splitlines()[-1] == "[]", done.stderr
