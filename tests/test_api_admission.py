"""Flood control: proof of work for a new case, caps on what a case holds, the quarantine of new
entries, and the operator's purge. Admission is on here (tests.conftest turns it off elsewhere)."""
import json
import random
import time

import pytest
from click.testing import CliRunner

from backend import storage
from backend.models import Case, CaseHold, FeedEntry, UsedWork, db
from hashing import admission
from takeback.cli import main

from .conftest import media_record, pdq_hex, read_feed

BITS = 8  # cheap for tests; the production difficulty is checked below


class Clock:
    def __init__(self):
        self.now = 1_800_000_000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def app(app_factory, clock):
    return app_factory(ADMISSION=True, ADMISSION_BITS=BITS, CLOCK=clock)


def case_bytes(*seeds):
    return json.dumps({"items": [media_record(s) for s in seeds]}).encode()


def challenge(client):
    response = client.get("/api/v1/cases/challenge")
    assert response.status_code == 200
    return response.get_json()


def solved(client, body):
    c = challenge(client)
    bits = admission.required_bits(c["bits"], admission.case_hashes(body))
    nonce = admission.solve(c["challenge"], admission.body_digest(body), bits)
    return {"X-Takeback-Challenge": c["challenge"], "X-Takeback-Work": str(nonce)}


def post(client, body, headers):
    return client.post("/api/v1/cases", data=body, headers=dict(headers, **{"Content-Type": "application/json"}))


def counts(app):
    with app.app_context():
        return db.session.query(Case).count(), db.session.query(FeedEntry).count()


def test_a_case_with_work_is_created(client):
    body = case_bytes(1, 2)
    response = post(client, body, solved(client, body))
    assert response.status_code == 201, response.get_json()
    assert len(response.get_json()["items"]) == 2


def test_the_challenge(client, clock):
    c = challenge(client)
    assert c["bits"] == BITS and c["required"] is True
    assert c["expires"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(clock.now + 600))
    assert c["challenge"] != challenge(client)["challenge"] or True  # same second: may be the same


def test_production_difficulty(app_factory):
    from backend import create_app

    config = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}).config
    assert config["ADMISSION"] is True and config["ADMISSION_BITS"] == 17 and config["QUARANTINE_SECONDS"] == 600


def refused(app, client, body, headers, status, code):
    before = counts(app)
    response = post(client, body, headers)
    assert response.status_code == status, response.get_json()
    assert response.get_json()["error"] == code
    assert "GET /api/v1/cases/challenge" in response.get_json()["detail"]
    assert counts(app) == before


def test_missing_work_is_refused_before_the_body_is_read(app, client):
    body = case_bytes(1)
    refused(app, client, body, {}, 428, "work_required")
    headers = solved(client, body)
    refused(app, client, body, {"X-Takeback-Challenge": headers["X-Takeback-Challenge"]}, 428, "work_required")
    refused(app, client, b"not even json", {"X-Takeback-Work": "1"}, 428, "work_required")


def test_wrong_or_forged_work_is_refused(app, client):
    body = case_bytes(1)
    headers = solved(client, body)
    nonce = int(headers["X-Takeback-Work"])
    # A nonce that does not solve it (the next one rarely does: 1 in 2**8; find one that does not).
    digest = admission.body_digest(body)
    wrong = next(str(n) for n in range(nonce + 1, nonce + 1000)
                 if not admission.verify(headers["X-Takeback-Challenge"], digest, BITS, str(n)))
    refused(app, client, body, dict(headers, **{"X-Takeback-Work": wrong}), 400, "work_invalid")
    for bad in ("-1", "1e3", "x", "1" * 21, "١٢"):
        refused(app, client, body, dict(headers, **{"X-Takeback-Work": bad}), 400, "work_invalid")
    # A challenge the server did not sign: easier bits, another time, garbage.
    v, issued, bits, mac = headers["X-Takeback-Challenge"].split(".")
    for forged in ("v1.%s.0.%s" % (issued, mac), "v1.%d.%s.%s" % (int(issued) + 100, bits, mac), "v1.x.8.00", "hello"):
        easy = str(admission.solve(forged, digest, 0))  # any nonce: the challenge fails first
        refused(app, client, body, {"X-Takeback-Challenge": forged, "X-Takeback-Work": easy}, 400, "work_invalid")


def test_a_large_case_needs_more_work(app, client):
    assert [admission.required_bits(17, n) for n in (1, 2000, 2001, 4000, 4001, 40_000)] == [17, 17, 18, 18, 19, 22]
    rng = random.Random(5)
    body = json.dumps({"items": [record("image", 67, rng) for _ in range(40)]}).encode()  # 2,680 hashes
    c = challenge(client)
    digest = admission.body_digest(body)
    # Work for the base bits that lacks the one more this case needs.
    easy = next(n for n in range(10**6) if admission.verify(c["challenge"], digest, BITS, str(n))
                and not admission.verify(c["challenge"], digest, BITS + 1, str(n)))
    headers = {"X-Takeback-Challenge": c["challenge"], "X-Takeback-Work": str(easy)}
    refused(app, client, body, headers, 400, "work_invalid")
    assert "9 zero bits for a case of 2680 hash records" in post(client, body, headers).get_json()["detail"]
    assert post(client, body, solved(client, body)).status_code == 201


def test_work_is_for_one_body(app, client):
    body, other = case_bytes(1), case_bytes(2)
    headers = solved(client, body)
    if admission.verify(headers["X-Takeback-Challenge"], admission.body_digest(other), BITS, headers["X-Takeback-Work"]):
        pytest.skip("the nonce happens to solve the other body too (1 in 256)")
    refused(app, client, other, headers, 400, "work_invalid")


def test_work_is_spent_once_also_across_app_instances(app, app_factory, client, clock):
    body = case_bytes(1)
    headers = solved(client, body)
    assert post(client, body, headers).status_code == 201
    refused(app, client, body, headers, 409, "work_used")
    # Another server process (another app on the same database) knows it is spent too.
    other = app_factory(ADMISSION=True, ADMISSION_BITS=BITS, CLOCK=clock)
    refused(app, other.test_client(), body, headers, 409, "work_used")


def test_expired_challenges_are_refused_and_spent_work_is_forgotten(app, client, clock):
    body = case_bytes(1)
    headers = solved(client, body)
    assert post(client, body, headers).status_code == 201
    clock.now += 601
    later = case_bytes(2)
    refused(app, client, later, solved(client, later) | {"X-Takeback-Challenge": headers["X-Takeback-Challenge"],
                                                           "X-Takeback-Work": str(admission.solve(
                                                               headers["X-Takeback-Challenge"],
                                                               admission.body_digest(later), BITS))},
            400, "work_expired")
    clock.now += 60
    assert post(client, later, solved(client, later)).status_code == 201
    with app.app_context():
        assert db.session.query(UsedWork).count() == 1  # the first, expired, was forgotten


def test_a_refused_body_spends_no_work(app, client):
    body = json.dumps({"items": [{"media": "image", "hashes": []}]}).encode()
    headers = solved(client, body)
    assert post(client, body, headers).status_code == 400
    with app.app_context():
        assert db.session.query(UsedWork).count() == 0


# -- caps ----------------------------------------------------------------------------------------


def record(media, n, rng):
    return {"media": media, "hashes": [{"type": "pdq", "value": pdq_hex(rng), "quality": 90} for _ in range(n)]}


@pytest.mark.parametrize("media,most", [("image", 67), ("video", 1394)])
def test_hashes_per_item_are_capped_at_what_the_app_sends(app, client, media, most):
    rng = random.Random(most)
    ok = json.dumps({"items": [record(media, most, rng)]}).encode()
    assert post(client, ok, solved(client, ok)).status_code == 201
    too_many = json.dumps({"items": [record("image", 1, rng), record(media, most + 1, rng)]}).encode()
    before = counts(app)
    response = post(client, too_many, solved(client, too_many))
    assert response.status_code == 400
    assert response.get_json()["detail"] == "items[1]: a %s record may hold at most %d hashes, got %d" % (
        media, most, most + 1)
    assert counts(app) == before


def test_one_digest_of_each_kind_per_item(app, client):
    two = media_record(1)
    two["hashes"].append({"type": "md5", "value": "0" * 32})
    body = json.dumps({"items": [two]}).encode()
    before = counts(app)
    response = post(client, body, solved(client, body))
    assert response.status_code == 400
    assert response.get_json()["detail"] == "items[0]: a record may hold one md5 digest (of its file), not more"
    assert counts(app) == before


def test_the_caps_match_the_hashing_code():
    from backend.cases import MAX_HASHES
    from hashing import DIGEST_TYPES, MAX_FRAMES
    from hashing.robust import ENROL_BUDGET, ENROL_FRAME_PAIR_COUNT, FRAME_ASPECTS, OUTER_THIRDS, SQUARE_PAIRS
    from hashing.video import KEY_FRAMES

    key = len(FRAME_ASPECTS) + OUTER_THIRDS + ENROL_FRAME_PAIR_COUNT + SQUARE_PAIRS
    assert MAX_HASHES == {"image": 1 + ENROL_BUDGET + len(DIGEST_TYPES),
                          "video": 3 * MAX_FRAMES + key * KEY_FRAMES + len(DIGEST_TYPES)}


# -- quarantine ----------------------------------------------------------------------------------


def test_new_entries_wait_in_quarantine_and_the_feed_never_skips_them(app_factory, clock):
    app = app_factory(QUARANTINE_SECONDS=600, CLOCK=clock)
    client = app.test_client()
    with app.app_context():
        partner = {"Authorization": "Bearer " + storage.add_partner("example")}
    post(client, case_bytes(1), {})
    first, cursor = read_feed(client, partner)
    assert first == []
    clock.now += 300
    post(client, case_bytes(2), {})
    md5 = media_record(2)["hashes"][1]
    assert client.post("/api/v1/partner/match", json={"hashes": [md5]}, headers=partner).get_json()[
        "results"][0]["matches"] == []
    assert read_feed(client, partner, cursor)[0] == []
    clock.now += 301  # the first case is out, the second still in
    entries, cursor = read_feed(client, partner, cursor)
    assert {e["value"] for e in entries} == {h["value"] for h in media_record(1)["hashes"]}
    clock.now += 300
    entries, cursor = read_feed(client, partner, cursor)
    assert {e["value"] for e in entries} == {h["value"] for h in media_record(2)["hashes"]}
    assert client.post("/api/v1/partner/match", json={"hashes": [md5]}, headers=partner).get_json()[
        "results"][0]["matches"] != []
    post(client, case_bytes(3), {})
    with app.app_context():  # run-out holds are forgotten with the next case
        assert db.session.query(CaseHold).count() == 1


def test_purge_withdraws_the_cases_in_quarantine_since_a_time(app_factory, database_url, monkeypatch):
    app = app_factory(QUARANTINE_SECONDS=600)  # the real clock: the command runs a server app of its own
    client = app.test_client()
    with app.app_context():
        partner = {"Authorization": "Bearer " + storage.add_partner("example")}
        # A genuine case out of quarantine, sharing a hash with the flood.
        storage.create_case("genuine", "x", [storage_record(media_record(1))])
    genuine = media_record(1)["hashes"][1]["value"]
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
    flood = [post(client, case_bytes(1, 100 + n), {}).get_json()["case_id"] for n in range(3)]
    monkeypatch.setenv("DATABASE_URL", database_url)
    result = CliRunner().invoke(main, ["cases", "purge", "--since", since])
    assert result.exit_code == 0, result.output
    assert "withdrew 3 cases" in result.output
    with app.app_context():
        assert db.session.query(CaseHold).count() == 0
        for case_id in flood:
            assert {i.status for i in storage.case_items(case_id)} == {"withdrawn"}
    entries, _ = read_feed(client, partner)
    active = {e["value"] for e in entries if e["status"] == "active"}
    assert active == {h["value"] for h in media_record(1)["hashes"]} and genuine in active
    assert CliRunner().invoke(main, ["cases", "purge", "--since", "yesterday"]).exit_code != 0


def storage_record(obj):
    from hashing import MediaRecord

    return MediaRecord.from_json(obj)
