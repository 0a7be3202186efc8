"""The match index built once into a file and shared by processes (takeback.shared), each with its
own delta of later feed changes: the same answers as a private index, one build, damage detected."""
import os
import random
import threading

import pytest

from hashing import HashRecord
from takeback.matching import FeedMatcher, FeedSource
from takeback.shared import SharedFeedMatcher, read_index

from .conftest import flip_bits, media_record, pdq_hex, submit

TYPES = ["pdq", "pdq-window", "pdq-dihedral", "pdq-blocks", "pdq-pair-blocks"]


class ChangingFeed(FeedSource):
    """A feed in memory that changes: entries added, withdrawn and re-activated, each change a new seq."""

    def __init__(self):
        self.log = []  # (id, record, active, seq)
        self.current = {}  # id -> (record, active)

    def change(self, key, record, active):
        self.current[key] = (record, active)
        self.log.append((key, record, active, len(self.log) + 1))

    def changes(self, after, types):
        page = [c for c in self.log[after:] if c[1].type in types]
        if page:
            yield page

    def entries(self, ids):
        return {k: self.current[k][0] for k in ids if k in self.current and self.current[k][1]}

    def entries_by_value(self, type_, values):
        return {}

    def record(self, entry):
        return entry


def random_changes(feed, rng, count, keys):
    """`count` random changes: mostly new entries (some near an existing one), some withdrawn or back."""
    for _ in range(count):
        roll = rng.random()
        if roll < 0.6 or not feed.current:
            type_ = rng.choice(TYPES)
            near = [r for r, _ in feed.current.values() if r.type == type_]
            value = flip_bits(rng.choice(near).value, rng.randint(0, 40), rng) if near and rng.random() < 0.5 \
                else pdq_hex(rng)
            feed.change(next(keys), HashRecord(type_, value, 100), True)
        else:
            key = rng.choice(list(feed.current))
            feed.change(key, feed.current[key][0], roll > 0.85)


def queries(feed, rng, count=60):
    records = [r for r, _ in feed.current.values()]
    out = []
    for _ in range(count):
        r = rng.choice(records)
        query_type = "pdq-window" if r.type == "pdq-dihedral" else r.type
        out.append(HashRecord(query_type, flip_bits(r.value, rng.randint(0, 45), rng), 100))
    return out


def answers(matcher, records):
    matcher.sync()
    found = matcher.match(records)
    return [[(key, distance) for key, _, distance in hits] for hits in found], \
        matcher.index.search(records)


def test_shared_matchers_answer_as_a_private_one_through_changes(tmp_path):
    rng = random.Random(31)
    keys = iter(range(1, 10**9))
    feed = ChangingFeed()
    random_changes(feed, rng, 400, keys)
    private = FeedMatcher(feed)
    first = SharedFeedMatcher(feed, str(tmp_path), rebuild_after=150)
    second = SharedFeedMatcher(feed, str(tmp_path), rebuild_after=10**6)
    for _ in range(6):
        records = queries(feed, rng)
        expected = answers(private, records)
        assert sum(map(len, expected[0])) > 0  # the queries do find entries
        assert answers(first, records) == expected
        assert answers(second, records) == expected
        random_changes(feed, rng, 60, keys)
    assert second.builds == 0  # it mapped the file the first one built, and the first one's rebuilds
    assert first.builds >= 2  # 360 changes, a rebuild past 150
    assert second.file.ident == first.file.ident
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")] == [os.path.basename(first.path)]


def test_a_damaged_file_is_rebuilt(tmp_path):
    rng = random.Random(5)
    feed = ChangingFeed()
    random_changes(feed, rng, 200, iter(range(1, 10**9)))
    records = queries(feed, rng)
    expected = answers(FeedMatcher(feed), records)
    built = SharedFeedMatcher(feed, str(tmp_path))
    assert answers(built, records) == expected and built.builds == 1
    size = os.path.getsize(built.path)
    with open(built.path, "r+b") as f:
        f.truncate(size - 4096)
    assert read_index(built.path) is None
    after_truncation = SharedFeedMatcher(feed, str(tmp_path))
    assert answers(after_truncation, records) == expected and after_truncation.builds == 1
    with open(built.path, "r+b") as f:  # one byte of the header changed: its checksum no longer holds
        f.seek(60)
        byte = f.read(1)
        f.seek(60)
        f.write(bytes([byte[0] ^ 1]))
    assert read_index(built.path) is None
    after_damage = SharedFeedMatcher(feed, str(tmp_path))
    assert answers(after_damage, records) == expected and after_damage.builds == 1


def test_processes_starting_at_once_build_one_file(tmp_path):
    rng = random.Random(8)
    feed = ChangingFeed()
    random_changes(feed, rng, 300, iter(range(1, 10**9)))
    matchers = [SharedFeedMatcher(feed, str(tmp_path)) for _ in range(4)]
    (tmp_path / (os.path.basename(matchers[0].path) + ".999.1.tmp")).write_bytes(b"half")  # of a crashed writer
    start = threading.Barrier(len(matchers))

    def run(matcher):
        start.wait()
        matcher.sync()

    threads = [threading.Thread(target=run, args=(m,)) for m in matchers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(m.builds for m in matchers) == 1
    assert len({m.file.ident for m in matchers}) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([os.path.basename(matchers[0].path),
                                                                  os.path.basename(matchers[0].path) + ".lock"])


def _process(directory, start, results):
    """One worker process of test_worker_processes_starting_at_once_build_one_file."""
    rng = random.Random(8)
    feed = ChangingFeed()
    random_changes(feed, rng, 300, iter(range(1, 10**9)))
    matcher = SharedFeedMatcher(feed, directory)
    start.wait()
    matcher.sync()
    results.put((matcher.builds, matcher.file.ident, answers(matcher, queries(feed, rng))))


def test_worker_processes_starting_at_once_build_one_file(tmp_path):
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(3), context.Queue()
    processes = [context.Process(target=_process, args=(str(tmp_path), start, results)) for _ in range(3)]
    for p in processes:
        p.start()
    found = [results.get(timeout=60) for _ in processes]
    for p in processes:
        p.join(timeout=60)
    assert sorted(builds for builds, _, _ in found) == [0, 0, 1]
    assert len({ident for _, ident, _ in found}) == 1
    rng = random.Random(8)
    feed = ChangingFeed()
    random_changes(feed, rng, 300, iter(range(1, 10**9)))
    expected = answers(FeedMatcher(feed), queries(feed, rng))
    assert all(result == expected for _, _, result in found)
    assert len([p for p in tmp_path.iterdir() if p.name.endswith(".bin")]) == 1
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_an_empty_feed_makes_a_file_too(tmp_path):
    feed = ChangingFeed()
    matcher = SharedFeedMatcher(feed, str(tmp_path))
    assert matcher.sync() == 0 and matcher.builds == 1 and len(matcher) == 0
    feed.change(1, HashRecord("pdq", "0" * 64, 100), True)
    assert matcher.sync() == 1
    assert [[k for k, _, _ in hits] for hits in matcher.match([HashRecord("pdq", "0" * 63 + "1", 100)])] == [[1]]


# -- the server: two apps ("workers") on one database and one index directory ---------------------


def partner_match(client, headers, value):
    response = client.post("/api/v1/partner/match", headers=headers,
                           json={"hashes": [{"type": "pdq", "value": value, "quality": 100}]})
    assert response.status_code == 200, response.get_json()
    return sorted(m["id"] for m in response.get_json()["results"][0]["matches"])


def test_two_workers_share_one_index_file(app_factory, tmp_path):
    from backend import storage

    index_dir = str(tmp_path / "index")
    workers = [app_factory(TAKEBACK_INDEX_DIR=index_dir) for _ in range(2)]
    private = app_factory()  # the unshared path on the same database
    with workers[0].app_context():
        headers = {"Authorization": "Bearer " + storage.add_partner("example-platform")}
    rng = random.Random(1000)  # not a seed of media_record's below
    before, after = pdq_hex(rng), pdq_hex(rng)
    clients = [w.test_client() for w in workers + [private]]
    receipt = submit(clients[0], media_record(1, pdq=before))
    for n in range(2, 30):  # others, unrelated
        submit(clients[0], media_record(n))
    near_before, near_after = flip_bits(before, 9, rng), flip_bits(after, 20, rng)

    found = [partner_match(c, headers, near_before) for c in clients]
    assert found[0] and found[0] == found[1] == found[2]
    matchers = [w.extensions["takeback_feed_matcher"] for w in workers]
    assert [m.builds for m in matchers] == [1, 0]
    assert matchers[0].file.ident == matchers[1].file.ident
    assert all(partner_match(c, headers, near_after) == [] for c in clients)

    submit(clients[1], media_record(99, pdq=after))  # a case added after the build
    found = [partner_match(c, headers, near_after) for c in clients]
    assert found[0] and found[0] == found[1] == found[2]

    response = clients[0].post("/api/v1/cases/%s/withdraw" % receipt["case_id"], json={},
                               headers={"X-Case-PIN": receipt["pin"]})
    assert response.status_code == 200, response.get_json()
    assert [partner_match(c, headers, near_before) for c in clients] == [[]] * 3
    assert [m.builds for m in matchers] == [1, 0]

    with open(matchers[0].path, "r+b") as f:  # a truncated file: the next worker to start rebuilds it
        f.truncate(100)
    third = app_factory(TAKEBACK_INDEX_DIR=index_dir)
    assert partner_match(third.test_client(), headers, near_after) == found[0]
    assert third.extensions["takeback_feed_matcher"].builds == 1


@pytest.mark.parametrize("setting", ["", None])
def test_no_index_dir_keeps_a_private_index(app_factory, setting):
    from takeback.shared import SharedFeedMatcher as Shared

    config = {} if setting is None else {"TAKEBACK_INDEX_DIR": setting}
    assert not isinstance(app_factory(**config).extensions["takeback_feed_matcher"], Shared)


def test_another_database_or_other_rules_use_another_file(tmp_path):
    from backend.matching import feed_matcher

    def path(url, rules=None):
        return feed_matcher(rules, str(tmp_path), url).path

    one = path("postgresql+psycopg://takeback:secret@127.0.0.1/takeback")
    assert one == path("postgresql+psycopg://takeback:other@127.0.0.1/takeback")  # the password is not the database
    assert one != path("postgresql+psycopg://takeback:secret@127.0.0.1/takeback_restored")
    assert one != path("postgresql+psycopg://takeback:secret@127.0.0.1/takeback", {("pdq", "pdq"): 30})
