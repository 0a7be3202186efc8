"""Fixtures for the backend tests: a fresh app and database per test, on SQLite and PostgreSQL.

Every test that takes `app` (or `client`) runs twice: once on an SQLite file in tmp_path,
once on PostgreSQL (127.0.0.1:5432, database `test`) in a schema of its own, dropped after.
PostgreSQL is required, not optional: a test run without it fails rather than skips.
"""
import hashlib
import os
import random
import uuid

import pytest
from sqlalchemy import create_engine, text

from alembic.script import ScriptDirectory

from backend import MIGRATIONS, create_app, storage
from backend.models import db

# The newest migration: what `takeback db upgrade` brings a database to.
HEAD = ScriptDirectory(MIGRATIONS).get_current_head()
POSTGRES = os.environ.get("TAKEBACK_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield "sqlite:///%s" % (tmp_path / "takeback.sqlite")
        return
    schema = "test_" + uuid.uuid4().hex[:16]
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text('CREATE SCHEMA "%s"' % schema))
    try:
        yield "%s?options=-csearch_path%%3D%s" % (POSTGRES, schema)
    finally:
        with admin.connect() as conn:
            conn.execute(text('DROP SCHEMA "%s" CASCADE' % schema))
        admin.dispose()


def make_app(database_url, create_tables=True, **config):
    # A cheaper scrypt keeps the suite fast; test_pins checks the production cost. Proof of work
    # and quarantine are off unless a test is about them (tests/test_api_admission.py).
    defaults = {"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "PIN_SCRYPT_N": 2**10,
                "ADMISSION": False, "QUARANTINE_SECONDS": 0}
    app = create_app(dict(defaults, **config))
    if create_tables:
        with app.app_context():
            db.create_all()
    return app


@pytest.fixture
def app_factory(database_url):
    """make(**config): an app on this test's database (tables made once), closed after the test."""
    apps = []

    def make(**config):
        apps.append(make_app(database_url, create_tables=not apps, **config))
        return apps[-1]

    yield make
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(app_factory):
    return app_factory()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def partner(app):
    """A partner's name and bearer headers."""
    with app.app_context():
        token = storage.add_partner("example-platform")
    return {"Authorization": "Bearer " + token}


# -- hash records --------------------------------------------------------------------------------


def pdq_hex(rng):
    return "%064x" % rng.getrandbits(256)


def flip_bits(hex_value, distance, rng):
    """A PDQ hex exactly `distance` bits away."""
    value = int(hex_value, 16)
    for bit in rng.sample(range(256), distance):
        value ^= 1 << bit
    return "%064x" % value


def media_record(seed, media="image", quality=90, pdq=None):
    """Hash records of one made-up photo: a random PDQ and the digests of the seed."""
    rng = random.Random(seed)
    data = ("photo %s" % seed).encode()
    return {"media": media, "hashes": [
        {"type": "pdq", "value": pdq or pdq_hex(rng), "quality": quality},
        {"type": "md5", "value": hashlib.md5(data).hexdigest()},
        {"type": "sha256", "value": hashlib.sha256(data).hexdigest()},
    ]}


def submit(client, *items):
    response = client.post("/api/v1/cases", json={"items": list(items)})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def read_feed(client, headers, cursor="", limit=1000):
    """Every entry after `cursor`, page by page: (entries, final cursor)."""
    entries = []
    while True:
        page = client.get("/api/v1/partner/hashes", query_string={"cursor": cursor, "limit": limit}, headers=headers)
        assert page.status_code == 200, page.get_json()
        body = page.get_json()
        entries += body["entries"]
        if not body["entries"] and body["next_cursor"] == cursor:
            return entries, cursor
        cursor = body["next_cursor"]


# -- a real photo and copies plain PDQ misses ------------------------------------------------------

ROBUST_PHOTO = "tuxpaint__cliff.jpg"  # no content box: its windows are shares of the whole image
UNRELATED_PHOTO = "tuxpaint__jellyfish.jpg"
ENROLLED_WINDOW = (0.05, 0.05, 0.95, 0.95)  # one of hashing.robust.ENROL_WINDOWS: 5% off every edge


@pytest.fixture(scope="session")
def robust_photos(tmp_path_factory):
    """A corpus photo as a person enrols it, and query records of copies of it as a platform sees them.

    .enrolled: the photo's enrolment MediaRecord (PDQ, windows, rotations/flips, digests);
    .window: the enrolled pdq-window HashRecord of ENROLLED_WINDOW;
    .paths / .queries: files and their query records (takeback.partner.query_record):
      "same" (the very file), "turned" (Pillow's quarter turn), "cropped" (cut to exactly
      ENROLLED_WINDOW from the same pixels), "unrelated" (another corpus photo).
    Everything is PNG, so the copies hold exactly the original's pixels, moved.
    """
    from types import SimpleNamespace

    from PIL import Image

    from hashing import LumaBlocks
    from hashing.grid import Grid
    from hashing.robust import ENROL_WINDOWS
    from hashing.windowhash import window_hash
    from takeback.media import file_record
    from takeback.decode import image_pixels
    from takeback.partner import query_record

    from .corpus import CORPUS

    if ENROLLED_WINDOW not in ENROL_WINDOWS:
        pytest.fail("hashing.robust.ENROL_WINDOWS no longer has %r: pick another window" % (ENROLLED_WINDOW,))
    folder = tmp_path_factory.mktemp("robust")
    with Image.open(CORPUS / "photos" / ROBUST_PHOTO) as im:
        original = im.convert("RGB")
    w, h = original.size
    x0, y0, x1, y1 = ENROLLED_WINDOW
    copies = {
        "same": original,
        "turned": original.transpose(Image.Transpose.ROTATE_90),
        "cropped": original.crop((round(x0 * w), round(y0 * h), round(x1 * w), round(y1 * h))),
    }
    paths = {}
    for name, image in copies.items():
        paths[name] = folder / ("%s.png" % name)
        image.save(paths[name])
    with Image.open(CORPUS / "photos" / UNRELATED_PHOTO) as im:
        paths["unrelated"] = folder / "unrelated.png"
        im.convert("RGB").save(paths["unrelated"])
    enrolled = file_record(paths["same"])
    window = window_hash(Grid(LumaBlocks(image_pixels(paths["same"]))), ENROLLED_WINDOW).record("pdq-window")
    assert window in enrolled.hashes
    return SimpleNamespace(enrolled=enrolled, window=window, paths=paths,
                           queries={name: query_record(path) for name, path in paths.items()})
