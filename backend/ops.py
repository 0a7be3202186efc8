"""What the operator needs, and nothing about people: health, readiness, metrics, the access log.

- GET /healthz: the process answers (the database is not asked).
- GET /readyz: the database answers and its schema is at the migrations' head; else 503 and why.
- GET /metrics: Prometheus text, only for a bearer token equal to TAKEBACK_METRICS_TOKEN (404 when
  that is unset). Counts, the feed's size and latencies per route template only: never a case id,
  PIN, token, partner or address. Under gunicorn the workers' counts are summed through
  prometheus_client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR, set up by deploy/gunicorn.conf.py).
- The access log ("takeback.access"): one line per request with the method, the route's template
  (/api/v1/cases/<case_id>, never the path as sent, never the query string), the status, the
  response's size and the time taken. No address, user agent or referer.
"""
import functools
import hashlib
import hmac
import logging
import os
import time

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, abort, current_app, g, request
from flask.logging import wsgi_errors_stream
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from .api import error_response
from .models import OUTCOMES, FeedEntry, db

bp = Blueprint("ops", __name__)

# Our own registry: the process's default one would add the Python runtime's figures in one
# process and not under gunicorn. Under gunicorn the values live in PROMETHEUS_MULTIPROC_DIR.
REGISTRY = CollectorRegistry()
CASES = Counter("takeback_cases_created", "Cases created.", registry=REGISTRY)
ITEMS = Counter("takeback_items_created", "Media items in the cases created, by media.", ["media"], registry=REGISTRY)
WITHDRAWALS = Counter("takeback_withdrawals", "Withdrawals answered (a whole case or some of its items).",
                      registry=REGISTRY)
MATCH_REQUESTS = Counter("takeback_match_requests", "Match requests of platforms answered.", registry=REGISTRY)
MATCH_QUERIES = Counter("takeback_match_queries", "Hashes platforms asked to match.", registry=REGISTRY)
MATCH_HITS = Counter("takeback_match_hits", "Hashes asked that matched at least one feed entry.", registry=REGISTRY)
FEEDBACK = Counter("takeback_feedback", "Feedback from platforms, by outcome.", ["outcome"], registry=REGISTRY)
LATENCY = Histogram("takeback_request_duration_seconds", "Time to answer, by route template, method and status class.",
                    ["route", "method", "status"], registry=REGISTRY,
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
for _media in ("image", "video"):
    ITEMS.labels(_media)
for _outcome in OUTCOMES:
    FEEDBACK.labels(_outcome)

# Any other method a client invents is one label value, not one each.
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
UNMATCHED = "(unmatched)"  # the route of a request no route took (a 404)

access_log = logging.getLogger("takeback.access")


# -- what the blueprints count -----------------------------------------------------------------


def case_created(records):
    CASES.inc()
    for record in records:
        ITEMS.labels(record.media).inc()


def withdrawn():
    WITHDRAWALS.inc()


def matched(results):
    MATCH_REQUESTS.inc()
    MATCH_QUERIES.inc(len(results))
    MATCH_HITS.inc(sum(1 for found in results if found))


def feedback_received(outcomes):
    for _, outcome in outcomes:
        FEEDBACK.labels(outcome).inc()


# -- every request: the access log line and the latency ----------------------------------------


def _started():
    g.ops_started = time.perf_counter()


def _finished(response):
    seconds = time.perf_counter() - g.get("ops_started", time.perf_counter())
    route = request.url_rule.rule if request.url_rule is not None else UNMATCHED
    method = request.method if request.method in _METHODS else "OTHER"
    size = response.content_length
    LATENCY.labels(route, method, "%dxx" % (response.status_code // 100)).observe(seconds)
    access_log.info("%s %s %d %s %.1fms", method, route, response.status_code,
                    "-" if size is None else size, seconds * 1000)
    return response


# -- health, readiness, metrics ----------------------------------------------------------------


def _plain(text, status=200):
    return text + "\n", status, {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}


@bp.get("/healthz")
def healthz():
    return _plain("ok")


@functools.cache
def _migration_heads():
    from . import MIGRATIONS

    return frozenset(ScriptDirectory(MIGRATIONS).get_heads())


@bp.get("/readyz")
def readyz():
    try:
        with db.engine.connect() as connection:
            current = frozenset(MigrationContext.configure(connection).get_current_heads())
    except SQLAlchemyError as e:
        # The class only: a driver's message may hold the database's address or user name.
        current_app.logger.warning("readyz: the database does not answer (%s)", type(e).__name__)
        return _plain("not ready: the database does not answer", 503)
    heads = _migration_heads()
    if current != heads:
        return _plain("not ready: the database schema is at %s, this code needs %s: run `takeback db upgrade`"
                      % (", ".join(sorted(current)) or "nothing", ", ".join(sorted(heads))), 503)
    return _plain("ready")


class _Families:
    """A collector of metric families read just now (from the database, at scrape time)."""

    def __init__(self, families):
        self.families = families

    def collect(self):
        return self.families


def _feed_size():
    gauge = GaugeMetricFamily("takeback_feed_entries", "Entries in the hash feed, by status.", labels=["status"])
    counts = dict(db.session.execute(select(FeedEntry.status, func.count()).group_by(FeedEntry.status)).all())
    for status in ("active", "withdrawn"):
        gauge.add_metric([status], counts.get(status, 0))
    return gauge


def _authorized(token):
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    # Digests of equal length: the comparison's time tells nothing, not even the token's length.
    digest = hashlib.sha256(given.strip().encode()).digest()
    return scheme.lower() == "bearer" and hmac.compare_digest(digest, hashlib.sha256(token.encode()).digest())


@bp.get("/metrics")
def metrics():
    token = current_app.config["METRICS_TOKEN"]
    if not token:
        abort(404)  # metrics off: as if there were no such page
    if not _authorized(token):
        return error_response(401, "send the metrics token: Authorization: Bearer <token>",
                              headers={"WWW-Authenticate": 'Bearer realm="takeback-metrics"'})
    counted = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        counted = CollectorRegistry()
        MultiProcessCollector(counted)  # every worker's values, summed
    now = CollectorRegistry()
    now.register(_Families([_feed_size()]))
    body = generate_latest(counted) + generate_latest(now)
    return body, 200, {"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"}


def init_app(app):
    token = app.config["METRICS_TOKEN"]
    if token and len(token) < 32:
        raise ValueError("TAKEBACK_METRICS_TOKEN must be at least 32 characters (python3 -c "
                         "'import secrets; print(secrets.token_urlsafe(32))')")
    if not access_log.handlers:
        # wsgi.errors of the request: gunicorn's error log, or stderr.
        handler = logging.StreamHandler(wsgi_errors_stream)
        handler.setFormatter(logging.Formatter("[%(asctime)s] [access] %(message)s", "%Y-%m-%d %H:%M:%S %z"))
        access_log.addHandler(handler)
        access_log.setLevel(logging.INFO)
        access_log.propagate = False
    app.before_request(_started)
    app.after_request(_finished)
    app.register_blueprint(bp)
