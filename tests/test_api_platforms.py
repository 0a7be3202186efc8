"""GET /api/v1/platforms: the public, unrevoked partners by name, for the app's help screen."""
from backend import storage


def add(app, name, public):
    with app.app_context():
        return storage.add_partner(name, public=public)


def test_no_platforms_yet(client):
    response = client.get("/api/v1/platforms")
    assert response.status_code == 200
    assert response.get_json() == {"platforms": []}
    assert response.headers["Cache-Control"] == "public, max-age=300"


def test_only_public_active_partners_sorted_by_name_ignoring_case(app, client):
    add(app, "zeta", True)
    add(app, "Beta", True)
    add(app, "alpha", True)
    add(app, "Private Video", False)
    add(app, "Gone", True)
    with app.app_context():
        assert storage.revoke_partner("Gone")
    response = client.get("/api/v1/platforms")  # no Authorization header
    assert response.status_code == 200
    assert response.get_json() == {"platforms": [{"name": "alpha"}, {"name": "Beta"}, {"name": "zeta"}]}
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert "Set-Cookie" not in response.headers
    assert "Gone" not in response.get_data(as_text=True)
    assert "Private" not in response.get_data(as_text=True)


def test_reveals_nothing_but_names(app, client):
    token = add(app, "ExampleTube", True)
    body = client.get("/api/v1/platforms", headers={"Authorization": "Bearer " + token}).get_json()
    assert body == {"platforms": [{"name": "ExampleTube"}]}  # a partner's token changes nothing
    with app.app_context():
        (partner,) = storage.partners()
        created = partner.created.isoformat()
    assert created not in client.get("/api/v1/platforms").get_data(as_text=True)


def test_publishing_shows_at_once(app, client):
    add(app, "ExampleTube", False)
    assert client.get("/api/v1/platforms").get_json() == {"platforms": []}
    with app.app_context():
        assert storage.set_partner_public("ExampleTube", True)
        assert not storage.set_partner_public("Nobody", True)
    assert client.get("/api/v1/platforms").get_json() == {"platforms": [{"name": "ExampleTube"}]}


def test_other_api_answers_stay_uncached(client):
    assert client.get("/api/openapi.json").headers["Cache-Control"] == "no-store"
    refused = client.post("/api/v1/platforms", json={})
    assert refused.status_code == 405 and refused.headers["Cache-Control"] == "no-store"
    assert client.get("/api/v1/cases/x").headers["Cache-Control"] == "no-store"
