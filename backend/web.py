"""Serves the built frontend (frontend/dist) with a strict Content Security Policy.

Every response from here carries APP_CSP, the worker script included (a worker obeys the CSP
of its own script's response, not the page's). Hashed and versioned files are cached for a
year; the page, the service worker and the manifest are revalidated on every load. A
precompressed ``.br`` copy is sent only when the build recorded it for the very bytes of the
file now on disk (checked by SHA-256), so a stale copy can never be served.
"""
import hashlib
import json
import os
import threading

from flask import Blueprint, abort, current_app, request, send_file

bp = Blueprint("web", __name__)

# 'wasm-unsafe-eval': Pyodide compiles its WebAssembly. connect-src 'self': the worker fetches
# Pyodide's files and the page talks to the API, nothing else. media-src blob:: a picked video
# plays (muted, never shown) from an object URL of the file so that its frames can be drawn.
# No inline script or style.
APP_CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "worker-src 'self'",
        "connect-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "media-src blob:",
        "manifest-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"

MIME = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".wasm": "application/wasm",
    ".zip": "application/zip",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
}

# Files at the top of dist/ that may be fetched by name, and their caching.
# helplines.json is the operator's list of help services (docs/HELP.md): revalidated, so an
# edited list reaches people on their next visit.
ROOT_FILES = {"sw.js": REVALIDATE, "favicon.svg": "public, max-age=86400", "helplines.json": REVALIDATE}

_lock = threading.Lock()
_digests = {}  # path -> ((mtime_ns, size), sha256)
_precompressed = {}  # dist -> ((mtime_ns, size), {relpath: {"source", "br"}})


def _sha256(path):
    st = os.stat(path)
    key = (st.st_mtime_ns, st.st_size)
    with _lock:
        hit = _digests.get(path)
    if hit and hit[0] == key:
        return hit[1]
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    digest = h.hexdigest()
    with _lock:
        _digests[path] = (key, digest)
    return digest


def _precompressed_table(dist):
    path = os.path.join(dist, "precompressed.json")
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return {}
    key = (st.st_mtime_ns, st.st_size)
    with _lock:
        hit = _precompressed.get(dist)
    if hit and hit[0] == key:
        return hit[1]
    with open(path, encoding="utf-8") as f:
        table = json.load(f)
    with _lock:
        _precompressed[dist] = (key, table)
    return table


def _accepts_br():
    return any(
        part.split(";")[0].strip().lower() == "br" and "q=0" not in part.replace(" ", "")
        for part in request.headers.get("Accept-Encoding", "").split(",")
    )


def _serve(relpath, cache_control):
    dist = current_app.config["FRONTEND_DIST"]
    root = os.path.realpath(dist)
    path = os.path.realpath(os.path.join(root, relpath))
    if not path.startswith(root + os.sep) or not os.path.isfile(path) or path.endswith(".br"):
        abort(404)
    rel = os.path.relpath(path, root).replace(os.sep, "/")
    mimetype = MIME.get(os.path.splitext(path)[1], "application/octet-stream")
    encoded = None
    entry = _precompressed_table(dist).get(rel)
    if entry and _accepts_br():
        br = path + ".br"
        if os.path.isfile(br) and _sha256(path) == entry["source"] and _sha256(br) == entry["br"]:
            encoded = br
    response = send_file(encoded or path, mimetype=mimetype, conditional=True, etag=True, max_age=None)
    if encoded:
        response.headers["Content-Encoding"] = "br"
    if entry:
        response.headers["Vary"] = "Accept-Encoding"
    response.headers["Cache-Control"] = cache_control
    response.headers["Content-Security-Policy"] = APP_CSP
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    return response


@bp.get("/")
def index():
    dist = current_app.config["FRONTEND_DIST"]
    if os.path.exists(os.path.join(dist, "index.html")):
        return _serve("index.html", REVALIDATE)
    return "Takeback: the frontend is not built yet.\n", 200, {"Content-Type": "text/plain; charset=utf-8"}


@bp.get("/assets/<path:name>")
def assets(name):
    # Vite puts a content hash in every file name here.
    return _serve("assets/" + name, IMMUTABLE)


@bp.get("/pyodide/<path:name>")
def pyodide(name):
    # Under the Pyodide version; the trimmed standard library carries its own content hash.
    return _serve("pyodide/" + name, IMMUTABLE)


@bp.get("/.well-known/takeback-manifest.json")
def manifest():
    # The build's list of every served file with its SHA-256, its commit and Pyodide version:
    # what `takeback audit` compares a deployment with (docs/AUDIT.md).
    return _serve("takeback-manifest.json", REVALIDATE)


@bp.get("/<name>")
def root_file(name):
    if name not in ROOT_FILES:
        abort(404)
    return _serve(name, ROOT_FILES[name])
