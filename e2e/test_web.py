"""backend/web.py: the strict CSP on every file of the app, caching, and never a stale .br."""
import hashlib
import json
import shutil

import pytest

from backend import create_app
from backend.web import APP_CSP


@pytest.fixture(scope="module")
def client(frontend_dist):
    return create_app({"FRONTEND_DIST": str(frontend_dist), "TESTING": True}).test_client()


def asset_paths(dist):
    manifest = json.loads((dist / "takeback-manifest.json").read_text())
    return sorted(manifest["files"])


def test_every_file_of_the_app_has_the_strict_csp(client, frontend_dist):
    paths = asset_paths(frontend_dist)
    assert any(p.startswith("assets/worker-") for p in paths)
    for path in ["", *[p for p in paths if p != "index.html"]]:
        response = client.get("/" + path)
        assert response.status_code == 200, path
        assert response.headers["Content-Security-Policy"] == APP_CSP, path
    for part in ("default-src 'none'", "script-src 'self' 'wasm-unsafe-eval'", "connect-src 'self'", "frame-ancestors 'none'"):
        assert part in APP_CSP
    assert "unsafe-inline" not in APP_CSP and "unsafe-eval'" not in APP_CSP.replace("wasm-unsafe-eval'", "")


def test_the_manifest_is_published(client, frontend_dist):
    response = client.get("/.well-known/takeback-manifest.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["Content-Security-Policy"] == APP_CSP
    manifest = response.get_json()
    assert manifest["pyodide"] and manifest["commit"]
    for path, digest in manifest["files"].items():
        assert hashlib.sha256((frontend_dist / path).read_bytes()).hexdigest() == digest, path
    assert client.get("/takeback-manifest.json").status_code == 404  # one address only


def test_no_inline_script_or_style_in_the_page(client):
    html = client.get("/").get_data(as_text=True)
    assert "<style" not in html and " style=" not in html
    import re

    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag
    assert re.search(r"<script[^>]*>\s*[^<\s]", html) is None


def test_caching(client, frontend_dist):
    assert client.get("/").headers["Cache-Control"] == "no-cache"
    assert client.get("/sw.js").headers["Cache-Control"] == "no-cache"
    # The operator's help list: revalidated, so an edited list reaches the next visit.
    assert "helplines.json" in asset_paths(frontend_dist)
    assert client.get("/helplines.json").headers["Cache-Control"] == "no-cache"
    worker = next(p for p in asset_paths(frontend_dist) if p.startswith("assets/worker-"))
    assert "immutable" in client.get("/" + worker).headers["Cache-Control"]
    wasm = next(p for p in asset_paths(frontend_dist) if p.endswith(".wasm"))
    response = client.get("/" + wasm)
    assert response.mimetype == "application/wasm"
    assert "immutable" in response.headers["Cache-Control"]
    assert client.get("/nothing-here.js").status_code == 404
    assert client.get("/assets/../../pyproject.toml").status_code == 404


def test_brotli_only_when_asked_and_never_stale(frontend_dist, tmp_path):
    dist = tmp_path / "dist"
    shutil.copytree(frontend_dist, dist, ignore=shutil.ignore_patterns("*.wasm", "*.wasm.br", "*.zip", "*.zip.br"))
    client = create_app({"FRONTEND_DIST": str(dist), "TESTING": True}).test_client()
    worker = next(p for p in asset_paths(dist) if p.startswith("assets/worker-"))
    plain = (dist / worker).read_bytes()

    identity = client.get("/" + worker)
    assert "Content-Encoding" not in identity.headers and identity.data == plain
    br = client.get("/" + worker, headers={"Accept-Encoding": "gzip, br"})
    assert br.headers["Content-Encoding"] == "br"
    assert br.data == (dist / (worker + ".br")).read_bytes() and len(br.data) < len(plain)
    assert "Accept-Encoding" in br.headers["Vary"]

    # The file changes after the build (a hand edit, a partial deploy): its .br is now stale.
    (dist / worker).write_bytes(plain + b"\n// changed\n")
    stale = client.get("/" + worker, headers={"Accept-Encoding": "br"})
    assert "Content-Encoding" not in stale.headers
    assert stale.data == plain + b"\n// changed\n"
    # A .br swapped for other bytes is refused too.
    (dist / worker).write_bytes(plain)
    (dist / (worker + ".br")).write_bytes(b"garbage")
    assert "Content-Encoding" not in client.get("/" + worker, headers={"Accept-Encoding": "br"}).headers
    assert hashlib.sha256(client.get("/" + worker).data).hexdigest() == hashlib.sha256(plain).hexdigest()
    # A .br is never served by its own name.
    assert client.get("/" + worker + ".br").status_code == 404
