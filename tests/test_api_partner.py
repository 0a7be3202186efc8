"""The partner API: bearer tokens, the hash feed, matching and feedback."""
import random

import pytest

from backend import storage

from .conftest import flip_bits, media_record, pdq_hex, read_feed, submit


def withdraw(client, receipt, items=None):
    body = {} if items is None else {"items": items}
    response = client.post("/api/v1/cases/%s/withdraw" % receipt["case_id"], json=body,
                           headers={"X-Case-PIN": receipt["pin"]})
    assert response.status_code == 200
    return response.get_json()


def match(client, partner, hashes, **extra):
    response = client.post("/api/v1/partner/match", json=dict({"hashes": hashes}, **extra), headers=partner)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["results"]


def feedback(client, partner, *reports):
    """Reports (entry, outcome), each entry a feed entry (its id and value: the receipt)."""
    return client.post("/api/v1/partner/feedback", headers=partner,
                       json={"feedback": [{"id": e["id"], "value": e["value"], "outcome": o} for e, o in reports]})


def other_partner(app, name="other-platform"):
    with app.app_context():
        return {"Authorization": "Bearer " + storage.add_partner(name)}


# -- tokens ------------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer "}, {"Authorization": "Bearer tb_wrong"},
                                     {"Authorization": "Basic dXNlcjpwYXNz"}])
def test_partner_endpoints_need_a_token(client, partner, headers):
    for method, path in (("get", "/api/v1/partner/hashes"), ("post", "/api/v1/partner/match"),
                         ("post", "/api/v1/partner/feedback")):
        response = getattr(client, method)(path, headers=headers, json={})
        assert response.status_code == 401
        assert response.get_json()["error"] == "unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_token_stops_working_at_once(app, client, partner):
    assert client.get("/api/v1/partner/hashes", headers=partner).status_code == 200
    with app.app_context():
        assert storage.revoke_partner("example-platform")
    assert client.get("/api/v1/partner/hashes", headers=partner).status_code == 401


def test_only_a_hash_of_the_token_is_stored(app, partner):
    token = partner["Authorization"].split()[1]
    with app.app_context():
        (stored,) = storage.partners()
        assert stored.token_hash == storage.token_hash(token) and token not in stored.token_hash


# -- the feed ----------------------------------------------------------------------------------


def test_feed_entries(client, partner):
    record = media_record(1, quality=77)
    submit(client, record)
    entries, cursor = read_feed(client, partner)
    assert sorted((e["type"], e["value"], e["quality"]) for e in entries) == sorted(
        (h["type"], h["value"], h.get("quality")) for h in record["hashes"])
    for e in entries:
        assert e["status"] == "active" and e["media"] == "image" and e["disputed"] is False
        assert len(e["updated"]) == 10
    assert len({e["id"] for e in entries}) == 3


def test_ids_and_order_do_not_group_a_submission_into_photos(client, partner):
    photos = [media_record(seed) for seed in range(20)]
    submit(client, *photos)
    entries, _ = read_feed(client, partner)
    photo_of = {h["value"]: n for n, photo in enumerate(photos) for h in photo["hashes"]}
    order = [photo_of[e["value"]] for e in entries]
    assert sorted(order) == sorted(n for n in range(20) for _ in range(3))
    # Submission order would keep each photo's 3 entries together; a random order almost
    # never does for all 20 (chance ~1e-40).
    runs = sum(1 for a, b in zip(order, order[1:]) if a != b) + 1
    assert runs > 20
    ids = [e["id"] for e in entries]
    assert ids != sorted(ids) and ids != sorted(ids, reverse=True)
    assert max(ids) - min(ids) > 1000 * len(ids)  # not counted up: spread over 31 bits
    assert all(1 <= i < 2**31 for i in ids)


def test_a_withdrawn_entry_is_a_tombstone_without_its_hash(client, partner):
    receipt = submit(client, media_record(1))
    held, cursor = read_feed(client, partner)
    withdraw(client, receipt)
    changed, cursor = read_feed(client, partner, cursor)
    assert sorted(e["id"] for e in changed) == sorted(e["id"] for e in held)
    for e in changed:
        assert set(e) == {"id", "status", "updated"} and e["status"] == "withdrawn"
    assert not {h["value"] for h in media_record(1)["hashes"]} & {str(v) for e in changed for v in e.values()}


@pytest.mark.parametrize("limit", [1, 2, 1000])
def test_a_reader_that_starts_after_a_withdrawal_never_sees_it(app, client, partner, limit):
    first = submit(client, media_record(1))
    submit(client, media_record(2))
    early, early_cursor = read_feed(client, partner)  # an early reader holds both photos
    withdraw(client, first)
    submit(client, media_record(3))
    late = other_partner(app, "late-platform")  # joins after the withdrawal, reads from the beginning
    entries, late_cursor = read_feed(client, late, limit=limit)
    kept = {h["value"] for seed in (2, 3) for h in media_record(seed)["hashes"]}
    assert {e["value"] for e in entries} == kept and {e["status"] for e in entries} == {"active"}
    assert not {e["id"] for e in early if e["value"] not in kept} & {e["id"] for e in entries}
    changed, early_cursor = read_feed(client, partner, early_cursor)  # the early reader gets tombstones
    assert {e["status"] for e in changed} == {"withdrawn", "active"}
    assert {e["id"] for e in changed if e["status"] == "withdrawn"} == {
        e["id"] for e in early if e["value"] in {h["value"] for h in media_record(1)["hashes"]}}
    assert read_feed(client, late, late_cursor)[0] == []
    # A later withdrawal reaches the late reader too (it holds those entries now).
    withdraw(client, submit(client, media_record(4)))
    changed, _ = read_feed(client, late, late_cursor)
    assert len(changed) == 3 and {e["status"] for e in changed} == {"withdrawn"}
    # A photo enrolled again is active again, also for a reader from the beginning.
    submit(client, media_record(1))
    again, _ = read_feed(client, other_partner(app, "third-platform"), limit=limit)
    assert {h["value"] for h in media_record(1)["hashes"]} <= {e["value"] for e in again}


def test_a_cursor_from_before_the_renumbering_is_refused(client, partner):
    response = client.get("/api/v1/partner/hashes?cursor=4711", headers=partner)
    assert response.status_code == 400 and "from the beginning" in response.get_json()["detail"]


def test_a_made_up_cursor_cannot_claim_an_earlier_start(client, partner):
    """Claiming to have begun at 0 would get the tombstones of withdrawals before one began."""
    withdraw(client, submit(client, media_record(1)))
    _, cursor = read_feed(client, partner)
    seq, begun, mac = cursor.split(".")
    assert int(begun) > 0
    for forged in ("%s.0.%s" % (seq, mac), "0.0.%s" % mac, "0.0.0000000000000000", "%s.%s.%s" % (seq, begun, "0" * 16)):
        response = client.get("/api/v1/partner/hashes", query_string={"cursor": forged}, headers=partner)
        assert response.status_code == 400, forged
    assert read_feed(client, partner, "%s.%s.%s" % (0, begun, mac))[0] == []  # its own start, from seq 0: still none


def test_one_entry_per_distinct_hash_active_while_any_case_holds_it(client, partner):
    first = submit(client, media_record(1))
    second = submit(client, media_record(1), media_record(2))
    entries, cursor = read_feed(client, partner)
    assert len(entries) == 6  # the shared photo is one set of entries
    withdraw(client, first)
    changed, cursor = read_feed(client, partner, cursor)
    assert changed == []  # still held by the second case: nothing changed for platforms
    withdraw(client, second, [1])
    changed, cursor = read_feed(client, partner, cursor)
    assert {e["id"] for e in changed} == {e["id"] for e in entries if e["value"] in {
        h["value"] for h in media_record(1)["hashes"]}}
    assert {e["status"] for e in changed} == {"withdrawn"}
    submit(client, media_record(1))  # enrolled again: active again, as a change
    changed, cursor = read_feed(client, partner, cursor)
    assert len(changed) == 3 and {e["status"] for e in changed} == {"active"}


def test_same_hash_in_two_items_of_one_case(client, partner):
    shared = pdq_hex(random.Random(5))
    receipt = submit(client, media_record(1, pdq=shared), media_record(2, pdq=shared))
    entries, cursor = read_feed(client, partner)
    assert len(entries) == 5
    withdraw(client, receipt, [1])
    changed, cursor = read_feed(client, partner, cursor)
    type_of = {e["id"]: e["type"] for e in entries}
    assert {type_of[e["id"]] for e in changed} == {"md5", "sha256"}  # the PDQ is still held by item 2


def test_paging_from_any_cursor(client, partner):
    for seed in range(5):
        submit(client, media_record(seed))
    everything, last = read_feed(client, partner)
    assert len(everything) == 15
    for limit in (1, 2, 7):
        paged, _ = read_feed(client, partner, limit=limit)
        assert paged == everything
    first_page = client.get("/api/v1/partner/hashes?limit=4", headers=partner).get_json()
    rest, _ = read_feed(client, partner, first_page["next_cursor"])
    assert first_page["entries"] + rest == everything
    empty = client.get("/api/v1/partner/hashes", query_string={"cursor": last}, headers=partner).get_json()
    assert empty == {"entries": [], "next_cursor": last}


def test_feed_shows_each_change_once_with_its_latest_state(client, partner):
    receipt = submit(client, media_record(1))
    _, cursor = read_feed(client, partner)
    withdraw(client, receipt)
    submit(client, media_record(1))
    changed, _ = read_feed(client, partner, cursor)
    assert len(changed) == 3 and {e["status"] for e in changed} == {"active"}


@pytest.mark.parametrize("query", ["cursor=abc", "cursor=-1", "cursor=%C2%B2", "cursor=" + "9" * 19, "cursor=1.",
                                   "cursor=.1", "cursor=1.2", "cursor=1.2.3", "cursor=1.-2.aaaaaaaaaaaaaaaa",
                                   "cursor=1.2.AAAAAAAAAAAAAAAA", "cursor=1." + "9" * 19 + ".aaaaaaaaaaaaaaaa",
                                   "limit=0", "limit=10001", "limit=x", "limit=%C2%B2"])
def test_bad_feed_parameters(client, partner, query):
    response = client.get("/api/v1/partner/hashes?" + query, headers=partner)
    assert response.status_code == 400 and response.get_json()["error"] == "bad_request"


# -- matching ----------------------------------------------------------------------------------


def test_exact_digests_match_by_equality(client, partner):
    record = media_record(1)
    submit(client, record)
    md5, sha = record["hashes"][1], record["hashes"][2]
    other = dict(md5, value="0" * 32)
    results = match(client, partner, [md5, sha, other])
    assert [[(m["type"], m["value"], m["distance"]) for m in r["matches"]] for r in results] == [
        [("md5", md5["value"], 0)], [("sha256", sha["value"], 0)], []]


def test_pdq_matches_within_31_bits_and_not_beyond(client, partner):
    rng = random.Random(2)
    enrolled = pdq_hex(rng)
    submit(client, media_record(1, pdq=enrolled))
    queries = [{"type": "pdq", "value": flip_bits(enrolled, d, rng), "quality": 100} for d in range(0, 40)]
    results = match(client, partner, queries)
    for d, result in enumerate(results):
        expected = [d] if d <= 31 else []
        assert [m["distance"] for m in result["matches"]] == expected, d
        if expected:
            assert result["matches"][0]["value"] == enrolled and result["matches"][0]["status"] == "active"


def test_max_distance_is_configurable(app_factory):
    app = app_factory(PDQ_MATCH_DISTANCE=10)
    client = app.test_client()
    with app.app_context():
        headers = {"Authorization": "Bearer " + storage.add_partner("p")}
    rng = random.Random(3)
    enrolled = pdq_hex(rng)
    submit(client, media_record(1, pdq=enrolled))
    near, far = flip_bits(enrolled, 10, rng), flip_bits(enrolled, 11, rng)
    queries = [{"type": "pdq", "value": v, "quality": 90} for v in (near, far)]
    response = match(client, headers, queries)
    assert [len(r["matches"]) for r in response] == [1, 0]
    assert [len(r["matches"]) for r in match(client, headers, queries, max_distance=31)] == [1, 1]
    assert [len(r["matches"]) for r in match(client, headers, queries, max_distance=5)] == [0, 0]
    bad = client.post("/api/v1/partner/match", headers=headers, json={"hashes": queries, "max_distance": 32})
    assert bad.status_code == 400 and "max_distance" in bad.get_json()["detail"]


def test_weak_pdq_never_matches(client, partner):
    rng = random.Random(4)
    weak, strong = pdq_hex(rng), pdq_hex(rng)
    submit(client, media_record(1, pdq=weak, quality=49), media_record(2, pdq=strong, quality=50))
    results = match(client, partner, [
        {"type": "pdq", "value": weak, "quality": 100},   # weak enrolled
        {"type": "pdq", "value": strong, "quality": 49},  # weak query
        {"type": "pdq", "value": strong, "quality": 50},
    ])
    assert [len(r["matches"]) for r in results] == [0, 0, 1]


def test_matching_follows_the_feed(client, partner):
    rng = random.Random(6)
    enrolled = pdq_hex(rng)
    query = [{"type": "pdq", "value": flip_bits(enrolled, 5, rng), "quality": 100}]
    assert match(client, partner, query) == [{"matches": []}]  # builds the (empty) index
    receipt = submit(client, media_record(1, pdq=enrolled))
    assert len(match(client, partner, query)[0]["matches"]) == 1
    withdraw(client, receipt)
    assert match(client, partner, query) == [{"matches": []}]
    submit(client, media_record(9, pdq=enrolled))
    assert len(match(client, partner, query)[0]["matches"]) == 1


def test_many_queries_against_many_entries_agree_with_brute_force(client, partner):
    from hashing import HashRecord, record_distance

    rng = random.Random(7)
    enrolled = [pdq_hex(rng) for _ in range(40)]
    receipt = submit(client, *[media_record(i, pdq=v) for i, v in enumerate(enrolled)])
    withdraw(client, receipt, [1, 2, 3])
    queries = [{"type": "pdq", "value": flip_bits(rng.choice(enrolled), rng.randrange(40), rng), "quality": 80}
               for _ in range(300)]
    results = match(client, partner, queries)
    active = enrolled[3:]
    for q, result in zip(queries, results):
        expected = sorted(
            d for d in (record_distance(HashRecord("pdq", v, 90), HashRecord("pdq", q["value"], 80)) for v in active)
            if d is not None)
        assert sorted(m["distance"] for m in result["matches"]) == expected


def test_match_limits_and_validation(client, partner):
    too_many = [{"type": "md5", "value": "%032x" % i} for i in range(1001)]
    response = client.post("/api/v1/partner/match", headers=partner, json={"hashes": too_many})
    assert response.status_code == 400
    assert len(match(client, partner, too_many[:1000])) == 1000
    bad = client.post("/api/v1/partner/match", headers=partner,
                      json={"hashes": [{"type": "pdq", "value": "00", "quality": 1}]})
    assert bad.status_code == 400 and bad.get_json()["detail"].startswith("hashes[0]")


def query_matches(client, partner, record):
    """[(query HashRecord, [match JSON])] for every hash of a query MediaRecord."""
    results = match(client, partner, [h.to_json() for h in record.hashes])
    return [(h, r["matches"]) for h, r in zip(record.hashes, results)]


def test_every_perceptual_type_matches_by_the_rules(client, partner, robust_photos):
    """A real photo enrolled with its robust hashes is found from the same file, a turned
    copy (its PDQ against an enrolled rotation/flip) and a copy cropped to one enrolled window
    (a query window against that window); another photo finds nothing."""
    from hashing import record_distance
    from hashing.match import RULES, WINDOW_MATCH_DISTANCE

    photos = robust_photos
    receipt = submit(client, photos.enrolled.to_json())
    entries, _ = read_feed(client, partner)
    assert {e["type"] for e in entries} == {
        "pdq", "pdq-window", "pdq-dihedral", "pdq-blocks", "pdq-pair-blocks", "md5", "sha256"}
    assert len(entries) == len(photos.enrolled.hashes)
    found = {name: query_matches(client, partner, record) for name, record in photos.queries.items()}

    # Exactly what the rule finds against every enrolled hash (the index misses nothing, adds nothing).
    for name, pairs in found.items():
        for query, matches in pairs:
            expected = sorted((d, e.type, e.value) for e in photos.enrolled.hashes
                              for d in [record_distance(e, query, 31)] if d is not None)
            assert sorted((m["distance"], m["type"], m["value"]) for m in matches) == expected, (name, query)
            for m in matches:
                assert m["type"] == query.type if not query.perceptual else (m["type"], query.type) in RULES

    def hits(name):
        return {(query.type, m["type"]) for query, matches in found[name] for m in matches}

    same = found["same"]
    assert [(m["type"], m["distance"]) for m in same[0][1] if m["type"] == "pdq"] == [("pdq", 0)]
    assert {("md5", "md5"), ("sha256", "sha256"), ("pdq", "pdq"), ("pdq-window", "pdq-window")} <= hits("same")
    assert ("pdq-window", "pdq-dihedral") in hits("turned")
    assert not {("md5", "md5"), ("sha256", "sha256")} & (hits("turned") | hits("cropped"))
    # The cropped copy's whole-picture window is the enrolled window it was cut to.
    whole = [(q, ms) for q, ms in found["cropped"] if q.type == "pdq-window"][0]
    assert [(m["type"], m["value"]) for m in whole[1] if m["value"] == photos.window.value] == [
        ("pdq-window", photos.window.value)]
    assert photos.window.hash_value() - whole[0].hash_value() <= WINDOW_MATCH_DISTANCE
    assert hits("unrelated") == set()

    withdraw(client, receipt)  # every index follows the feed
    for name in ("same", "turned", "cropped"):
        assert all(not matches for _, matches in query_matches(client, partner, photos.queries[name]))


def test_a_window_never_matches_a_pdq_unless_the_rules_say_so(app_factory, monkeypatch):
    """The rules are data: the index looks a query up where hashing.match.RULES says, and only there."""
    import hashing.match

    app = app_factory()
    client = app.test_client()
    with app.app_context():
        headers = {"Authorization": "Bearer " + storage.add_partner("p")}
    rng = random.Random(11)
    pdq, window = pdq_hex(rng), pdq_hex(rng)
    submit(client, {"media": "image", "hashes": [{"type": "pdq", "value": pdq, "quality": 90},
                                                 {"type": "pdq-window", "value": window, "quality": 90}]})
    queries = [{"type": "pdq-window", "value": flip_bits(pdq, 3, rng), "quality": 90},
               {"type": "pdq-window", "value": flip_bits(pdq, 11, rng), "quality": 90},
               {"type": "pdq", "value": flip_bits(window, 3, rng), "quality": 90},
               {"type": "pdq-dihedral", "value": pdq, "quality": 90}]
    assert match(client, headers, queries) == [{"matches": []}] * 4  # no rule pairs these

    # A new row: a query window may match an enrolled PDQ within 10 bits. A server made now follows it.
    monkeypatch.setattr(hashing.match, "RULES", {**hashing.match.RULES, ("pdq", "pdq-window"): 10})
    client = app_factory().test_client()
    assert [[(m["type"], m["distance"]) for m in r["matches"]] for r in match(client, headers, queries)] == [
        [("pdq", 3)], [], [], []]

    # Windows within 40 bits (a looser window rule): the server indexes windows for 40, PDQ stays at 31.
    monkeypatch.setattr(hashing.match, "RULES", {**hashing.match.RULES, ("pdq-window", "pdq-window"): 40})
    app = app_factory()
    client = app.test_client()
    far = [{"type": "pdq-window", "value": flip_bits(window, d, rng), "quality": 90} for d in (36, 40, 41)]
    assert [[(m["type"], m["distance"]) for m in r["matches"]] for r in match(client, headers, far)] == [
        [("pdq-window", 36)], [("pdq-window", 40)], []]
    index = app.extensions["takeback_feed_matcher"].index
    assert (index["pdq-window"].max_distance, index["pdq"].max_distance, index.max_override) == (40, 31, 31)
    bad = client.post("/api/v1/partner/match", headers=headers, json={"hashes": far, "max_distance": 32})
    assert bad.status_code == 400 and "max_distance" in bad.get_json()["detail"]

    # A rule beyond what the index can find stops the server from starting, instead of missing matches.
    monkeypatch.setattr(hashing.match, "RULES", {**hashing.match.RULES, ("pdq", "pdq-window"): 44})
    with pytest.raises(ValueError, match="MAX_DISTANCE"):
        app_factory()


# -- feedback ----------------------------------------------------------------------------------


def entries_of(client, partner, record):
    """The feed entries of a record's hashes, in the record's order."""
    entries, _ = read_feed(client, partner)
    by_value = {e["value"]: e for e in entries if e["status"] == "active"}
    return [by_value[h["value"]] for h in record["hashes"]]


def case_reports(client, receipt):
    status = client.get("/api/v1/cases/" + receipt["case_id"], headers={"X-Case-PIN": receipt["pin"]}).get_json()
    return [i["reports"] for i in status["items"]]


def test_feedback_counts_in_the_case_status(app, client, partner):
    receipt = submit(client, media_record(1), media_record(2))
    pdq1, md5_1, _ = entries_of(client, partner, media_record(1))
    pdq2, _, _ = entries_of(client, partner, media_record(2))
    other = other_partner(app)
    assert feedback(client, partner, (pdq1, "pending_review"), (md5_1, "removed")).status_code == 200
    assert feedback(client, other, (pdq1, "not_violating"), (pdq2, "pending_review")).status_code == 200
    assert case_reports(client, receipt) == [
        {"matched": 2, "removed": 1, "not_removed": 1},
        {"matched": 1, "removed": 0, "not_removed": 0},
    ]


def test_a_report_replaces_the_partners_earlier_one_never_adds(app, client, partner):
    receipt = submit(client, media_record(1))
    pdq, md5, _ = entries_of(client, partner, media_record(1))
    for _ in range(5):
        assert feedback(client, partner, (pdq, "removed"), (md5, "removed")).status_code == 200
    assert case_reports(client, receipt) == [{"matched": 1, "removed": 1, "not_removed": 0}]
    feedback(client, partner, (pdq, "not_violating"), (md5, "not_violating"))  # changed its mind
    assert case_reports(client, receipt) == [{"matched": 1, "removed": 0, "not_removed": 1}]
    assert feedback(client, other_partner(app), (pdq, "removed")).status_code == 200
    assert case_reports(client, receipt) == [{"matched": 2, "removed": 1, "not_removed": 1}]
    with app.app_context():
        assert len(storage.db.session.scalars(storage.select(storage.Feedback)).all()) == 3


def test_feedback_needs_the_entrys_value_as_its_receipt(app, client, partner):
    receipt = submit(client, media_record(1), media_record(2))
    pdq, md5, _ = entries_of(client, partner, media_record(1))
    _, cursor = read_feed(client, partner)
    wrong = dict(pdq, value=entries_of(client, partner, media_record(2))[0]["value"])  # another entry's value
    for reports in ([(dict(pdq, value="0" * 64), "removed")], [(md5, "removed"), (wrong, "not_violating")],
                    [(dict(pdq, id=pdq["id"] % (2**31 - 1) + 1), "removed")], [(dict(md5, value=md5["value"].upper()), "removed")]):
        response = feedback(client, partner, *reports)
        assert response.status_code == 403, reports
        assert response.get_json()["error"] == "forbidden"
        assert "never given to you" in response.get_json()["detail"] and "nothing was recorded" in response.get_json()["detail"]
    assert case_reports(client, receipt) == [{"matched": 0, "removed": 0, "not_removed": 0}] * 2
    assert read_feed(client, partner, cursor)[0] == []
    no_value = client.post("/api/v1/partner/feedback", headers=partner,
                           json={"feedback": [{"id": pdq["id"], "outcome": "removed"}]})
    assert no_value.status_code == 400 and "value" in no_value.get_json()["detail"]


def test_a_partner_sees_only_whether_another_disputes_an_entry(app, client, partner):
    submit(client, media_record(1))
    other = other_partner(app)
    pdq, _, _ = entries_of(client, partner, media_record(1))
    _, mine = read_feed(client, partner)
    _, theirs = read_feed(client, other)

    def disputed(headers, cursor):
        changed, cursor = read_feed(client, headers, cursor)
        return [(e["id"], e["disputed"]) for e in changed], cursor

    assert feedback(client, partner, (pdq, "not_violating")).get_json() == {"recorded": 1}
    seen, mine = disputed(partner, mine)
    assert seen == [(pdq["id"], False)]  # its own report is no dispute
    seen, theirs = disputed(other, theirs)
    assert seen == [(pdq["id"], True)]
    feedback(client, partner, (pdq, "not_violating"))  # same word again: no change
    assert read_feed(client, partner, mine)[0] == []
    feedback(client, other, (pdq, "not_violating"))  # now each sees the other's
    assert disputed(partner, mine)[0] == [(pdq["id"], True)]
    assert disputed(other, theirs)[0] == [(pdq["id"], True)]
    _, mine = read_feed(client, partner, mine)
    _, theirs = read_feed(client, other, theirs)
    feedback(client, partner, (pdq, "removed"))  # changed its mind
    assert disputed(partner, mine)[0] == [(pdq["id"], True)]
    assert disputed(other, theirs)[0] == [(pdq["id"], False)]
    (found,) = match(client, partner, [{"type": "pdq", "value": pdq["value"], "quality": 90}])
    assert [(m["id"], m["disputed"]) for m in found["matches"]] == [(pdq["id"], True)]
    (found,) = match(client, other, [{"type": "pdq", "value": pdq["value"], "quality": 90}])
    assert [(m["id"], m["disputed"]) for m in found["matches"]] == [(pdq["id"], False)]
    assert "not_violating" not in found["matches"][0]


def test_feedback_is_rate_limited_per_partner(app_factory):
    now = [1_000_000_040.0]  # 20 s into a minute (1_000_000_020 is one)
    app = app_factory(FEEDBACK_PER_MINUTE=5, FEEDBACK_CLOCK=lambda: now[0])
    client = app.test_client()
    partner, other = other_partner(app, "first"), other_partner(app, "second")
    receipt = submit(client, media_record(1), media_record(2))
    one = entries_of(client, partner, media_record(1))
    two = entries_of(client, partner, media_record(2))
    assert feedback(client, partner, *[(e, "removed") for e in one]).status_code == 200  # 3 of 5
    _, cursor = read_feed(client, partner)
    response = feedback(client, partner, *[(e, "not_violating") for e in two])  # 3 more: too many
    assert response.status_code == 429 and response.get_json()["error"] == "too_many_requests"
    assert response.headers["Retry-After"] == "40"
    assert "40 seconds" in response.get_json()["detail"]
    assert case_reports(client, receipt)[1] == {"matched": 0, "removed": 0, "not_removed": 0}
    assert read_feed(client, partner, cursor)[0] == []
    assert feedback(client, partner, *[(e, "removed") for e in two[:2]]).status_code == 200  # 5 of 5
    assert feedback(client, other, *[(e, "removed") for e in two]).status_code == 200  # its own limit
    now[0] += 39.5
    assert feedback(client, partner, (two[2], "removed")).headers["Retry-After"] == "1"
    now[0] += 0.5  # the next minute
    assert feedback(client, partner, *[(e, "not_violating") for e in two]).status_code == 200
    too_big = feedback(client, partner, *[(e, "removed") for e in one + two])
    assert too_big.status_code == 400 and "at most 5 reports a minute" in too_big.get_json()["detail"]
    assert case_reports(client, receipt) == [{"matched": 1, "removed": 1, "not_removed": 0},
                                            {"matched": 2, "removed": 1, "not_removed": 1}]


def test_feedback_validation_changes_nothing(client, partner):
    receipt = submit(client, media_record(1))
    pdq, _, _ = entries_of(client, partner, media_record(1))
    _, cursor = read_feed(client, partner)
    ok = {"id": pdq["id"], "value": pdq["value"], "outcome": "not_violating"}
    for body in ({"feedback": [ok, dict(ok, outcome="deleted")]}, {"feedback": [dict(ok, id=2**40)]},
                 {"feedback": [dict(ok, id=str(pdq["id"]))]}, {"feedback": [dict(ok, value=7)]},
                 {"feedback": [dict(ok, value="")]}, {"feedback": [dict(ok, value="a" * 129)]},
                 {"feedback": [{"id": pdq["id"], "value": pdq["value"]}]}, {"feedback": []}, ok):
        response = client.post("/api/v1/partner/feedback", headers=partner, json=body)
        assert response.status_code == 400, body
    assert read_feed(client, partner, cursor)[0] == []
    assert case_reports(client, receipt) == [{"matched": 0, "removed": 0, "not_removed": 0}]


def test_feedback_on_a_withdrawn_entry_is_kept(client, partner):
    receipt = submit(client, media_record(1))
    pdq, _, _ = entries_of(client, partner, media_record(1))
    withdraw(client, receipt)
    assert feedback(client, partner, (pdq, "removed")).status_code == 200
    assert case_reports(client, receipt) == [{"matched": 1, "removed": 1, "not_removed": 0}]


def by_hash(client, partner, *reports):
    """Reports (hash type, value, outcome): entries named by their hash, as threatexchange does."""
    return client.post("/api/v1/partner/feedback", headers=partner,
                       json={"feedback": [{"type": t, "value": v, "outcome": o} for t, v, o in reports]})


def test_feedback_may_name_the_entry_by_hash_type_and_value(app, client, partner):
    receipt = submit(client, media_record(1), media_record(2))
    pdq1, md5_1, _ = entries_of(client, partner, media_record(1))
    pdq2, _, _ = entries_of(client, partner, media_record(2))
    response = by_hash(client, partner, ("pdq", pdq1["value"], "removed"), ("md5", md5_1["value"], "removed"))
    assert response.status_code == 200 and response.get_json() == {"recorded": 2}
    mixed = client.post("/api/v1/partner/feedback", headers=other_partner(app), json={"feedback": [
        {"type": "pdq", "value": pdq1["value"], "outcome": "not_violating"},
        {"id": pdq2["id"], "value": pdq2["value"], "outcome": "pending_review"}]})
    assert mixed.status_code == 200
    assert case_reports(client, receipt) == [{"matched": 2, "removed": 1, "not_removed": 1},
                                            {"matched": 1, "removed": 0, "not_removed": 0}]
    with app.app_context():  # the same rows as reports by id: one per partner and entry
        rows = storage.db.session.scalars(storage.select(storage.Feedback)).all()
        assert sorted(f.entry_id for f in rows) == sorted([pdq1["id"], md5_1["id"], pdq1["id"], pdq2["id"]])


def test_feedback_by_an_unknown_hash_is_404_and_records_nothing(client, partner):
    receipt = submit(client, media_record(1))
    pdq, md5, _ = entries_of(client, partner, media_record(1))
    _, cursor = read_feed(client, partner)
    for reports in ([("pdq", pdq["value"], "removed"), ("pdq", flip_bits(pdq["value"], 1, random.Random(4)), "removed")],
                    [("md5", md5["value"], "removed"), ("sha256", md5["value"], "removed")],  # the value under another type
                    [("pdq", pdq["value"].upper(), "removed")]):
        response = by_hash(client, partner, *reports)
        assert response.status_code == 404, reports
        assert response.get_json()["error"] == "not_found"
        assert "feedback[1]" in response.get_json()["detail"] or "feedback[0]" in response.get_json()["detail"]
        assert "nothing was recorded" in response.get_json()["detail"]
    withdraw(client, receipt)  # a withdrawn hash is no longer in the feed: nothing to resolve to
    assert by_hash(client, partner, ("pdq", pdq["value"], "removed")).status_code == 404
    assert case_reports(client, receipt) == [{"matched": 0, "removed": 0, "not_removed": 0}]
    assert [e["status"] for e in read_feed(client, partner, cursor)[0]] == ["withdrawn"] * 3  # and no report's change


def test_feedback_by_hash_validation_changes_nothing(client, partner):
    receipt = submit(client, media_record(1))
    pdq, _, _ = entries_of(client, partner, media_record(1))
    _, cursor = read_feed(client, partner)
    ok = {"type": "pdq", "value": pdq["value"], "outcome": "removed"}
    for item in (dict(ok, id=pdq["id"]), dict(ok, type="PDQ"), dict(ok, type="pdq-windows"), dict(ok, type=1),
                 dict(ok, type={}), dict(ok, type=["pdq"]),
                 {"value": pdq["value"], "outcome": "removed"}, {"type": "pdq", "outcome": "removed"},
                 dict(ok, outcome="deleted"), dict(ok, quality=90)):
        response = client.post("/api/v1/partner/feedback", headers=partner, json={"feedback": [ok, item]})
        assert response.status_code == 400, item
        assert "feedback[1]" in response.get_json()["detail"]
    assert read_feed(client, partner, cursor)[0] == []
    assert case_reports(client, receipt) == [{"matched": 0, "removed": 0, "not_removed": 0}]


def test_the_rate_limit_holds_for_reports_sent_at_once(app_factory):
    """Reports racing in parallel (as from several server processes) share one count."""
    import threading

    app = app_factory(FEEDBACK_PER_MINUTE=5, FEEDBACK_CLOCK=lambda: 1_000_000_040.0)
    partner = other_partner(app, "racing")
    client = app.test_client()
    submit(client, *[media_record(n) for n in range(3)])
    entries, _ = read_feed(client, partner)
    statuses = []

    def report(entry):
        statuses.append(feedback(app.test_client(), partner, (entry, "removed")).status_code)

    threads = [threading.Thread(target=report, args=(e,)) for e in entries[:9]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] * 5 + [429] * 4
    with app.app_context():
        assert len(storage.db.session.scalars(storage.select(storage.Feedback)).all()) == 5
