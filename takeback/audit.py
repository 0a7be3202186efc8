"""`takeback audit URL`: does a live deployment serve exactly the reviewed frontend?

It fetches every file a browser loads from URL (the page, its script and stylesheet, the
hashing worker with hashing/*.py built in, Pyodide's files, the service worker) twice: plainly,
and compressed the way a browser asks for it. The SHA-256 of the decoded bytes is compared
with a reference: a manifest file (--manifest), a reproducible build of this checkout (--build),
or else the manifest the server publishes about itself at /.well-known/takeback-manifest.json
(which only shows that the server is consistent with itself). It also checks the
Content-Security-Policy of the page and of every script (a worker obeys its own script's
policy), that the page loads nothing from another origin, and that the page's scripts carry
Subresource Integrity. One line per check, then PASS or FAIL; exit status 1 on any problem.
docs/AUDIT.md says what this proves and what it does not.
"""
import base64
import gzip
import hashlib
import http.client
import json
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import zlib
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import brotli
import click

REPO = Path(__file__).resolve().parent.parent
MANIFEST_PATH = "/.well-known/takeback-manifest.json"
# Headers like those of a phone's Chromium, so that the audit is not singled out by them (a
# server could still tell it apart in other ways: docs/AUDIT.md). Each file is fetched plainly
# and with the browser's Accept-Encoding, so a server cannot hide other code in a compressed copy.
BROWSER = {
    "User-Agent": "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/156.0.0.0 Mobile Safari/537.36",
    "Accept-Language": "en-US,en;q=0.9",
}
ENCODINGS = ("identity", "gzip, deflate, br, zstd")

# CSP: what each directive may contain. Anything naming another origin (a host, *, http:,
# https:, ws:, wss:) fails; so do inline code ('unsafe-inline', hashes, nonces) and eval.
CONNECT = {"'self'", "'none'"}
SCRIPT = {"'self'", "'none'", "'wasm-unsafe-eval'"}
LOCAL_SCHEMES = {"blob:", "data:", "mediastream:", "filesystem:"}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args):
        return None  # a redirect is reported as it is, never followed to wherever it points


_opener = urllib.request.build_opener(_NoRedirect)


def decode(body, content_encoding):
    """The bytes a browser would get after undoing Content-Encoding (applied in order)."""
    for coding in reversed([c.strip().lower() for c in content_encoding.split(",") if c.strip()]):
        try:
            if coding == "br":
                body = brotli.decompress(body)
            elif coding in ("gzip", "x-gzip"):
                body = gzip.decompress(body)
            elif coding == "deflate":
                try:
                    body = zlib.decompress(body)
                except zlib.error:
                    body = zlib.decompress(body, -zlib.MAX_WBITS)  # raw deflate, as some servers send
            elif coding == "zstd":
                try:
                    import zstandard
                except ImportError:
                    raise ValueError("sent as zstd; install the zstandard package to check it") from None
                body = zstandard.ZstdDecompressor().decompressobj().decompress(body)
            elif coding != "identity":
                raise ValueError("unknown Content-Encoding %r" % coding)
        except (brotli.error, OSError, EOFError, zlib.error) as e:
            raise ValueError("cannot decode the %s body: %s" % (coding, e)) from None
    return body


def fetch(url, accept_encoding="identity"):
    """(status, headers, decoded body or None, problem or None)."""
    request = urllib.request.Request(url, headers={**BROWSER, "Accept-Encoding": accept_encoding})
    try:
        with _opener.open(request, timeout=120) as response:
            raw = response.read()
            return response.status, response.headers, decode(raw, response.headers.get("Content-Encoding", "")), None
    except urllib.error.HTTPError as e:
        return e.code, e.headers, None, "HTTP %d" % e.code
    except ValueError as e:
        return None, None, None, str(e)
    except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
        return None, None, None, "cannot fetch it: %s" % getattr(e, "reason", e)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------- Content-Security-Policy
def parse_csp(header):
    """[{directive: [source, ...]}], one dict per policy (several headers are joined by commas)."""
    policies = []
    for text in header.split(","):
        policy = {}
        for part in text.split(";"):
            words = part.strip().lower().split()
            if words and words[0] not in policy:  # a repeated directive is ignored by browsers
                policy[words[0]] = words[1:]
        policies.append(policy)
    return policies


def _first(policy, *names):
    """A directive's sources, falling back as browsers do; None when nothing restricts it."""
    for name in names:
        if name in policy:
            return policy[name]
    return None


def policy_problems(policy):
    problems = []

    def only(label, sources, allowed, why):
        bad = [s for s in sources or [] if s not in allowed]
        if sources is None:
            problems.append("%s is not restricted (%s)" % (label, why))
        elif bad:
            problems.append("%s allows %s (%s)" % (label, " ".join(bad), why))

    default = policy.get("default-src")
    if default not in (["'none'"], ["'self'"]):
        problems.append("default-src is %s (must be 'none' or 'self')" % (" ".join(default) if default else "missing"))
    only("connect-src", _first(policy, "connect-src", "default-src"), CONNECT, "only 'self' may be contacted")
    scripts = "scripts only from 'self', no inline code or eval"
    only("script-src", _first(policy, "script-src", "default-src"), SCRIPT, scripts)
    for name in ("script-src-elem", "script-src-attr"):
        if name in policy:
            only(name, policy[name], SCRIPT, scripts)
    only("worker-src", _first(policy, "worker-src", "child-src", "script-src", "default-src"), SCRIPT, scripts)
    # Everything else that loads or sends something (images, styles, media, forms...) stays here too.
    strict = {"default-src", "connect-src", "script-src", "script-src-elem", "script-src-attr", "worker-src"}
    for name, sources in policy.items():
        if (name.endswith("-src") or name == "form-action") and name not in strict:
            other = [s for s in sources if not s.startswith("'") and s not in LOCAL_SCHEMES]
            if other:
                problems.append("%s allows another origin: %s" % (name, " ".join(other)))
    return problems


def csp_problems(header):
    if not header:
        return ["no Content-Security-Policy header"]
    # The browser enforces every policy given, so one strict policy is enough.
    return min((policy_problems(p) for p in parse_csp(header)), key=len)


# ---------------------------------------------------------------- the page
class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def page_loads(html, page_url):
    """[(tag, attributes, absolute URL)] of everything the page itself makes the browser fetch."""
    parser = _Tags()
    parser.feed(html)
    out = []
    for tag, attrs in parser.tags:
        if tag == "a":
            continue  # a link is fetched only if the person follows it
        for name in ("src", "href", "poster", "data", "action", "formaction", "manifest", "srcset"):
            value = (attrs.get(name) or "").strip()
            urls = [part.split()[0] for part in value.split(",") if part.split()] if name == "srcset" else [value]
            # data: and blob: are the page's own memory, not a fetch from anywhere.
            out += [(tag, attrs, urljoin(page_url, u)) for u in urls if u and not u.startswith(("data:", "blob:"))]
    return out


def sri_matches(integrity, body):
    digests = {"sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}
    for item in integrity.split():
        algorithm, _, value = item.partition("-")
        if algorithm in digests and base64.b64encode(digests[algorithm](body).digest()).decode() == value:
            return True
    return False


# ---------------------------------------------------------------- the audit
class Report:
    def __init__(self, echo):
        self.echo = echo
        self.problems = 0

    def check(self, ok, text):
        self.echo(("OK    " if ok else "FAIL  ") + text)
        self.problems += not ok

    def note(self, text):
        self.echo("NOTE  " + text)


def audit(url, reference=None, label="the manifest the server publishes", echo=click.echo):
    """Runs every check against the deployment at `url`; returns the number of problems."""
    parts = urlsplit(url if "://" in url else "https://" + url)
    origin = "%s://%s" % (parts.scheme, parts.netloc)
    report = Report(echo)
    echo("Takeback audit of %s, compared with %s" % (origin, label))

    def url_of(path):
        return origin + ("/" if path == "index.html" else "/" + path)  # the page is served at /

    # The manifest the server publishes.
    _, _, body, problem = fetch(origin + MANIFEST_PATH)
    served = None
    if body is not None:
        try:
            served = json.loads(body)
            served["files"] = dict(served["files"])
        except (ValueError, KeyError, TypeError):
            problem = "not a manifest"
    report.check(served is not None, "manifest %s: %s" % (
        MANIFEST_PATH,
        problem or "commit %s, Pyodide %s, %d files" % (served.get("commit"), served.get("pyodide"), len(served["files"]))))
    if reference is None:
        if served is None:
            echo("FAIL: nothing to compare with (no manifest given, none served)")
            return report.problems + 1
        reference = served
        report.note("the server's own manifest only shows that it serves what it lists; "
                    "compare with a build you made (--build) or a manifest you trust (--manifest)")
    elif served is not None:
        want, have = reference["files"], served["files"]
        for path in sorted(set(want) | set(have)):
            if path not in have:
                report.check(False, "manifest: %s is missing from the server's manifest" % path)
            elif path not in want:
                report.check(False, "manifest: the server lists %s, which the reference does not have" % path)
            elif want[path] != have[path]:
                report.check(False, "manifest: the server lists %s with another SHA-256" % path)
        if want == have:
            report.check(True, "manifest: the server lists the same %d files with the same SHA-256" % len(want))
        if served.get("commit") != reference.get("commit"):
            report.note("the server's manifest names commit %s, the reference %s"
                        % (served.get("commit"), reference.get("commit")))

    # Every file, plainly and compressed: the decoded bytes must be the reference's.
    bodies, headers = {}, {}
    for path, expected in sorted(reference["files"].items()):
        problems, codings = [], []
        for accept in ENCODINGS:
            _, hdrs, body, problem = fetch(url_of(path), accept)
            if hdrs is not None:
                headers.setdefault(path, []).append(hdrs)
            if body is None:
                problems.append("%s (Accept-Encoding: %s)" % (problem, accept))
                continue
            bodies.setdefault(path, body)
            codings.append(hdrs.get("Content-Encoding") or "plain")
            if sha256(body) != expected:
                problems.append("served bytes differ from the reference (Accept-Encoding: %s, %s: sha256 %s, expected %s)"
                                % (accept, codings[-1], sha256(body)[:16], expected[:16]))
        report.check(not problems, "%s: %s" % (path, "; ".join(problems) or "same bytes as the reference (%s)"
                                                 % ", ".join(dict.fromkeys(codings))))

    # The policy of the page and of every script; the worker's is the one it runs under.
    for path in ["index.html", *sorted(p for p in reference["files"] if p.endswith((".js", ".mjs")))]:
        kind = "the page (/)" if path == "index.html" else \
            "the worker script " + path if "worker" in path.rsplit("/", 1)[-1] else path
        if path not in headers:
            report.check(False, "CSP of %s: not fetched" % kind)
            continue
        found = []
        for hdrs in headers[path]:
            found += csp_problems(hdrs.get("Content-Security-Policy"))
        report.check(not found, "CSP of %s: %s" % (kind, "; ".join(dict.fromkeys(found)) or "strict, connect-src 'self'"))

    # What the page makes the browser load: nothing from elsewhere, nothing unlisted, with SRI.
    html = bodies.get("index.html")
    if html is not None:
        loads = page_loads(html.decode("utf-8", "replace"), origin + "/")
        foreign = [u for _, _, u in loads if urlsplit(u)._replace(path="", query="", fragment="").geturl() != origin]
        for u in foreign:
            report.check(False, "the page loads %s from another origin" % u)
        if not foreign:
            report.check(True, "the page loads nothing from another origin (%d references)" % len(loads))
        for tag, attrs, u in loads:
            if u in foreign:
                continue
            path = urlsplit(u).path.lstrip("/") or "index.html"
            if path not in reference["files"]:
                report.check(False, "the page loads /%s, which is not in the reference" % path)
            elif tag == "script" or (attrs.get("rel") or "").lower() in ("stylesheet", "modulepreload"):
                integrity = attrs.get("integrity")
                ok = bool(integrity) and path in bodies and sri_matches(integrity, bodies[path])
                report.check(ok, "/%s: %s" % (path, "Subresource Integrity matches" if ok else
                                               "loaded without integrity" if not integrity else
                                               "its integrity attribute does not match its bytes"))

    echo("PASS: every file matches and the headers are strict" if not report.problems
         else "FAIL: %d problem%s" % (report.problems, "" if report.problems == 1 else "s"))
    return report.problems


def build_reference():
    """The manifest of a fresh reproducible build of this checkout, made in a temporary directory."""
    tool = REPO / "frontend" / "tools" / "build.mjs"
    if not tool.is_file() or not (REPO / "node_modules").is_dir():
        raise click.ClickException("--build needs a source checkout with its npm packages (make setup): %s" % REPO)
    with tempfile.TemporaryDirectory(prefix="takeback-audit-") as out:
        done = subprocess.run(["node", str(tool), "--out", out, "--no-brotli"], cwd=REPO, capture_output=True, text=True)
        if done.returncode:
            raise click.ClickException("the build failed:\n" + done.stderr[-3000:])
        return json.loads((Path(out) / "takeback-manifest.json").read_text())


@click.command("audit")
@click.argument("url")
@click.option("--manifest", "manifest_file", type=click.Path(exists=True, dir_okay=False),
              help="Compare with this manifest (one you built or trust).")
@click.option("--build", is_flag=True, help="Compare with a reproducible build of this checkout (needs node and npm ci).")
def audit_command(url, manifest_file, build):
    """Check that the deployment at URL serves exactly the reviewed frontend, with a strict CSP.

    Fetches every file a browser loads (plainly and compressed), compares its SHA-256 with the
    reference, checks the Content-Security-Policy of the page and of every script (the worker's
    included), that the page loads nothing from another origin and carries Subresource
    Integrity. Prints one line per check and PASS or FAIL; exits 1 on any problem.
    Without --manifest or --build it compares with the server's own manifest.
    """
    if manifest_file and build:
        raise click.UsageError("--manifest and --build exclude each other")
    reference, label = None, "the manifest the server publishes"
    if manifest_file:
        try:
            reference = json.loads(Path(manifest_file).read_text())
            reference["files"] = dict(reference["files"])
        except (ValueError, KeyError, TypeError):
            raise click.ClickException("%s is not a Takeback manifest (no \"files\")" % manifest_file) from None
        label = "%s (commit %s)" % (manifest_file, reference.get("commit"))
    elif build:
        reference = build_reference()
        label = "a build of %s (commit %s)" % (REPO, reference.get("commit"))
    sys.exit(1 if audit(url, reference, label) else 0)
