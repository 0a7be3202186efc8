"""The migrations create exactly the schema the models describe, on SQLite and PostgreSQL."""
import flask_migrate
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from backend import pins, storage
from backend.models import db


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
        flask_migrate.upgrade()
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
    app.extensions.pop("takeback_pin_key")  # a new key is made with the new table
    assert client.get("/api/v1/cases/OLD-CASE", headers={"X-Case-PIN": "123456789012"}).status_code == 200
    assert client.get("/api/v1/cases/no-such-case", headers=wrong).status_code == 404


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
