"""The feed under concurrent writers: a reader paging from a cursor misses no change.

Writers create cases (sharing some photos, so they contend for the same feed entries),
withdraw items and whole cases, and send feedback, all at once, while readers page
through the feed with different page sizes. When all is done, every reader's picture of
the feed (the latest version of each entry it was sent) must equal the database's: every
active entry as it is, and every withdrawn one as a tombstone, except those withdrawn before
the reader began (it is never told of them). A cursor that could pass a change still to
commit (say, plain autoincrement ids, which commit out of order) leaves a reader with a stale
or missing entry here.
"""
import random
import threading
import time

from backend import storage
from backend.models import ACTIVE, FeedEntry, db

from .conftest import media_record, read_feed

WRITERS = 4
CASES_PER_WRITER = 6
SHARED = 5  # photos that several writers submit
OUTCOMES = ("pending_review", "removed", "not_violating")


def expected_view(app, begun):
    """What a reader that began at sequence `begun` must hold: the database's entries as the
    feed shows them to it (it gave no feedback, so disputed is any not_violating report)."""
    with app.app_context():
        entries = db.session.scalars(storage.select(FeedEntry)).all()
        view = {}
        for e in entries:
            if e.status == ACTIVE:
                view[e.id] = {"id": e.id, "type": e.type, "value": e.value, "quality": e.quality, "media": e.media,
                              "status": e.status, "updated": e.updated.isoformat(), "disputed": e.not_violating > 0}
            elif e.seq > begun:
                view[e.id] = {"id": e.id, "status": e.status, "updated": e.updated.isoformat()}
        return view


def test_readers_miss_nothing_while_writers_commit(app, partner):
    writing = threading.Event()  # set when the writers are done: the critic stops
    done = threading.Event()  # set when the critic is done too: readers read once more and stop
    errors = []

    def guarded(work):
        def run(*args):
            try:
                work(*args)
            except BaseException as e:  # reported below; a thread's exception would be lost
                errors.append(e)
        return run

    def writer(number):
        client = app.test_client()
        rng = random.Random(number)
        for n in range(CASES_PER_WRITER):
            items = [media_record("shared-%d" % rng.randrange(SHARED)), media_record("own-%d-%d" % (number, n))]
            response = client.post("/api/v1/cases", json={"items": items})
            assert response.status_code == 201, response.get_json()
            receipt = response.get_json()
            if n % 3 == 1:
                body = {"items": [rng.choice([1, 2])]}
            elif n % 3 == 2:
                body = {}
            else:
                continue
            response = client.post("/api/v1/cases/%s/withdraw" % receipt["case_id"], json=body,
                                   headers={"X-Case-PIN": receipt["pin"]})
            assert response.status_code == 200, response.get_json()

    with app.app_context():
        critic_token = {"Authorization": "Bearer " + storage.add_partner("critic-platform")}

    def critic():
        client = app.test_client()
        cursor, given = "", set()
        deadline = time.monotonic() + 60
        # Until the writers are done, and at least until every outcome has been given once
        # (on a busy machine the writers can finish before the critic's first page). An
        # entry always gets the same outcome, so a later page cannot take one back.
        while not writing.is_set() or len(given) < len(OUTCOMES):
            assert time.monotonic() < deadline, "the critic found too few entries: %s" % given
            page = client.get("/api/v1/partner/hashes", query_string={"cursor": cursor},
                              headers=critic_token).get_json()
            cursor = page["next_cursor"] if page["entries"] else ""
            for k, entry in enumerate(e for e in page["entries"] if e["status"] == ACTIVE):
                outcome = OUTCOMES[entry["id"] % len(OUTCOMES)]
                if k >= 3 and outcome in given:
                    continue
                report = {"id": entry["id"], "value": entry["value"], "outcome": outcome}
                response = client.post("/api/v1/partner/feedback", headers=critic_token, json={"feedback": [report]})
                assert response.status_code == 200
                given.add(outcome)
            time.sleep(0.005)

    views = {}

    def reader(limit):
        client = app.test_client()
        seen, cursor, last_seq = {}, "", 0
        while True:
            finished = done.is_set()  # read once more after the writers are done
            entries, cursor = read_feed(client, partner, cursor, limit=limit)
            for entry in entries:
                seen[entry["id"]] = entry
            if cursor:
                seq, begun = map(int, cursor.split(".")[:2])
                assert seq >= last_seq
                last_seq = seq
            if finished:
                break
            time.sleep(0.005)  # pacing only, so busy readers do not starve the writers of the GIL
        views[limit] = begun, seen

    writers = [threading.Thread(target=guarded(writer), args=(n,)) for n in range(WRITERS)]
    critic_thread = threading.Thread(target=guarded(critic))
    readers = [threading.Thread(target=guarded(reader), args=(limit,)) for limit in (1, 4, 50)]
    for thread in readers + [critic_thread] + writers:
        thread.start()
    for thread in writers:
        thread.join()
    writing.set()
    critic_thread.join()
    done.set()
    for thread in readers:
        thread.join()
    assert not errors, errors

    everything = expected_view(app, 0)
    assert len(everything) == 3 * (SHARED + WRITERS * CASES_PER_WRITER) or len(everything) >= 3 * WRITERS * CASES_PER_WRITER
    assert any(e["status"] == "withdrawn" for e in everything.values())
    assert any(e.get("disputed") for e in everything.values())
    for limit, (begun, seen) in views.items():
        assert seen == expected_view(app, begun), "reader with page size %d differs from the database" % limit
