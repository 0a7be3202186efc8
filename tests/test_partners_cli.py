"""`takeback partners add | list | publish | unpublish | revoke` and `takeback db upgrade`, on the test's database."""
import pytest
from click.testing import CliRunner
from sqlalchemy import inspect

from backend import storage
from backend.models import db
from takeback.cli import main


@pytest.fixture
def takeback(app, database_url, monkeypatch):
    """Run `takeback ARGS` against the same database as `app`."""
    monkeypatch.setenv("DATABASE_URL", database_url)

    def run(*args):
        return CliRunner().invoke(main, list(args))

    return run


def test_add_prints_a_token_that_works(app, takeback):
    result = takeback("partners", "add", "ExampleTube")
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert token.startswith("tb_") and len(token) >= 40
    client = app.test_client()
    assert client.get("/api/v1/partner/hashes", headers={"Authorization": "Bearer " + token}).status_code == 200
    with app.app_context():
        (partner,) = storage.partners()
        assert partner.name == "ExampleTube" and partner.token_hash == storage.token_hash(token)


def test_add_twice_is_refused(takeback):
    assert takeback("partners", "add", "ExampleTube").exit_code == 0
    again = takeback("partners", "add", "ExampleTube")
    assert again.exit_code != 0 and "exists" in again.output


def test_names_are_checked(takeback):
    assert takeback("partners", "add", "  ").exit_code != 0
    assert takeback("partners", "add", "x" * 101).exit_code != 0


def test_list_and_revoke(app, takeback):
    token = takeback("partners", "add", "ExampleTube").stdout.strip()
    takeback("partners", "add", "OtherSite")
    listed = takeback("partners", "list")
    assert listed.exit_code == 0
    lines = listed.stdout.splitlines()
    assert [line.split("\t")[0] for line in lines] == ["ExampleTube", "OtherSite"]
    assert all(line.endswith("\tactive") for line in lines)
    assert token not in listed.output

    revoked = takeback("partners", "revoke", "ExampleTube")
    assert revoked.exit_code == 0
    assert app.test_client().get("/api/v1/partner/hashes",
                                 headers={"Authorization": "Bearer " + token}).status_code == 401
    assert "\trevoked " in takeback("partners", "list").stdout.splitlines()[0]
    assert takeback("partners", "revoke", "ExampleTube").exit_code != 0
    assert takeback("partners", "revoke", "Nobody").exit_code != 0


def platforms(app):
    return [p["name"] for p in app.test_client().get("/api/v1/platforms").get_json()["platforms"]]


def test_list_says_public_or_private(takeback):
    assert takeback("partners", "add", "ExampleTube", "--public").exit_code == 0
    assert takeback("partners", "add", "OtherSite").exit_code == 0
    lines = [line.split("\t") for line in takeback("partners", "list").stdout.splitlines()]
    assert [(line[0], line[2], line[3]) for line in lines] == [("ExampleTube", "public", "active"),
                                                               ("OtherSite", "private", "active")]


def test_publish_and_unpublish(app, takeback):
    assert takeback("partners", "add", "ExampleTube").exit_code == 0
    assert platforms(app) == []
    published = takeback("partners", "publish", "ExampleTube")
    assert published.exit_code == 0, published.output
    assert platforms(app) == ["ExampleTube"]
    assert takeback("partners", "publish", "ExampleTube").exit_code == 0  # twice is harmless
    assert "\tpublic\t" in takeback("partners", "list").stdout
    unpublished = takeback("partners", "unpublish", "ExampleTube")
    assert unpublished.exit_code == 0, unpublished.output
    assert platforms(app) == []
    assert "\tprivate\t" in takeback("partners", "list").stdout


def test_publish_unknown_or_revoked_partners_is_refused(app, takeback):
    for command in ("publish", "unpublish"):
        result = takeback("partners", command, "Nobody")
        assert result.exit_code != 0 and "no partner named 'Nobody'" in result.output
    assert takeback("partners", "add", "ExampleTube").exit_code == 0
    assert takeback("partners", "revoke", "ExampleTube").exit_code == 0
    result = takeback("partners", "publish", "ExampleTube")
    assert result.exit_code != 0 and "revoked" in result.output
    assert "\tprivate\t" in takeback("partners", "list").stdout
    assert takeback("partners", "unpublish", "ExampleTube").exit_code == 0


def test_a_revoked_public_partner_leaves_the_list(app, takeback):
    assert takeback("partners", "add", "ExampleTube", "--public").exit_code == 0
    assert platforms(app) == ["ExampleTube"]
    assert takeback("partners", "revoke", "ExampleTube").exit_code == 0
    assert platforms(app) == []


def test_db_upgrade_creates_the_schema(app, takeback):
    with app.app_context():
        db.drop_all()
    missing = takeback("partners", "list")
    assert missing.exit_code != 0 and "takeback db upgrade" in missing.output
    assert takeback("db", "upgrade").exit_code == 0
    with app.app_context():
        assert "feed_entry" in inspect(db.engine).get_table_names()
    assert takeback("partners", "add", "ExampleTube").exit_code == 0
