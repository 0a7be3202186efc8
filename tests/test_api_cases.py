"""The public case API: submit, status, withdraw; validation; PIN handling and guessing limits."""
import re
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from backend import pins, storage
from backend.api import BODY_LIMIT as LIMIT
from backend.cases import NOT_FOUND
from backend.models import Case, FeedEntry, ItemHash, MediaItem, db
from hashing import MediaRecord

from .conftest import media_record, read_feed, submit


def counts(app):
    """Row counts of every case table: a failed request must leave them as they were."""
    with app.app_context():
        return [db.session.scalar(select(func.count()).select_from(m)) for m in (Case, MediaItem, ItemHash, FeedEntry)]


def status(client, receipt, pin=None):
    return client.get("/api/v1/cases/" + receipt["case_id"], headers={"X-Case-PIN": pin or receipt["pin"]})


def test_submit_returns_a_receipt(client):
    receipt = submit(client, media_record(1), media_record(2, media="video"))
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}", receipt["case_id"])  # 80 bits
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


def test_guessing_is_slowed_per_case(app_factory):
    now = [1_000_000.0]
    app = app_factory(PIN_FREE_ATTEMPTS=3, PIN_CLOCK=lambda: now[0])
    client = app.test_client()
    receipt = submit(client, media_record(1))
    other = submit(client, media_record(2))
    for _ in range(3):
        assert status(client, receipt, "1").status_code == 404
    blocked = status(client, receipt)  # even the right PIN, until its turn
    assert blocked.status_code == 429
    assert blocked.get_json()["error"] == "too_many_requests"
    assert blocked.headers["Retry-After"] == "1"
    assert "checked in 1 second" in blocked.get_json()["detail"]
    withdraw = client.post("/api/v1/cases/%s/withdraw" % receipt["case_id"], json={},
                           headers={"X-Case-PIN": receipt["pin"]})
    assert withdraw.status_code == 429
    assert status(client, other).status_code == 200  # other cases are unaffected
    now[0] += 1
    assert status(client, receipt).status_code == 200


def stored_case(app, case_id, pin="123456789012"):
    """A case stored under a chosen id through the storage layer (as an older server made them)."""
    with app.app_context():
        verifier = pins.make_verifier(pin, app.config["PIN_SCRYPT_N"])
        storage.create_case(case_id, verifier, [MediaRecord.from_json(media_record(case_id))])
    return {"case_id": case_id, "pin": pin}


def get_case(client, typed, pin):
    return client.get("/api/v1/cases/" + quote(typed, safe=""), headers={"X-Case-PIN": pin})


NEW_ID = "7K3M-Q9XA-4TR1-Z0W1"


@pytest.mark.parametrize("typed", [
    NEW_ID, "7k3m-q9xa-4tr1-z0w1", "7K3MQ9XA4TR1Z0W1", "7k3m q9xa 4tr1 z0w1", " 7K3M Q9XA-4TR1 Z0W1 ",
    "7K3M-Q9XA-4TRI-ZOWL", "7k3mq9xa4trlzowi",
])
def test_a_case_id_as_a_person_may_type_it(app, client, typed):
    case = stored_case(app, NEW_ID)
    response = get_case(client, typed, case["pin"])
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["case_id"] == NEW_ID
    withdrawn = client.post("/api/v1/cases/%s/withdraw" % quote(typed, safe=""), json={"items": [1]},
                            headers={"X-Case-PIN": case["pin"]})
    assert withdrawn.status_code == 200 and withdrawn.get_json()["items"][0]["status"] == "withdrawn"


def test_a_new_receipt_works_typed_by_hand(client):
    receipt = submit(client, media_record(1))
    typed = receipt["case_id"].lower().replace("-", " ").replace("1", "l").replace("0", "o")
    response = get_case(client, typed, receipt["pin"])
    assert response.status_code == 200 and response.get_json()["case_id"] == receipt["case_id"]


def test_old_ids_work_exactly_as_they_are(app, client):
    old = stored_case(app, "A1b2C3d4E5f6G7h8I9j0-_", "111122223333")
    assert get_case(client, old["case_id"], old["pin"]).get_json()["case_id"] == old["case_id"]
    assert client.post("/api/v1/cases/%s/withdraw" % old["case_id"], json={"items": [1]},
                       headers={"X-Case-PIN": old["pin"]}).status_code == 200
    for changed in (old["case_id"].lower(), old["case_id"].upper(), old["case_id"].replace("-", "")):
        response = get_case(client, changed, old["pin"])
        assert response.status_code == 404 and response.get_json()["detail"] == NOT_FOUND


def test_an_old_id_that_spells_a_new_one_is_not_rewritten(app, client):
    # Without its hyphens this old id reads as the Crockford id ABCD-EFGH-JKMN-PQ12: the exact
    # id is looked up first, so it still opens its own case, and the new one is not in the way.
    old = stored_case(app, "ab-cd-ef-gh-jk-mn-pq12", "111122223333")
    new = stored_case(app, "ABCD-EFGH-JKMN-PQ12", "444455556666")
    assert get_case(client, old["case_id"], old["pin"]).get_json()["case_id"] == old["case_id"]
    assert get_case(client, old["case_id"], new["pin"]).status_code == 404
    assert get_case(client, "abcdefghjkmnpq12", new["pin"]).get_json()["case_id"] == new["case_id"]


def test_wrong_pins_in_every_spelling_count_against_one_case(app_factory):
    app = app_factory(PIN_FREE_ATTEMPTS=3, PIN_CLOCK=lambda: 1_000_000.0)
    client = app.test_client()
    case = stored_case(app, NEW_ID)
    other = submit(client, media_record(2))
    for typed in ("7k3m-q9xa-4tr1-z0w1", "7K3MQ9XA4TR1Z0W1", "7K3M Q9XA 4TRI ZOWL"):
        assert get_case(client, typed, "000000000000").status_code == 404
    for typed in (NEW_ID, "7k3mq9xa4tr1z0w1"):
        assert get_case(client, typed, case["pin"]).status_code == 429
    assert status(client, other).status_code == 200


@pytest.mark.parametrize("typed", [
    "a\x00b", "7K3M-Q9XA-4TR1-Z0W\x00", "\x00" * 30, "A" * 100_000, "7" * 65, "\u00e9t\u00e9", "\u0131" * 16,
    "7K3M-Q9XA-4TR1-Z0W\u0131", "7K3M-Q9XA-4TR1-Z0WU", "7K3M-Q9XA-4TR1", "----", " ", "\U0001F600" * 22,
    "%", "..", "A1b2C3d4E5f6G7h8I9j0-=",
])
def test_malformed_ids_get_the_wrong_pin_answer(app, client, typed):
    stored_case(app, NEW_ID)
    before = counts(app)
    wrong_pin = get_case(client, NEW_ID, "000000000000").get_json()
    response = get_case(client, typed, "123456789012")
    assert response.status_code == 404 and response.get_json() == wrong_pin
    withdraw = client.post("/api/v1/cases/%s/withdraw" % quote(typed, safe=""), json={},
                           headers={"X-Case-PIN": "123456789012"})
    assert withdraw.status_code == 404 and withdraw.get_json() == wrong_pin
    assert counts(app) == before


def test_withdraw_the_whole_case(client, partner):
    receipt = submit(client, media_record(1), media_record(2))
    held, cursor = read_feed(client, partner)
    response = client.post("/api/v1/cases/%s/withdraw" % receipt["case_id"], json={},
                           headers={"X-Case-PIN": receipt["pin"]})
    assert response.status_code == 200
    assert [i["status"] for i in response.get_json()["items"]] == ["withdrawn", "withdrawn"]
    assert response.get_json() == status(client, receipt).get_json()
    entries, _ = read_feed(client, partner, cursor)  # a platform that held them: tombstones
    assert {e["status"] for e in entries} == {"withdrawn"} and len(entries) == 6
    assert {e["id"] for e in entries} == {e["id"] for e in held}
    assert read_feed(client, partner)[0] == []  # from the beginning: never sent


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
    ([{"media": "video", "hashes": [{"type": "md5", "value": "%032x" % i} for i in range(1537)]}], "at most 1536"),
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

    monkeypatch.setattr(storage, "_entry_rows", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.post("/api/v1/cases", json={"items": [media_record(1)]})
    assert response.status_code == 500
    assert response.get_json()["error"] == "internal_error"
    assert "fire" not in response.get_json()["detail"]
    assert counts(app) == before
