"""Takeback's server: a Flask app factory (see create_app).

Configuration comes from the environment: DATABASE_URL selects PostgreSQL (default: an
SQLite file under instance/), PDQ_MATCH_DISTANCE the default match distance,
TAKEBACK_BEHIND_PROXY=1 trusts X-Forwarded-Proto (for HSTS) and nothing else from the proxy
(never the client's address), TAKEBACK_INDEX_DIR a directory for the match index the
processes share (takeback/shared.py). Its one secret, TAKEBACK_METRICS_TOKEN, opens /metrics (backend/ops.py).
Production serves with gunicorn (deploy/gunicorn.conf.py, docs/OPERATE.md).
"""
import os
import sqlite3
import time

from flask import Flask
from flask_migrate import Migrate
from sqlalchemy import event
from sqlalchemy.engine import Engine

MIGRATIONS = os.path.join(os.path.dirname(__file__), "migrations")


def database_url(url, instance_path):
    """SQLAlchemy's URL for DATABASE_URL; plain postgres:// URLs use psycopg 3."""
    if not url:
        return "sqlite:///" + os.path.join(instance_path, "takeback.sqlite")
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    # Foreign keys on; WAL so feed readers never wait for a writer.
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.close()


def create_app(test_config=None):
    from .api import BODY_LIMIT

    app = Flask(__name__, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_mapping(
        FRONTEND_DIST=os.path.join(os.path.dirname(os.path.dirname(__file__)), "frontend", "dist"),
        SQLALCHEMY_DATABASE_URI=database_url(os.environ.get("DATABASE_URL"), app.instance_path),
        # hide_parameters: a database error's message and traceback never show a case id or PIN verifier.
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True, "hide_parameters": True},
        BODY_LIMIT=BODY_LIMIT,            # API bodies: 2 MiB (see backend.api.BODY_LIMIT)
        MAX_CONTENT_LENGTH=BODY_LIMIT + 1,  # Werkzeug's cap on reading; see api.json_body
        MAX_ITEMS_PER_CASE=100,
        PDQ_MATCH_DISTANCE=int(os.environ.get("PDQ_MATCH_DISTANCE", "31")),
        PIN_SCRYPT_N=2**14,      # scrypt cost of a PIN verifier (tests lower it to run fast)
        # Guessing (backend/pins.py, docs/API.md): per case, the first PIN_FREE_ATTEMPTS wrong
        # PINs are checked at once; after that the next one only PIN_FIRST_DELAY seconds later,
        # doubling with each wrong PIN up to PIN_MAX_DELAY. A count is forgotten PIN_FORGET_AFTER
        # seconds after its last delay ran out, and starts afresh after a right PIN.
        PIN_FREE_ATTEMPTS=3,
        PIN_FIRST_DELAY=1,
        PIN_MAX_DELAY=60,
        PIN_FORGET_AFTER=3600,
        PIN_CHECKS=2,            # PINs checked at once per process (scrypt: 16 MiB, ~60 ms each) ...
        PIN_CHECK_WAIT=3,        # ... others wait up to this many seconds for their turn, then get 503
        PIN_CLOCK=time.time,     # seconds since 1970, the same in every process (tests pass their own)
        FEEDBACK_PER_MINUTE=1000,  # reports per partner and minute (docs/API.md, feedback)
        FEEDBACK_CLOCK=time.time,
        BEHIND_PROXY=os.environ.get("TAKEBACK_BEHIND_PROXY") == "1",
        # Flood control (backend/admission.py, docs/API.md): a new case needs proof of work of
        # ADMISSION_BITS zero bits (2**17 SHA-256: ~1 s of Pyodide on a phone) on a challenge
        # valid ADMISSION_CHALLENGE_SECONDS; its feed entries reach partners QUARANTINE_SECONDS
        # later, so the operator can drop a flood first (`takeback cases purge`).
        ADMISSION=os.environ.get("TAKEBACK_ADMISSION", "1") != "0",
        ADMISSION_BITS=int(os.environ.get("TAKEBACK_ADMISSION_BITS", "17")),
        ADMISSION_CHALLENGE_SECONDS=600,
        QUARANTINE_SECONDS=int(os.environ.get("TAKEBACK_QUARANTINE_SECONDS", "600")),
        CLOCK=time.time,         # seconds since 1970 for challenges and quarantine (tests pass their own)
        METRICS_TOKEN=os.environ.get("TAKEBACK_METRICS_TOKEN", ""),  # empty: no /metrics
        # A directory for the match index every process maps (takeback/shared.py); empty: each
        # process builds its own in memory.
        TAKEBACK_INDEX_DIR=os.environ.get("TAKEBACK_INDEX_DIR", ""),
    )
    if test_config:
        app.config.update(test_config)

    from . import admission, api, cases, matching, openapi, ops, partner, pins, platforms, web  # noqa: F401 (blueprints)
    from .models import db

    db.init_app(app)
    Migrate(app, db, directory=MIGRATIONS, render_as_batch=True, compare_type=True)
    app.extensions["takeback_pin_checks"] = pins.Slots(app.config["PIN_CHECKS"])
    app.extensions["takeback_feed_matcher"] = matching.feed_matcher(index_dir=app.config["TAKEBACK_INDEX_DIR"],
                                                                  database_url=app.config["SQLALCHEMY_DATABASE_URI"])
    if app.config["BEHIND_PROXY"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=0, x_proto=1, x_host=0)

    api.init_app(app)
    ops.init_app(app)
    app.register_blueprint(web.bp)
    app.register_blueprint(admission.bp)
    app.register_blueprint(cases.bp)
    app.register_blueprint(partner.bp)
    app.register_blueprint(platforms.bp)
    app.register_blueprint(openapi.bp)
    return app
