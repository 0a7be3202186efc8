"""`make bench-pins`: figures for PIN guessing limits (backend/pins.py), not a pass/fail test.

A real server (Werkzeug, threaded, as `make run` serves; production scrypt cost) on a fresh
SQLite file, or with `--database URL` on an empty database (the tables are made there). For
`--seconds` (10), `--guessers` (8) threads send wrong PINs as fast as they can: half at random
ids (a new one each time), half at one real case. Meanwhile the owner of another case, one
nobody guesses at, opens it with the right PIN every half second. Printed: answers per second
by kind, how many PINs of the attacked case were checked at all, the owner's answers and waits.
"""
import argparse
import http.client
import json
import logging
import statistics
import tempfile
import threading
import time

from werkzeug.serving import make_server

from backend import case_ids, create_app
from backend.models import db


def call(port, method, path, pin=None, body=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json"}
    if pin:
        headers["X-Case-PIN"] = pin
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    payload = response.read()
    connection.close()
    return response.status, payload


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--guessers", type=int, default=8)
    parser.add_argument("--database", help="a SQLAlchemy URL (default: a new SQLite file)")
    args = parser.parse_args()

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    folder = tempfile.TemporaryDirectory()
    # No proof of work: this is about PINs (make bench-flood measures admission).
    app = create_app({"SQLALCHEMY_DATABASE_URI": args.database or "sqlite:///%s/bench.sqlite" % folder.name,
                      "ADMISSION": False})
    with app.app_context():
        db.create_all()
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    port = httpd.server_port

    body = json.dumps({"items": [{"media": "image", "hashes": [{"type": "md5", "value": "0" * 32}]}]})
    owner = json.loads(call(port, "POST", "/api/v1/cases", body=body)[1])
    attacked = json.loads(call(port, "POST", "/api/v1/cases", body=body)[1])

    stop = time.monotonic() + args.seconds
    answers = {"random ids": {}, "attacked case": {}}
    lock = threading.Lock()

    def guess(kind):
        while time.monotonic() < stop:
            case_id = case_ids.new_case_id() if kind == "random ids" else attacked["case_id"]
            status = call(port, "GET", "/api/v1/cases/" + case_id, pin="000000000000")[0]
            with lock:
                answers[kind][status] = answers[kind].get(status, 0) + 1

    guessers = [threading.Thread(target=guess, args=("random ids" if n % 2 else "attacked case",))
                for n in range(args.guessers)]
    for guesser in guessers:
        guesser.start()
    owner_answers, owner_waits = {}, []
    while time.monotonic() < stop:
        started = time.monotonic()
        status = call(port, "GET", "/api/v1/cases/" + owner["case_id"], pin=owner["pin"])[0]
        owner_waits.append(time.monotonic() - started)
        owner_answers[status] = owner_answers.get(status, 0) + 1
        time.sleep(0.5)
    for guesser in guessers:
        guesser.join()
    httpd.shutdown()

    print("%d guessers for %.0f s on %s, scrypt N=2^14, PIN_CHECKS=%d per process" % (
        args.guessers, args.seconds, "PostgreSQL" if args.database else "SQLite", app.config["PIN_CHECKS"]))
    for kind, counts in answers.items():
        total = sum(counts.values())
        print("  %-14s %5d answers, %6.1f/s: %s" % (kind, total, total / args.seconds,
              ", ".join("%d x %d" % (n, status) for status, n in sorted(counts.items()))))
    print("  PINs of the attacked case checked: %d (the rest waited: 429)" % answers["attacked case"].get(404, 0))
    print("  owner of an untouched case: %s; wait median %.0f ms, max %.0f ms" % (
        ", ".join("%d x %d" % (n, status) for status, n in sorted(owner_answers.items())),
        1000 * statistics.median(owner_waits), 1000 * max(owner_waits)))
    folder.cleanup()


if __name__ == "__main__":
    main()
