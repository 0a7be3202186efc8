"""Helpers for the partner tool's tests: the Flask app served on a real local port, the CLI in a subprocess."""
import contextlib
import os
import subprocess
import sys
import threading

from werkzeug.serving import make_server

from backend import storage

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@contextlib.contextmanager
def serve(app):
    """The app on http://127.0.0.1:<free port>, in a background thread (real HTTP, real database)."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield "http://127.0.0.1:%d" % httpd.server_port
    finally:
        httpd.shutdown()
        thread.join(10)


def add_partner(app, name="example-platform"):
    with app.app_context():
        return storage.add_partner(name)


class Result:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def cli(*args, token=None, store=None, background=False, subprocess_=False, input=None):
    """Run `takeback partner ARGS`; the token goes in the environment only.

    In this process through click's runner (quick), or in a new process (`subprocess_`,
    or `background` for a Popen to kill).
    """
    env = dict(os.environ)
    env.pop("TAKEBACK_TOKEN", None)
    env.pop("TAKEBACK_PARTNER_STORE", None)
    if token is not None:
        env["TAKEBACK_TOKEN"] = token
    if store is not None:
        env["TAKEBACK_PARTNER_STORE"] = str(store)
    command = [sys.executable, "-c", "from takeback.cli import main; main()", "partner", *map(str, args)]
    if background:
        return subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if subprocess_:
        done = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, timeout=120, input=input)
        return Result(done.returncode, done.stdout, done.stderr)
    from click.testing import CliRunner

    from takeback.cli import main

    changes = {k: env.get(k) for k in ("TAKEBACK_TOKEN", "TAKEBACK_PARTNER_STORE")}
    result = CliRunner().invoke(main, ["partner", *map(str, args)], env=changes, input=input, catch_exceptions=False)
    return Result(result.exit_code, result.stdout, result.stderr)


def store_snapshot(store):
    """{id: entry dict without the store's own seq} of everything the local store holds."""
    return {e["id"]: e for e in store.entries()}


def feed_snapshot(entries):
    return {e["id"]: e for e in entries}
