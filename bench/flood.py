"""`make bench-flood`: what one flooding client gets, with and without proof of work, and what a
genuine submission waits meanwhile. Figures, not a pass/fail test.

A real server (Werkzeug, threaded, as `make run` serves) in a process of its own on a fresh
SQLite file, for each of two settings: admission off (as before) and on (the production
difficulty, ADMISSION_BITS). In each, for `--seconds` (8): one flooding client sends junk cases
back to back (random hashes, as big as a body and the caps allow: 100 photos of 67 hashes, or
videos of 400 frame hashes), solving the work in CPython when admission is on; meanwhile a
genuine client sends a case of 3 photos (67 hashes each) every second. Printed: junk cases and
feed entries per second; the genuine POSTs' latency (median, max), not counting its own work.
First, the seconds one big case holds the database's write lock (`--database URL` adds another
database, e.g. an empty PostgreSQL one: its tables are dropped and made again).
"""
import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from hashing import admission

SERVE = """
import logging, sys
from flask_migrate import upgrade
from werkzeug.serving import make_server
from backend import create_app
app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite:///" + sys.argv[1], "ADMISSION": sys.argv[2] == "on",
                  "QUARANTINE_SECONDS": 600})
logging.getLogger("werkzeug").setLevel(logging.ERROR)
logging.getLogger("takeback.access").setLevel(logging.ERROR)
with app.app_context():
    upgrade()
httpd = make_server("127.0.0.1", 0, app, threaded=True)
print(httpd.server_port, flush=True)
httpd.serve_forever()
"""


def pdq(rng):
    return {"type": "pdq", "value": "%064x" % rng.getrandbits(256), "quality": 80}


def photo(rng):
    return {"media": "image", "hashes": [pdq(rng) for _ in range(65)] + [
        {"type": "md5", "value": "%032x" % rng.getrandbits(128)},
        {"type": "sha256", "value": "%064x" % rng.getrandbits(256)}]}


def video(rng):
    return {"media": "video", "hashes": [pdq(rng) for _ in range(400)] + [
        {"type": "md5", "value": "%032x" % rng.getrandbits(128)},
        {"type": "sha256", "value": "%064x" % rng.getrandbits(256)}]}


def junk_body(kind, rng, limit=2 * 1024 * 1024):
    """The largest junk case of `kind` under the body limit and the item cap."""
    items = []
    while len(items) < 100:
        item = photo(rng) if kind == "photos" else video(rng)
        if len(json.dumps({"items": items + [item]})) > limit:
            break
        items.append(item)
    return json.dumps({"items": items}).encode()


class Client:
    def __init__(self, port):
        self.port = port

    def call(self, method, path, body=None, headers=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        payload = response.read()
        connection.close()
        return response.status, payload

    def submit(self, body, work):
        """(status, seconds solving, seconds posting)."""
        headers = {"Content-Type": "application/json"}
        t0 = time.perf_counter()
        if work:
            challenge = json.loads(self.call("GET", "/api/v1/cases/challenge")[1])
            bits = admission.required_bits(challenge["bits"], admission.case_hashes(body))
            nonce = admission.solve(challenge["challenge"], admission.body_digest(body), bits)
            headers.update({"X-Takeback-Challenge": challenge["challenge"], "X-Takeback-Work": str(nonce)})
        t1 = time.perf_counter()
        status, _ = self.call("POST", "/api/v1/cases", body, headers)
        return status, t1 - t0, time.perf_counter() - t1


def run(setting, kind, seconds, folder):
    server = subprocess.Popen([sys.executable, "-c", SERVE, os.path.join(folder, "%s-%s.sqlite" % (setting, kind)),
                               setting], stdout=subprocess.PIPE, text=True)
    try:
        client = Client(int(server.stdout.readline()))
        work = setting == "on"
        rng = random.Random(1)
        bodies = [junk_body(kind, rng) for _ in range(3)]
        entries = admission.case_hashes(bodies[0])
        stop = time.perf_counter() + seconds
        flood = {"cases": 0, "refused": 0}

        def flooder():
            n = 0
            while time.perf_counter() < stop:
                body = bodies[n % len(bodies)] if not work else junk_body(kind, rng)  # a body is spent once
                n += 1
                status, _, _ = client.submit(body, work)
                flood["cases" if status == 201 else "refused"] += 1

        genuine = []

        def person():
            prng = random.Random(2)
            while time.perf_counter() < stop:
                started = time.perf_counter()
                body = json.dumps({"items": [photo(prng) for _ in range(3)]}).encode()
                status, solving, posting = client.submit(body, work)
                genuine.append((status, solving, posting))
                time.sleep(max(0, 1 - (time.perf_counter() - started)))

        threads = [threading.Thread(target=flooder), threading.Thread(target=person)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        posts = [p for _, _, p in genuine]
        solves = [s for _, s, _ in genuine]
        print("admission %-3s  junk %-6s (%5d entries each): %6.2f cases/s, %7.0f entries/s | genuine: %d sent, "
              "%d ok, POST median %.2f s, max %.2f s%s" % (
                  setting, kind, entries, flood["cases"] / elapsed, flood["cases"] * entries / elapsed, len(genuine),
                  sum(s == 201 for s, _, _ in genuine), statistics.median(posts), max(posts),
                  ", its work median %.2f s" % statistics.median(solves) if work else ""), flush=True)
    finally:
        server.terminate()
        server.wait(10)


def lock_time(url):
    """Seconds storage.create_case holds the write lock for a case of 36,000 new entries (what a
    2 MiB body of digests held before the caps), and for 100 photos (6,700)."""
    from backend import case_ids, create_app, storage
    from backend.models import db
    from hashing import HashRecord, MediaRecord

    rng = random.Random(3)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "QUARANTINE_SECONDS": 600})
    out = []
    with app.app_context():
        db.drop_all()
        db.create_all()
        for items, per in ((100, 360), (100, 67)):
            records = [MediaRecord("image", [HashRecord("pdq", "%064x" % rng.getrandbits(256), 80) for _ in range(per)])
                       for _ in range(items)]
            t = time.perf_counter()
            storage.create_case(case_ids.new_case_id(), "x", records, time.time(), 600)
            out.append("%d entries %.2f s" % (items * per, time.perf_counter() - t))
        db.session.remove()
        db.drop_all()
        db.engine.dispose()
    return ", ".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--database", help="also time the write lock on this (empty) database, e.g. PostgreSQL")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        print("write lock per case, SQLite: %s" % lock_time("sqlite:///%s/lock.sqlite" % folder), flush=True)
    if args.database:
        from backend import database_url

        print("write lock per case, %s: %s" % (args.database.split(":")[0], lock_time(database_url(args.database, ""))),
              flush=True)
    t = time.perf_counter()
    n = admission.solve("bench", admission.body_digest(b""), 20)
    print("CPython: %.0f SHA-256/s for the work (production 17 bits: ~%.2f s a case of up to %d hashes)" % (
        (n + 1) / (time.perf_counter() - t), 2**17 / ((n + 1) / (time.perf_counter() - t)), admission.FREE_HASHES))
    with tempfile.TemporaryDirectory() as folder:
        for setting in ("off", "on"):
            for kind in ("photos", "videos"):
                run(setting, kind, args.seconds, folder)


if __name__ == "__main__":
    main()
