"""The migrations create exactly the schema the models describe, on SQLite and PostgreSQL."""
import flask_migrate
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from backend import pins, storage
from backend.models import db

from .conftest import media_record


def test_migrations_match_the_models(app_factory):
    app = app_factory()
    with app.app_context():
        db.drop_all()  # the fixture made tables from the models; start from nothing
        assert inspect(db.engine).get_table_names() == []
        flask_migrate.upgrade()
        with db.engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
            assert differences == []
            assert conn.execute(text("SELECT id, seq FROM feed_state")).all() == [(1, 0)]
            tables = set(inspect(conn).get_table_names())
        assert tables == set(db.metadata.tables) | {"alembic_version"}


def test_downgrade_removes_everything(app_factory):
    app = app_factory()
    with app.app_context():
        db.drop_all()
        flask_migrate.upgrade()
        flask_migrate.downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}


def partner_columns():
    return {c["name"] for c in inspect(db.engine).get_columns("partner")}


def test_partner_public_upgrades_and_downgrades_with_data(app_factory):
    """0002 adds partner.public (false for existing partners) and takes it away again, keeping
    the rows, also a partner that feedback refers to (SQLite rebuilds the table to drop a column)."""
    app = app_factory()
    with app.app_context():
        db.drop_all()
        flask_migrate.upgrade(revision="0001")
        assert "public" not in partner_columns()
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO partner (id, name, token_hash, created) "
                              "VALUES (1, 'ExampleTube', :h, '2026-01-02')"), {"h": "a" * 64})
            conn.execute(text("INSERT INTO feed_entry (id, type, value, media, status, not_violating, updated, seq) "
                              "VALUES (1, 'md5', :v, 'image', 'active', 0, '2026-01-02', 1)"), {"v": "0" * 32})
            conn.execute(text("INSERT INTO feedback (partner_id, entry_id, outcome, updated) "
                              "VALUES (1, 1, 'removed', '2026-01-02')"))
        flask_migrate.upgrade(revision="0003")  # 0004 drops feedback made without receipts
        assert "public" in partner_columns()
        assert storage.public_platforms() == []
        assert [p.public for p in storage.partners()] == [False]
        assert storage.set_partner_public("ExampleTube", True)
        assert storage.public_platforms() == ["ExampleTube"]
        db.session.remove()

        flask_migrate.downgrade(revision="0001")
        assert "public" not in partner_columns()
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT id, name FROM partner")).all() == [(1, "ExampleTube")]
            assert conn.execute(text("SELECT partner_id, outcome FROM feedback")).all() == [(1, "removed")]
        flask_migrate.upgrade()
        assert [(p.name, p.public) for p in storage.partners()] == [("ExampleTube", False)]


def test_pin_attempts_upgrade_and_downgrade(app_factory):
    """0003 adds the tables of PIN attempts; going back removes them and keeps every case."""
    app = app_factory(PIN_CLOCK=lambda: 1_000_000.0)
    client = app.test_client()
    with app.app_context():
        db.drop_all()
        flask_migrate.upgrade(revision="0002")
        assert not {"pin_attempt", "pin_key"} & set(inspect(db.engine).get_table_names())
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO \"case\" (id, pin_verifier, created) VALUES ('OLD-CASE', :v, '2026-01-02')"),
                         {"v": pins.make_verifier("123456789012", n=2**10)})
        flask_migrate.upgrade()
    wrong = {"X-Case-PIN": "000000000000"}
    for case_id in ("OLD-CASE", "no-such-case"):
        assert client.get("/api/v1/cases/" + case_id, headers=wrong).status_code == 404
    with app.app_context():
        with db.engine.connect() as conn:
            keys = sorted(k for (k,) in conn.execute(text("SELECT key FROM pin_attempt")))
            assert keys[0].startswith("#") and keys[1] == "OLD-CASE"
        db.session.remove()
        flask_migrate.downgrade(revision="0002")
        assert not {"pin_attempt", "pin_key"} & set(inspect(db.engine).get_table_names())
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT id FROM \"case\"")).all() == [("OLD-CASE",)]
        flask_migrate.upgrade()
    app.extensions.pop("takeback_keys")  # a new key is made with the new table
    assert client.get("/api/v1/cases/OLD-CASE", headers={"X-Case-PIN": "123456789012"}).status_code == 200
    assert client.get("/api/v1/cases/no-such-case", headers=wrong).status_code == 404


def test_0004_renumbers_the_feed_and_drops_reports_without_receipts(app_factory):
    """0004: random entry ids and a random seq order for existing entries (links kept), no old
    feedback, a table of feedback quotas; the app works on the result; downgrade keeps the data."""
    app = app_factory()
    client = app.test_client()
    photos = [media_record(n) for n in range(8)]
    with app.app_context():
        db.drop_all()
        flask_migrate.upgrade(revision="0003")
        with db.engine.begin() as conn:  # a case as 0003 stored it: consecutive ids and seqs, per photo
            conn.execute(text("INSERT INTO partner (id, name, token_hash, created) "  # past PostgreSQL's serial
                              "VALUES (100, 'ExampleTube', :h, '2026-01-02')"), {"h": "a" * 64})
            conn.execute(text("INSERT INTO \"case\" (id, pin_verifier, created) VALUES ('OLD-CASE', :v, '2026-01-02')"),
                         {"v": pins.make_verifier("123456789012", n=2**10)})
            entry = 0
            for number, photo in enumerate(photos, 1):
                conn.execute(text("INSERT INTO media_item (id, case_id, number, media, status) "
                                  "VALUES (:n, 'OLD-CASE', :n, 'image', 'active')"), {"n": number})
                for h in photo["hashes"]:
                    entry += 1
                    conn.execute(text("INSERT INTO feed_entry (id, type, value, quality, media, status, "
                                      "not_violating, updated, seq) VALUES (:id, :type, :value, :quality, 'image', "
                                      "'active', :nv, '2026-01-02', :id)"),
                                 {"id": entry, "type": h["type"], "value": h["value"], "quality": h.get("quality"),
                                  "nv": entry % 2})
                    conn.execute(text("INSERT INTO item_hash (item_id, entry_id) VALUES (:n, :e)"),
                                 {"n": number, "e": entry})
                    conn.execute(text("INSERT INTO feedback (partner_id, entry_id, outcome, updated) "
                                      "VALUES (100, :e, 'not_violating', '2026-01-02')"), {"e": entry})
            conn.execute(text("UPDATE feed_state SET seq = :s WHERE id = 1"), {"s": entry})
        flask_migrate.upgrade()
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT id, seq, value, not_violating FROM feed_entry")).all()
            links = conn.execute(text("SELECT h.item_id, e.value FROM item_hash h "
                                      "JOIN feed_entry e ON e.id = h.entry_id")).all()
            assert conn.execute(text("SELECT COUNT(*) FROM feedback")).scalar_one() == 0
            assert conn.execute(text("SELECT seq FROM feed_state")).scalar_one() == entry
        assert sorted(seq for _, seq, _, _ in rows) == list(range(1, entry + 1))
        by_seq = [value for _, value in sorted((seq, value) for _, seq, value, _ in rows)]
        assert by_seq != [h["value"] for photo in photos for h in photo["hashes"]]  # no longer in photo order
        ids = sorted(i for i, _, _, _ in rows)
        assert len(ids) == entry and ids != list(range(1, entry + 1)) and ids[-1] - ids[0] > 1000 * entry
        assert {n for _, _, _, n in rows} == {0}
        assert sorted(links) == sorted((n, h["value"]) for n, photo in enumerate(photos, 1) for h in photo["hashes"])
        assert "feedback_quota" in inspect(db.engine).get_table_names()
        token = storage.add_partner("LaterTube")
    partner = {"Authorization": "Bearer " + token}
    page = client.get("/api/v1/partner/hashes", headers=partner).get_json()
    assert sorted(e["id"] for e in page["entries"]) == ids
    assert client.get("/api/v1/partner/hashes?cursor=24", headers=partner).status_code == 400  # an old cursor
    first = page["entries"][0]
    report = {"id": first["id"], "value": first["value"], "outcome": "removed"}
    assert client.post("/api/v1/partner/feedback", headers=partner, json={"feedback": [report]}).status_code == 200
    pin = {"X-Case-PIN": "123456789012"}
    assert client.post("/api/v1/cases/OLD-CASE/withdraw", json={}, headers=pin).status_code == 200
    changed = client.get("/api/v1/partner/hashes", query_string={"cursor": page["next_cursor"]}, headers=partner)
    assert sorted(e["id"] for e in changed.get_json()["entries"]) == ids
    assert {e["status"] for e in changed.get_json()["entries"]} == {"withdrawn"}
    with app.app_context():
        db.session.remove()
        flask_migrate.downgrade(revision="0003")
        assert "feedback_quota" not in inspect(db.engine).get_table_names()
        with db.engine.connect() as conn:
            assert sorted(conn.execute(text("SELECT id FROM feed_entry")).scalars()) == ids
            assert conn.execute(text("SELECT COUNT(*) FROM feedback")).scalar_one() == 1
        flask_migrate.upgrade()


def test_the_app_works_on_a_migrated_database(app_factory):
    app = app_factory()
    with app.app_context():
        db.drop_all()
        flask_migrate.upgrade()
    client = app.test_client()
    response = client.post("/api/v1/cases", json={"items": [{"media": "image", "hashes": [
        {"type": "md5", "value": "0" * 32}]}]})
    assert response.status_code == 201


def test_migrations_are_packaged():
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    config = tomllib.loads((root / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["backend"]
    assert "migrations/*" in patterns and "migrations/**/*" in patterns
    assert list((root / "backend" / "migrations" / "versions").glob("*.py"))


def test_database_url_from_the_environment(monkeypatch, tmp_path):
    from backend import create_app, database_url

    assert database_url(None, "/srv/instance") == "sqlite:////srv/instance/takeback.sqlite"
    assert database_url("postgresql://u@h/db", "x") == "postgresql+psycopg://u@h/db"
    assert database_url("postgres://u@h/db", "x") == "postgresql+psycopg://u@h/db"
    assert database_url("postgresql+psycopg://u@h/db", "x") == "postgresql+psycopg://u@h/db"
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    assert create_app().config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    monkeypatch.delenv("DATABASE_URL")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///" + app.instance_path)
