"""Nothing identifying in any table or log, and security headers on every response.

A real HTTP server (Werkzeug's, as `make run` uses) is called from a recognisable loopback
address with a recognisable user agent and forwarding header; then the whole database and
every captured log line are searched for them.
"""
import http.client
import json
import logging
import re
import threading
from pathlib import Path

import pytest
from sqlalchemy import MetaData, select
from werkzeug.serving import make_server

from backend.models import db

from .conftest import media_record

CLIENT_ADDRESS = "127.0.0.77"
AGENT = "TakebackPrivacyProbe/9.9 (unmistakable-agent)"
FORWARDED = "198.51.100.23"


@pytest.fixture
def server(app):
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_port
    httpd.shutdown()
    thread.join()


def call(port, method, path, body=None, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, source_address=(CLIENT_ADDRESS, 0), timeout=30)
    data = None if body is None else json.dumps(body).encode()
    all_headers = {"User-Agent": AGENT, "X-Forwarded-For": FORWARDED, "X-Real-IP": FORWARDED,
                   "Content-Type": "application/json"}
    connection.request(method, path, body=data, headers=dict(all_headers, **(headers or {})))
    response = connection.getresponse()
    payload = response.read()
    connection.close()
    return response.status, payload


def database_text(app):
    """Every row of every table as text, plus the raw SQLite files if there are any."""
    with app.app_context():
        metadata = MetaData()
        metadata.reflect(db.engine)
        with db.engine.connect() as conn:
            rows = [repr(row) for table in metadata.sorted_tables for row in conn.execute(select(table))]
        url = db.engine.url
    text = "\n".join(rows)
    if url.get_backend_name() == "sqlite":
        for path in Path(url.database).parent.glob(Path(url.database).name + "*"):  # the file, -wal, -shm
            text += path.read_bytes().decode("latin-1")
    return text


def test_no_address_or_agent_in_tables_or_logs(app, partner, server, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    status, body = call(server, "POST", "/api/v1/cases", {"items": [media_record(1)]})
    assert status == 201
    receipt = json.loads(body)
    pin = {"X-Case-PIN": receipt["pin"]}
    assert call(server, "GET", "/api/v1/cases/" + receipt["case_id"], headers=pin)[0] == 200
    assert call(server, "GET", "/api/v1/cases/" + receipt["case_id"], headers={"X-Case-PIN": "1"})[0] == 404
    assert call(server, "POST", "/api/v1/cases", {"items": "bad"})[0] == 400
    status, page = call(server, "GET", "/api/v1/partner/hashes", headers=partner)
    assert status == 200
    entry = json.loads(page)["entries"][0]
    report = {"id": entry["id"], "value": entry["value"], "outcome": "removed"}
    assert call(server, "POST", "/api/v1/partner/feedback", {"feedback": [report]}, headers=partner)[0] == 200
    assert call(server, "POST", "/api/v1/cases/%s/withdraw" % receipt["case_id"], {}, headers=pin)[0] == 200

    logs = "\n".join(r.getMessage() for r in caplog.records)
    out, err = capfd.readouterr()
    logs = re.sub(r"\x1b\[[0-9;]*m", "", logs + out + err)  # Werkzeug colours the status on a terminal
    assert '"POST /api/v1/cases HTTP/1.1" 201' in logs  # the request log was captured ...
    assert receipt["case_id"] not in logs  # ... with case ids hidden
    stored = database_text(app)
    assert receipt["case_id"] in stored  # the dump really holds the data
    for secret in (CLIENT_ADDRESS, FORWARDED, AGENT, "unmistakable", receipt["pin"]):
        assert secret not in logs, secret
        assert secret not in stored, secret


def test_request_log_filter_drops_the_address():
    from backend.api import PrivateRequestLog

    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1,
                               '%s - - [25/Nov/2026 20:00:00] "%s" %s -', None, None)
    record.args = ("203.0.113.9", "GET /api/v1/cases/AbC_123 HTTP/1.1", "404")
    PrivateRequestLog().filter(record)
    assert record.getMessage() == '[25/Nov/2026 20:00:00] "GET /api/v1/cases/<case> HTTP/1.1" 404 -'


def test_server_errors_log_no_case_id(app, client, caplog, monkeypatch):
    from backend import storage

    receipt = client.post("/api/v1/cases", json={"items": [media_record(1)]}).get_json()
    monkeypatch.setattr(storage, "item_reports", lambda case_id: 1 / 0)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.get("/api/v1/cases/" + receipt["case_id"], headers={"X-Case-PIN": receipt["pin"]})
    assert response.status_code == 500
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "Exception on /api/v1/cases/<case> [GET]" in logged
    assert receipt["case_id"] not in logged


API_PATHS = ["/api/v1/cases/nope", "/api/openapi.json", "/api/v1/partner/hashes", "/api/v1/nothing"]


@pytest.mark.parametrize("path", API_PATHS + ["/"])
def test_security_headers_on_every_response(client, path):
    response = client.get(path)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP: HSTS means nothing
    assert "Set-Cookie" not in response.headers
    if path.startswith("/api/"):
        assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
        assert response.headers["Cache-Control"] == "no-store"
        assert response.is_json


def test_hsts_over_tls(client):
    response = client.get("/api/openapi.json", base_url="https://takeback.example")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_a_page_keeps_its_own_policy(app):
    @app.get("/page-with-policy")
    def page():
        return "ok", 200, {"Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'"}

    response = app.test_client().get("/page-with-policy")
    assert response.headers["Content-Security-Policy"] == "default-src 'self'; frame-ancestors 'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_behind_a_tls_proxy_only_the_scheme_is_trusted(app_factory):
    app = app_factory(BEHIND_PROXY=True)
    seen = {}

    @app.get("/api/whoami-test")
    def whoami():
        from flask import request

        seen["addr"] = request.remote_addr
        return {}

    response = app.test_client().get("/api/whoami-test", headers={"X-Forwarded-Proto": "https",
                                                                  "X-Forwarded-For": FORWARDED})
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert seen["addr"] != FORWARDED
