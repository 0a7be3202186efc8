"""Auditors: `takeback audit` against the real server, the reproducible build, "What was sent".

The audit runs in-process (click's runner) against werkzeug servers on 127.0.0.1. Broken
deployments are served from a copy of frontend/dist (the real one is never touched).
"""
import os
import re
import shutil
import subprocess
from contextlib import contextmanager

import pytest
from click.testing import CliRunner
from flask import request

from backend import create_app, web
from takeback.audit import csp_problems
from takeback.cli import main
from tests.partner_support import serve

from .conftest import PHOTOS, REPO, open_app, pick


@contextmanager
def serving(dist, after_request=None):
    """The app's static side on a free port, serving `dist`."""
    app = create_app({"FRONTEND_DIST": str(dist), "TESTING": True})
    if after_request:
        # First in the list runs last: after the app's own hooks, which would add a fallback CSP.
        app.after_request_funcs.setdefault(None, []).insert(0, after_request)
    with serve(app) as base:
        yield base


def audit(base, *options):
    result = CliRunner().invoke(main, ["audit", base, *options])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def failures(output):
    return [line for line in output.splitlines() if line.startswith("FAIL  ")]  # not the verdict


@pytest.fixture
def dist_copy(frontend_dist, tmp_path):
    copy = tmp_path / "dist"
    shutil.copytree(frontend_dist, copy)
    return copy


def one_file(dist, pattern):
    (path,) = [p for p in dist.glob(pattern) if not p.name.endswith(".br")]
    return path


def test_audit_passes_against_the_test_server(server, frontend_dist):
    code, out = audit(server, "--manifest", str(frontend_dist / "takeback-manifest.json"))
    assert code == 0, out
    assert out.rstrip().endswith("PASS: every file matches and the headers are strict")
    assert failures(out) == []
    worker = one_file(frontend_dist, "assets/worker-*.js").relative_to(frontend_dist).as_posix()
    assert "OK    %s: same bytes as the reference (plain, br)" % worker in out
    assert "OK    CSP of the worker script %s: strict, connect-src 'self'" % worker in out
    assert "OK    CSP of the page (/): strict, connect-src 'self'" in out
    assert re.search(r"OK    pyodide/[\d.]+/pyodide\.asm\.wasm: same bytes", out)
    assert "OK    the page loads nothing from another origin" in out
    assert re.search(r"OK    /assets/index-[\w-]+\.js: Subresource Integrity matches", out)

    # Without a reference of one's own: the server's manifest, with a note saying what that is worth.
    code, out = audit(server)
    assert code == 0, out
    assert "NOTE  the server's own manifest only shows" in out


def test_audit_against_a_fresh_build_of_this_checkout(server):
    code, out = audit(server, "--build")
    assert code == 0, out
    assert "compared with a build of %s" % REPO in out
    assert "OK    manifest: the server lists the same" in out


def test_one_changed_byte_of_a_script_fails(frontend_dist, dist_copy):
    script = one_file(dist_copy, "assets/index-*.js")
    data = bytearray(script.read_bytes())
    data[len(data) // 2] ^= 0x01
    script.write_bytes(bytes(data))
    with serving(dist_copy) as base:
        code, out = audit(base, "--manifest", str(frontend_dist / "takeback-manifest.json"))
    assert code == 1
    name = script.relative_to(dist_copy).as_posix()
    assert any(f.startswith("FAIL  %s: served bytes differ from the reference" % name) for f in failures(out)), out
    assert "FAIL  /%s: its integrity attribute does not match its bytes" % name in out
    assert "manifest: the server lists the same" in out  # its manifest still claims the original bytes
    assert out.rstrip().splitlines()[-1].startswith("FAIL: ")


def test_a_weakened_csp_fails(frontend_dist, monkeypatch):
    monkeypatch.setattr(web, "APP_CSP", web.APP_CSP.replace("connect-src 'self'", "connect-src 'self' https://collector.example"))
    with serving(frontend_dist) as base:
        code, out = audit(base, "--manifest", str(frontend_dist / "takeback-manifest.json"))
    assert code == 1
    bad = failures(out)
    assert "FAIL  CSP of the page (/): connect-src allows https://collector.example (only 'self' may be contacted)" in bad, out
    assert any(f.startswith("FAIL  CSP of the worker script assets/worker-") and "collector.example" in f for f in bad)
    assert not any("same bytes" in f or "differ" in f for f in bad)  # the files themselves are fine


@pytest.mark.parametrize("policy, problem", [
    ("default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'", None),
    ("default-src 'self'", None),
    ("default-src 'none'; script-src 'self'", None),  # connect-src falls back to 'none'
    ("default-src 'none'; script-src 'self'; connect-src *", "connect-src allows * (only 'self' may be contacted)"),
    ("default-src 'none'; script-src 'self'; connect-src 'self' wss:", "connect-src allows wss:"),
    ("default-src 'none'; script-src 'self'; connect-src 'self' http://127.0.0.1:9", "connect-src allows http://127.0.0.1:9"),
    ("default-src 'none'; script-src 'self' 'unsafe-inline'; connect-src 'self'", "script-src allows 'unsafe-inline'"),
    ("default-src 'none'; script-src 'self' 'unsafe-eval'; connect-src 'self'", "script-src allows 'unsafe-eval'"),
    ("default-src 'none'; script-src 'self' https://cdn.example; connect-src 'self'", "script-src allows https://cdn.example"),
    ("default-src 'none'; script-src 'self'; worker-src blob:", "worker-src allows blob:"),
    ("script-src 'self'; connect-src 'self'", "default-src is missing"),
    ("default-src 'none'; script-src 'self'; connect-src 'self'; img-src https:", "img-src allows another origin: https:"),
    ("default-src 'none'; script-src 'self'; connect-src 'self'; form-action https://x.example", "form-action allows another origin"),
    ("default-src *; script-src 'self'", "default-src is * (must be 'none' or 'self')"),
    # Two policies are both enforced: one strict policy is enough.
    ("default-src *, default-src 'none'; script-src 'self'; connect-src 'self'", None),
    ("", "no Content-Security-Policy header"),
])
def test_csp_rules(policy, problem):
    found = csp_problems(policy)
    if problem is None:
        assert found == []
    else:
        assert any(problem in p for p in found), found


def test_a_worker_script_without_its_csp_fails(frontend_dist):
    def drop_csp(response):
        if request.path.startswith("/assets/worker-"):
            del response.headers["Content-Security-Policy"]
        return response

    with serving(frontend_dist, after_request=drop_csp) as base:
        code, out = audit(base, "--manifest", str(frontend_dist / "takeback-manifest.json"))
    assert code == 1
    worker = one_file(frontend_dist, "assets/worker-*.js").relative_to(frontend_dist).as_posix()
    assert failures(out) == ["FAIL  CSP of the worker script %s: no Content-Security-Policy header" % worker]
    assert out.rstrip().endswith("FAIL: 1 problem")


def test_a_page_that_loads_from_another_origin_fails(dist_copy):
    page = dist_copy / "index.html"
    page.write_text(page.read_text().replace("</head>", '<script src="https://evil.example/x.js"></script>\n</head>'))
    with serving(dist_copy) as base:
        code, out = audit(base)  # even the server's own (now stale) manifest catches it
    assert code == 1
    assert "FAIL  the page loads https://evil.example/x.js from another origin" in out
    assert any(f.startswith("FAIL  index.html: served bytes differ") for f in failures(out))


BUILD_INPUTS = ["package.json", "package-lock.json", "hashing", "frontend/index.html", "frontend/public",
                "frontend/src", "frontend/tools", "frontend/tsconfig.json", "frontend/vite.config.ts"]


def checkout(root):
    """The build's inputs copied to `root` (as from a tarball: no .git), with the npm packages."""
    for name in BUILD_INPUTS:
        src, dst = REPO / name, root / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dst)
    (root / "node_modules").symlink_to(REPO / "node_modules")
    return root


def tree(dist):
    return {p.relative_to(dist).as_posix(): p.read_bytes() for p in sorted(dist.rglob("*")) if p.is_file()}


def test_two_builds_in_different_directories_are_byte_identical(frontend_dist, tmp_path):
    # frontend_dist: `make frontend` has run, so npm packages are there and the brotli cache is warm.
    roots = [checkout(tmp_path / "a"), checkout(tmp_path / "a-much-longer-directory-name" / "checkout")]
    env = {k: v for k, v in os.environ.items() if k != "TAKEBACK_COMMIT"}
    for root in roots:
        done = subprocess.run(["node", "frontend/tools/build.mjs"], cwd=root, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-3000:]
    first, second = (tree(root / "frontend" / "dist") for root in roots)
    assert sorted(first) == sorted(second)
    assert [name for name in first if first[name] != second[name]] == []
    assert {"index.html", "sw.js", "takeback-manifest.json"} <= set(first)
    for root in roots:  # no trace of where it was built
        assert [n for n, data in first.items() if str(root).encode() in data or str(tmp_path).encode() in data] == []


def test_what_was_sent_lists_every_request(phone, server):
    context, recorder = phone
    page = context.new_page()
    open_app(page)
    page.click("#start")
    pick(page, [PHOTOS / "opencv__graf1.png"])
    page.click("#to-review")
    page.click("#submit")
    page.wait_for_selector("#screen-receipt:not([hidden])")
    page.click("#to-sent")
    page.wait_for_selector("#screen-sent:not([hidden])")
    rows = page.evaluate("() => [...document.querySelectorAll('#sent-rows tr')].map(tr => [...tr.cells].map(c => c.textContent))")

    (post,) = [r for r in recorder.non_get()]
    assert [r for r in rows if r[0] != "GET"] == [["POST", "/api/v1/cases", str(len(post.post_data_buffer))]]
    gets = [path for method, path, sent in rows if method == "GET"]
    assert gets[0] == "/" and all(sent == "0" for method, _, sent in rows if method == "GET")
    assert any(p.startswith("/assets/index-") and p.endswith(".js") for p in gets)
    assert all(p.startswith(("/", "/assets/", "/pyodide/")) for p in gets)
    total = page.text_content("#sent-total")
    assert total == "Requests: %d · bytes sent: {:,}".format(len(post.post_data_buffer)) % len(rows)
    page.click("#sent-back")
    page.wait_for_selector("#screen-receipt:not([hidden])")
