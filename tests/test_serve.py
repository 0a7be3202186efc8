"""The production server: gunicorn with deploy/gunicorn.conf.py, as `make serve` runs it, on a free
port and a temporary SQLite database migrated by `takeback db upgrade`.

- Slow clients (a byte every 2 s, in the headers or in the body) hold one thread each: ten of them
  leave the default server answering; as many as a worker has threads stall what that worker
  accepts after them, until they go (why production puts nginx in front: docs/OPERATE.md).
- The log of real requests holds route templates, never an address, user agent, referer, case id,
  PIN or query string; gunicorn's own lines lose the client's address.
- Readiness follows the migrations; /metrics adds up the counts of two workers.
"""
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from .conftest import HEAD, media_record

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "deploy" / "gunicorn.conf.py"
TAKEBACK = str(Path(sys.executable).parent / "takeback")
TOKEN = "serve-metrics-token-" + "s" * 32
CLIENT_ADDRESS = "127.0.0.77"  # loopback, but not the address the server listens on


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def upgrade(database):
    subprocess.run([TAKEBACK, "db", "upgrade"], env=dict(os.environ, DATABASE_URL="sqlite:///%s" % database),
                   check=True, capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    """An SQLite database at the migrations' head; each server gets a copy."""
    path = tmp_path_factory.mktemp("migrated") / "takeback.sqlite"
    upgrade(path)
    return path


class Server:
    """gunicorn -c deploy/gunicorn.conf.py 'backend:create_app()' in a subprocess."""

    def __init__(self, folder, database, **env):
        self.port = free_port()
        self.database = database
        self.metrics_folder = folder / "metrics"
        self.metrics_folder.mkdir()
        self.log_path = folder / "gunicorn.log"
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("TAKEBACK_", "PROMETHEUS_"))}
        # No proof of work here: these tests are about serving (tests/test_api_admission.py checks it).
        environment.update(DATABASE_URL="sqlite:///%s" % database, TAKEBACK_BIND="127.0.0.1:%d" % self.port,
                           PROMETHEUS_MULTIPROC_DIR=str(self.metrics_folder), **dict({"TAKEBACK_ADMISSION": "0"}, **env))
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(CONFIG), "backend:create_app()"],
                                            cwd=REPO, env=environment, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                if self.request("GET", "/healthz", timeout=5)[0] == 200:
                    return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail("gunicorn did not start:\n" + self.log_path.read_text())
            time.sleep(0.2)

    def request(self, method, path, body=None, headers=None, timeout=30, source=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout,
                                                source_address=(source, 0) if source else None)
        try:
            data = None if body is None else json.dumps(body).encode()
            connection.request(method, path, body=data, headers=dict({"Content-Type": "application/json"}, **(headers or {})))
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def stop(self):
        """Stops gunicorn; its log."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.log_path.read_text()


@pytest.fixture
def serve(tmp_path, migrated):
    """serve(database=None, **env): a running server, on a copy of `migrated` unless told."""
    servers = []

    def start(database=None, **env):
        folder = tmp_path / ("server%d" % len(servers))
        folder.mkdir()
        if database is None:
            database = folder / "takeback.sqlite"
            shutil.copy(migrated, database)
        servers.append(Server(folder, database, **env))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


# -- slow clients ----------------------------------------------------------------------------------


class SlowClient(threading.Thread):
    """A connection that sends its request a byte every `every` seconds until stopped."""

    HEADERS = b"GET /healthz HTTP/1.1\r\nHost: takeback.test\r\nX-Slow: " + b"z" * 1000
    BODY = (b"POST /api/v1/cases HTTP/1.1\r\nHost: takeback.test\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n", b"[" * 1000)

    def __init__(self, port, in_body=False, every=2.0):
        super().__init__(daemon=True)
        self.socket = socket.create_connection(("127.0.0.1", port))
        if in_body:  # the headers at once: the app is called and waits for the body
            self.socket.sendall(self.BODY[0])
        self.trickle = self.BODY[1] if in_body else self.HEADERS
        self.every = every
        self.stopped = threading.Event()
        self.start()

    def run(self):
        for i in range(len(self.trickle)):
            try:
                self.socket.sendall(self.trickle[i:i + 1])
            except OSError:
                return
            if self.stopped.wait(self.every):
                return

    def stop(self):
        self.stopped.set()
        self.join()
        self.socket.close()


def slow_clients(port, count):
    clients = [SlowClient(port, in_body=i % 2 == 1) for i in range(count)]
    time.sleep(1.0)  # every one of them accepted and holding its thread
    return clients


@pytest.mark.slow
def test_ten_slow_clients_do_not_take_the_default_server_down(serve):
    server = serve()
    clients = slow_clients(server.port, 10)
    try:
        started = time.monotonic()
        status, body = server.request("POST", "/api/v1/cases", {"items": [media_record(1)]}, timeout=10)
        assert status == 201
        receipt = json.loads(body)
        status, _ = server.request("GET", "/api/v1/cases/" + receipt["case_id"], headers={"X-Case-PIN": receipt["pin"]},
                                   timeout=10)
        assert status == 200
        assert time.monotonic() - started < 5  # generous: ~0.2 s on an idle machine
        assert all(c.is_alive() for c in clients)  # still trickling
    finally:
        for c in clients:
            c.stop()


@pytest.mark.slow
def test_as_many_slow_clients_as_threads_stall_the_worker_until_they_go(serve):
    """The limit the reverse proxy is for: 1 worker of 2 threads, 2 slow clients."""
    server = serve(TAKEBACK_WORKERS="1", TAKEBACK_THREADS="2")
    clients = slow_clients(server.port, 2)
    waiting = socket.create_connection(("127.0.0.1", server.port))
    try:
        waiting.sendall(b"GET /healthz HTTP/1.1\r\nHost: takeback.test\r\nConnection: close\r\n\r\n")
        waiting.settimeout(3)
        with pytest.raises(TimeoutError):
            waiting.recv(100)  # accepted, but no thread is free to read it
        for c in clients:
            c.stop()
        waiting.settimeout(10)
        assert waiting.recv(100).startswith(b"HTTP/1.1 200 ")  # answered as soon as they went
    finally:
        waiting.close()
        for c in clients:
            c.stop()


# -- readiness and the log -------------------------------------------------------------------------


def test_readiness_and_a_log_without_addresses_agents_or_ids(serve, tmp_path):
    database = tmp_path / "fresh.sqlite"
    server = serve(database=database, TAKEBACK_WORKERS="1", TAKEBACK_THREADS="4")
    status, reason = server.request("GET", "/readyz")
    assert (status, reason) == (503, b"not ready: the database schema is at nothing, this code needs %s: "
                                     b"run `takeback db upgrade`\n" % HEAD.encode())
    upgrade(database)
    assert server.request("GET", "/readyz") == (200, b"ready\n")

    person = {"User-Agent": "AgentOfChaos/1.0", "Referer": "https://referrer.example/page",
              "X-Forwarded-For": "198.51.100.23", "X-Real-IP": "198.51.100.24"}
    status, body = server.request("POST", "/api/v1/cases", {"items": [media_record(1)]}, person, source=CLIENT_ADDRESS)
    assert status == 201
    receipt = json.loads(body)
    status, _ = server.request("GET", "/api/v1/cases/%s?secret=query-value" % receipt["case_id"],
                               headers=dict(person, **{"X-Case-PIN": receipt["pin"]}), source=CLIENT_ADDRESS)
    assert status == 200
    # Requests gunicorn refuses itself, which it logs with the client's address.
    for bad in (b"GET /api/v1/cases/%s HTTP/1.1\r\nBad Header\r\n\r\n" % receipt["case_id"].encode(),
                b"GET  /api/v1/cases/%s HTTP/1.1\r\n\r\n" % receipt["case_id"].encode()):  # logged, id hidden
        with socket.create_connection(("127.0.0.1", server.port), source_address=(CLIENT_ADDRESS, 0)) as s:
            s.sendall(bad)
            assert s.recv(100).startswith(b"HTTP/1.1 400 ")

    log = server.stop()
    assert "[access] POST /api/v1/cases 201 " in log
    assert "[access] GET /api/v1/cases/<case_id> 200 " in log
    assert "Invalid request from ip=<hidden>: " in log
    assert "Invalid HTTP request line: 'GET  /api/v1/cases/<case> HTTP/1.1'" in log
    for secret in (CLIENT_ADDRESS, "198.51.100.2", "AgentOfChaos", "referrer", "query-value", receipt["case_id"],
                   receipt["case_id"].replace("-", ""), receipt["pin"]):
        assert secret not in log, secret


# -- metrics with two workers ----------------------------------------------------------------------

HEALTHZ_COUNT = ("takeback_request_duration_seconds_count", (("method", "GET"), ("route", "/healthz"), ("status", "2xx")))


def healthz_counts_per_worker(folder):
    """{file: /healthz requests counted} of each worker's own file."""
    counts = {}
    for path in folder.glob("histogram_*.db"):
        for metric in MultiProcessCollector.merge([str(path)]):
            for s in metric.samples:
                if (s.name, tuple(sorted(s.labels.items()))) == HEALTHZ_COUNT:
                    counts[path.name] = s.value
    return counts


def test_metrics_add_up_across_two_workers(serve):
    server = serve(TAKEBACK_WORKERS="2", TAKEBACK_METRICS_TOKEN=TOKEN)
    # Concurrent requests until both workers have answered some (the kernel picks the worker).
    counted = healthz_counts_per_worker(server.metrics_folder)
    sent = sum(counted.values())  # the start-up polls
    with ThreadPoolExecutor(8) as pool:
        for _ in range(20):
            statuses = list(pool.map(lambda _: server.request("GET", "/healthz")[0], range(40)))
            assert statuses == [200] * 40
            sent += 40
            counted = healthz_counts_per_worker(server.metrics_folder)
            if sum(1 for n in counted.values() if n > 0) == 2:
                break
    assert sum(1 for n in counted.values() if n > 0) == 2, counted
    assert sum(counted.values()) == sent

    status, body = server.request("GET", "/metrics", headers={"Authorization": "Bearer " + TOKEN})
    assert status == 200
    found = {(s.name, tuple(sorted(s.labels.items()))): s.value
             for family in text_string_to_metric_families(body.decode()) for s in family.samples}
    assert found[HEALTHZ_COUNT] == sent  # both workers' requests, in one scrape from either
    assert found[("takeback_feed_entries", (("status", "active"),))] == 0
    assert TOKEN not in body.decode()
