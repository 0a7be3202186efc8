"""The operator's endpoints and logs in one process (backend/ops.py): health, readiness, metrics,
the access log, and database errors that log no parameter values. Under gunicorn: test_serve.py."""
import logging
import socket

import flask_migrate
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from backend import case_ids, create_app
from backend.models import FeedEntry, db

from .conftest import HEAD, media_record, submit

TOKEN = "metrics-token-" + "m" * 32
BEARER = {"Authorization": "Bearer " + TOKEN}


def samples(client):
    """{(name, sorted labels): value} of a /metrics scrape, and its text."""
    response = client.get("/metrics", headers=BEARER)
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    body = response.get_data(as_text=True)
    found = {}
    for family in text_string_to_metric_families(body):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found, body


def latency_count(found, route, method="GET", status="2xx"):
    labels = tuple(sorted({"route": route, "method": method, "status": status}.items()))
    return found.get(("takeback_request_duration_seconds_count", labels), 0)


# -- health and readiness ------------------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_healthz_answers_without_the_database_and_readyz_says_why_not():
    # PostgreSQL on a port where nothing listens: the database does not answer.
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI":
                      "postgresql+psycopg://nobody@127.0.0.1:%d/none?connect_timeout=5" % free_port()})
    client = app.test_client()
    health = client.get("/healthz")
    assert (health.status_code, health.get_data(as_text=True)) == (200, "ok\n")
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_data(as_text=True) == "not ready: the database does not answer\n"
    assert ready.headers["Cache-Control"] == "no-store"


def test_readyz_before_and_after_the_migrations(app_factory):
    app = app_factory()
    client = app.test_client()
    with app.app_context():
        db.drop_all()
    before = client.get("/readyz")
    assert before.status_code == 503
    assert before.get_data(as_text=True) == (
        "not ready: the database schema is at nothing, this code needs %s: run `takeback db upgrade`\n" % HEAD)
    with app.app_context():
        flask_migrate.upgrade(revision="0001")
    behind = client.get("/readyz")
    assert behind.status_code == 503 and "schema is at 0001, this code needs %s" % HEAD in behind.get_data(as_text=True)
    with app.app_context():
        flask_migrate.upgrade()
    after = client.get("/readyz")
    assert (after.status_code, after.get_data(as_text=True)) == (200, "ready\n")


# -- metrics ---------------------------------------------------------------------------------------


def test_metrics_are_off_without_a_token_and_closed_to_a_wrong_one(app_factory):
    assert app_factory().test_client().get("/metrics").status_code == 404
    client = app_factory(METRICS_TOKEN=TOKEN).test_client()
    for headers in ({}, {"Authorization": "Bearer " + TOKEN[:-1]}, {"Authorization": "Bearer " + TOKEN + "x"},
                    {"Authorization": "Basic " + TOKEN}, {"Authorization": TOKEN}):
        response = client.get("/metrics", headers=headers)
        assert response.status_code == 401, headers
        assert response.get_json()["error"] == "unauthorized"
        assert TOKEN not in response.get_data(as_text=True)
    assert client.get("/metrics", headers=BEARER).status_code == 200


def test_a_short_metrics_token_stops_the_app():
    with pytest.raises(ValueError, match="at least 32 characters"):
        create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "METRICS_TOKEN": "short"})


def test_counters_move_after_real_requests_and_hold_no_ids(app_factory, partner):
    app = app_factory(METRICS_TOKEN=TOKEN)
    client = app.test_client()
    before, _ = samples(client)

    receipt = submit(client, media_record(1), media_record(2, media="video"), media_record(3))
    pin = {"X-Case-PIN": receipt["pin"]}
    assert client.get("/api/v1/cases/" + receipt["case_id"], headers=pin).status_code == 200
    assert client.get("/api/v1/cases/" + receipt["case_id"], headers={"X-Case-PIN": "0"}).status_code == 404
    assert client.post("/api/v1/cases/%s/withdraw" % receipt["case_id"], json={"items": [3]}, headers=pin).status_code == 200
    asked = [media_record(1)["hashes"][1], {"type": "md5", "value": "0" * 32}]  # one enrolled, one not
    assert client.post("/api/v1/partner/match", json={"hashes": asked}, headers=partner).status_code == 200
    entries = client.get("/api/v1/partner/hashes", headers=partner).get_json()["entries"]
    outcomes = [{"id": e["id"], "value": e["value"], "outcome": o}
                for e, o in zip(entries, ("removed", "removed", "not_violating"))]
    assert client.post("/api/v1/partner/feedback", json={"feedback": outcomes}, headers=partner).status_code == 200

    after, body = samples(client)

    def moved(name, **labels):
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0) - before.get(key, 0)

    assert moved("takeback_cases_created_total") == 1
    assert moved("takeback_items_created_total", media="image") == 2
    assert moved("takeback_items_created_total", media="video") == 1
    assert moved("takeback_withdrawals_total") == 1
    assert moved("takeback_match_requests_total") == 1
    assert moved("takeback_match_queries_total") == 2
    assert moved("takeback_match_hits_total") == 1
    assert moved("takeback_feedback_total", outcome="removed") == 2
    assert moved("takeback_feedback_total", outcome="not_violating") == 1
    assert moved("takeback_feedback_total", outcome="pending_review") == 0
    assert latency_count(after, "/api/v1/cases", "POST") - latency_count(before, "/api/v1/cases", "POST") == 1
    assert latency_count(after, "/api/v1/cases/<case_id>") - latency_count(before, "/api/v1/cases/<case_id>") == 1
    assert (latency_count(after, "/api/v1/cases/<case_id>", status="4xx")
            - latency_count(before, "/api/v1/cases/<case_id>", status="4xx")) == 1
    with app.app_context():
        counts = {s: db.session.query(FeedEntry).filter_by(status=s).count() for s in ("active", "withdrawn")}
    assert counts["active"] > 0 and counts["withdrawn"] == 3  # item 3's PDQ and digests
    for status, count in counts.items():
        assert after[("takeback_feed_entries", (("status", status),))] == count

    token = partner["Authorization"].split()[1]
    for secret in (receipt["case_id"], receipt["case_id"].replace("-", ""), receipt["pin"], token, TOKEN,
                   "example-platform", entries[0]["value"]):
        assert secret not in body, secret


# -- the access log and database errors ------------------------------------------------------------


class Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(self.format(record))


@pytest.fixture
def access_lines():
    handler = Lines()
    logger = logging.getLogger("takeback.access")
    logger.addHandler(handler)
    yield handler.lines
    logger.removeHandler(handler)


def test_the_access_log_holds_the_route_template_only(client, access_lines):
    receipt = submit(client, media_record(1))
    headers = {"X-Case-PIN": receipt["pin"], "User-Agent": "AgentOfChaos/1.0", "Referer": "https://referrer.example/x",
               "X-Forwarded-For": "198.51.100.23"}
    assert client.get("/api/v1/cases/%s?secret=query-value" % receipt["case_id"], headers=headers).status_code == 200
    assert client.get("/nothing/here?q=1", headers=headers).status_code == 404
    assert client.open("/healthz", method="BREW").status_code == 405
    assert access_lines[0].startswith("POST /api/v1/cases 201 ")
    assert access_lines[1].startswith("GET /api/v1/cases/<case_id> 200 ")
    assert access_lines[2].startswith("GET (unmatched) 404 ")
    assert access_lines[3].startswith("OTHER (unmatched) 405 ")  # no route took BREW
    assert all(line.endswith("ms") for line in access_lines)
    logged = "\n".join(access_lines)
    for secret in (receipt["case_id"], receipt["pin"], "AgentOfChaos", "referrer", "198.51.100.23", "query-value",
                   "nothing", "?"):
        assert secret not in logged, secret


def test_a_database_error_logs_no_parameter_values(app, client, caplog, monkeypatch):
    """With hide_parameters the failed INSERT's case id and PIN verifier stay out of the log."""
    case_id = "ZZZZ-ZZZZ-ZZZZ-ZZZZ"
    monkeypatch.setattr(case_ids, "new_case_id", lambda: case_id)
    with app.app_context():
        for table in ("feedback", "item_hash", "case_hold", "media_item", "case"):
            db.session.execute(text('DROP TABLE "%s"' % table))
        db.session.commit()
    app.config["PROPAGATE_EXCEPTIONS"] = False
    with caplog.at_level(logging.ERROR):
        response = client.post("/api/v1/cases", json={"items": [media_record(1)]})
    assert response.status_code == 500
    logged = "\n".join(caplog.text.splitlines() + [r.getMessage() for r in caplog.records])
    assert 'INSERT INTO "case"' in logged or "INSERT INTO case" in logged  # the failing statement is there ...
    assert "SQL parameters hidden" in logged  # ... without its values
    assert case_id not in logged and "scrypt$" not in logged
