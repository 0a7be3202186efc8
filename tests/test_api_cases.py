"""The public case API: submit, status, withdraw; validation; PIN handling and guessing limits."""
import re

import pytest
from sqlalchemy import func, select

from backend import storage
from backend.api import BODY_LIMIT as LIMIT
from backend.models import Case, FeedEntry, ItemHash, MediaItem, db

from .conftest import media_record, read_feed, submit


def counts(app):
    """Row counts of every case table: a failed request must leave them as they were."""
    with app.app_context():
        return [db.session.scalar(select(func.count()).select_from(m)) for m in (Case, MediaItem, ItemHash, FeedEntry)]


def status(client, receipt, pin=None):
    return client.get("/api/v1/cases/" + receipt["case_id"], headers={"X-Case-PIN": pin or receipt["pin"]})


def test_submit_returns_a_receipt(client):
    receipt = submit(client, media_record(1), media_record(2, media="video"))
    assert re.fullmatch(r"[A-Za-z0-9_-]{22,}", receipt["case_id"])  # >= 128 bits, URL-safe
    assert re.fullmatch(r"\d{12}", receipt["pin"])
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", receipt["created"])
    assert receipt["items"] == [{"item": 1, "media": "image", "status": "active"},
                                {"item": 2, "media": "video", "status": "active"}]


def test_case_ids_and_pins_differ_each_time(client):
    receipts = [submit(client, media_record(1)) for _ in range(3)]
    assert len({r["case_id"] for r in receipts}) == 3
    assert len({r["pin"] for r in receipts}) == 3


def test_status_with_the_pin(client):
    receipt = submit(client, media_record(1), media_record(2))
    response = status(client, receipt)
    assert response.status_code == 200
    body = response.get_json()
    assert body["case_id"] == receipt["case_id"] and body["created"] == receipt["created"]
    empty = {"matched": 0, "removed": 0, "not_removed": 0}
    assert body["items"] == [{"item": 1, "media": "image", "status": "active", "reports": empty},
                             {"item": 2, "media": "image", "status": "active", "reports": empty}]


def test_pin_accepts_spaces_and_hyphens(client):
    receipt = submit(client, media_record(1))
    pin = receipt["pin"]
    assert status(client, receipt, "%s %s-%s" % (pin[:4], pin[4:8], pin[8:])).status_code == 200


def test_wrong_pin_and_unknown_id_get_the_same_answer(client):
    receipt = submit(client, media_record(1))
    wrong_pin = status(client, receipt, "000000000000" if receipt["pin"] != "000000000000" else "1")
    unknown = client.get("/api/v1/cases/" + "A" * 22, headers={"X-Case-PIN": receipt["pin"]})
    no_header = client.get("/api/v1/cases/" + receipt["case_id"])
    for response in (wrong_pin, unknown, no_header):
        assert response.status_code == 404
        assert response.get_json() == wrong_pin.get_json()
    assert wrong_pin.get_json()["error"] == "not_found"


def test_pin_is_never_in_the_url(client):
    receipt = submit(client, media_record(1))
    response = client.get("/api/v1/cases/%s?pin=%s" % (receipt["case_id"], receipt["pin"]))
    assert response.status_code == 404


def test_guessing_is_limited_per_case(app_factory):
    app = app_factory(PIN_ATTEMPTS=3)
    client = app.test_client()
    receipt = submit(client, media_record(1))
    other = submit(client, media_record(2))
    for _ in range(3):
        assert status(client, receipt, "1").status_code == 404
    blocked = status(client, receipt)  # even the right PIN, once the case is blocked
    assert blocked.status_code == 429
    assert blocked.get_json()["error"] == "too_many_requests"
    assert blocked.headers["Retry-After"]
    withdraw = client.post("/api/v1/cases/%s/withdraw" % receipt["case_id"], json={},
                           headers={"X-Case-PIN": receipt["pin"]})
    assert withdraw.status_code == 429
    assert status(client, other).status_code == 200  # other cases are unaffected


def test_withdraw_the_whole_case(client, partner):
    receipt = submit(client, media_record(1), media_record(2))
    response = client.post("/api/v1/cases/%s/withdraw" % receipt["case_id"], json={},
                           headers={"X-Case-PIN": receipt["pin"]})
    assert response.status_code == 200
    assert [i["status"] for i in response.get_json()["items"]] == ["withdrawn", "withdrawn"]
    assert response.get_json() == status(client, receipt).get_json()
    entries, _ = read_feed(client, partner)
    assert {e["status"] for e in entries} == {"withdrawn"} and len(entries) == 6


def test_withdraw_chosen_items(client, partner):
    receipt = submit(client, media_record(1), media_record(2), media_record(3))
    response = client.post("/api/v1/cases/%s/withdraw" % receipt["case_id"], json={"items": [1, 3]},
                           headers={"X-Case-PIN": receipt["pin"]})
    assert [i["status"] for i in response.get_json()["items"]] == ["withdrawn", "active", "withdrawn"]
    entries, _ = read_feed(client, partner)
    active = {e["value"] for e in entries if e["status"] == "active"}
    assert active == {h["value"] for h in media_record(2)["hashes"]}


def test_withdraw_twice_is_harmless(client):
    receipt = submit(client, media_record(1))
    for _ in range(2):
        response = client.post("/api/v1/cases/%s/withdraw" % receipt["case_id"], json={"items": [1]},
                               headers={"X-Case-PIN": receipt["pin"]})
        assert response.status_code == 200
        assert response.get_json()["items"][0]["status"] == "withdrawn"


@pytest.mark.parametrize("body, field", [
    ({"items": [7]}, "item 7"),
    ({"items": []}, "items"),
    ({"items": [True]}, "items"),
    ({"items": "1"}, "items"),
    ({"all": True}, "all"),
])
def test_bad_withdrawal_changes_nothing(client, partner, body, field):
    receipt = submit(client, media_record(1), media_record(2))
    before, cursor = read_feed(client, partner)
    response = client.post("/api/v1/cases/%s/withdraw" % receipt["case_id"], json=body,
                           headers={"X-Case-PIN": receipt["pin"]})
    assert response.status_code == 400
    assert field in response.get_json()["detail"]
    assert [i["status"] for i in status(client, receipt).get_json()["items"]] == ["active", "active"]
    assert read_feed(client, partner, cursor)[0] == []


def test_withdraw_with_wrong_pin_changes_nothing(client):
    receipt = submit(client, media_record(1))
    response = client.post("/api/v1/cases/%s/withdraw" % receipt["case_id"], json={},
                           headers={"X-Case-PIN": "1"})
    assert response.status_code == 404
    assert status(client, receipt).get_json()["items"][0]["status"] == "active"


PDQ = "f" * 64


@pytest.mark.parametrize("items, field", [
    ([{"media": "image", "hashes": [{"type": "pdq", "value": PDQ, "quality": 101}]}], "quality"),
    ([{"media": "image", "hashes": [{"type": "pdq", "value": PDQ}]}], "quality"),
    ([{"media": "image", "hashes": [{"type": "pdq", "value": PDQ[:-1], "quality": 90}]}], "64 hex digits"),
    ([{"media": "image", "hashes": [{"type": "pdq", "value": PDQ.upper(), "quality": 90}]}], "lowercase hex"),
    ([{"media": "image", "hashes": [{"type": "md5", "value": "0" * 32, "quality": 5}]}], "quality"),
    ([{"media": "image", "hashes": [{"type": "crc32", "value": "00000000"}]}], "unknown hash type"),
    ([{"media": "image", "hashes": []}], "at least one hash"),
    ([{"media": "audio", "hashes": [{"type": "md5", "value": "0" * 32}]}], "media"),
    ([{"media": "image", "hashes": [{"type": "md5", "value": "0" * 32}], "name": "me.jpg"}], "'name'"),
    ([{"media": "image", "hashes": [{"type": "md5", "value": "0" * 32, "size": 3}]}], "'size'"),
    ([], "items"),
    ("x", "items"),
    ([{"media": "image", "hashes": [{"type": "md5", "value": "%032x" % i}]} for i in range(101)], "items"),
    ([{"media": "video", "hashes": [{"type": "md5", "value": "%032x" % i} for i in range(513)]}], "at most 512"),
    ([{"media": "image", "hashes": [{"type": "md5", "value": "0" * 32}, {"type": "md5", "value": "0" * 32}]}],
     "duplicate"),
])
def test_invalid_records_are_refused_and_change_nothing(app, client, items, field):
    before = counts(app)
    response = client.post("/api/v1/cases", json={"items": items})
    assert response.status_code == 400, response.get_json()
    body = response.get_json()
    assert body["error"] == "bad_request" and field in body["detail"]
    assert counts(app) == before


def test_error_names_the_item(client):
    items = [media_record(1), {"media": "image", "hashes": [{"type": "md5", "value": "xyz"}]}]
    detail = client.post("/api/v1/cases", json={"items": items}).get_json()["detail"]
    assert detail.startswith("items[1]: hashes[0]")


def test_unknown_top_level_field(client):
    response = client.post("/api/v1/cases", json={"items": [media_record(1)], "email": "a@b.c"})
    assert response.status_code == 400 and "'email'" in response.get_json()["detail"]


def test_malformed_json(app, client):
    before = counts(app)
    for data in (b"{", b"[1]", b"\xff\xfe", b'{"items": NaN}'):
        response = client.post("/api/v1/cases", data=data, content_type="application/json")
        assert response.status_code == 400
        assert response.get_json()["error"] == "bad_request"
    assert counts(app) == before


def test_wrong_content_type(client):
    response = client.post("/api/v1/cases", data='{"items": []}', content_type="text/plain")
    assert response.status_code == 415
    assert response.get_json()["error"] == "unsupported_media_type"
    form = client.post("/api/v1/cases", data={"items": "x"})
    assert form.status_code == 415


def test_body_over_the_limit_is_refused_before_parsing(app, client):
    assert app.config["BODY_LIMIT"] == 2 * 1024 * 1024  # docs/API.md says so
    before = counts(app)
    # Not JSON at all: a 400 here would mean it was parsed; the size check comes first.
    response = client.post("/api/v1/cases", data=b"x" * (LIMIT + 1), content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["error"] == "payload_too_large"
    assert counts(app) == before


def test_body_over_the_limit_without_content_length(client):
    # A chunked body declares no length: the stream is cut at the limit instead.
    import io

    chunked = client.post("/api/v1/cases", input_stream=io.BytesIO(b" " * (LIMIT + 40 * 1024)),
                          headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
                          environ_overrides={"wsgi.input_terminated": True})
    assert chunked.status_code == 413


def test_a_body_of_exactly_the_limit_is_read(client):
    body = b'{"items": []}'
    body += b" " * (LIMIT - len(body))
    response = client.post("/api/v1/cases", data=body, content_type="application/json")
    assert response.status_code == 400  # read and parsed: the schema refused it, not the size


def test_a_full_case_of_photos_with_every_robust_hash_fits(client):
    """100 photos (the most a case holds), each with the whole enrolment budget of hashes
    (PDQ, 64 windows and rotations/flips, 2 digests: 67), pretty-printed as the page sends it."""
    import json

    from hashing.robust import ENROL_BUDGET

    def h(type_, n):
        return {"type": type_, "value": "%064x" % n, "quality": 100}

    photo = {"media": "image", "hashes": [h("pdq", 1)] + [h("pdq-window", n) for n in range(ENROL_BUDGET - 7)]
             + [h("pdq-dihedral", n) for n in range(7)]
             + [{"type": "md5", "value": "%032x" % 1}, {"type": "sha256", "value": "%064x" % 1}]}
    body = json.dumps({"items": [photo] * 100}, indent=2).encode()
    assert len(photo["hashes"]) == 67 and 1_000_000 < len(body) <= LIMIT
    response = client.post("/api/v1/cases", data=body, content_type="application/json")
    assert response.status_code == 201, response.get_json()
    assert len(response.get_json()["items"]) == 100


def test_the_pin_is_stored_only_as_a_scrypt_verifier(app, client):
    receipt = submit(client, media_record(1))
    with app.app_context():
        case = storage.get_case(receipt["case_id"])
        assert case.pin_verifier.startswith("scrypt$")
        assert receipt["pin"] not in case.pin_verifier
        assert case.created.isoformat() == receipt["created"]  # a date, no time of day
        assert not hasattr(case.created, "hour")


def test_unknown_api_path_and_method_are_json(client):
    missing = client.get("/api/v1/nothing")
    assert missing.status_code == 404 and missing.get_json()["error"] == "not_found"
    wrong_method = client.delete("/api/v1/cases")
    assert wrong_method.status_code == 405 and wrong_method.get_json()["error"] == "method_not_allowed"


def test_server_errors_are_json_and_change_nothing(app, client, monkeypatch):
    before = counts(app)

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(storage, "_entries_by_key", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.post("/api/v1/cases", json={"items": [media_record(1)]})
    assert response.status_code == 500
    assert response.get_json()["error"] == "internal_error"
    assert "fire" not in response.get_json()["detail"]
    assert counts(app) == before
