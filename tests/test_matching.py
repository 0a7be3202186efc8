"""takeback.matching: the one engine behind the server's match API, a platform's Matcher and
`takeback compare`, checked against the rule applied to every pair (hashing.record_distance)."""
import random

from hashing import HashRecord, MediaRecord, record_distance
from hashing.match import RULES
from takeback.matching import FeedMatcher, MemoryFeed, media_candidates

from .conftest import flip_bits, pdq_hex

PERCEPTUAL = ("pdq", "pdq-window", "pdq-dihedral", "pdq-blocks", "pdq-pair-blocks")


def near(rng, base, type_):
    """A hash of `type_` around a rule's edge from `base`: just inside, on it, just outside, far."""
    limit = max([d for (e, q), d in RULES.items() if type_ in (e, q)])
    return HashRecord(type_, flip_bits(base, rng.choice([0, limit - 1, limit, limit + 1, 80]), rng),
                      rng.choice([100, 90, 60, 49]))  # 49: weak, never matches


def records(rng, bases, count):
    """One media's hashes (no repeats), now and then with an md5 that other media share."""
    out = {}
    for _ in range(count):
        r = near(rng, rng.choice(bases), rng.choice(PERCEPTUAL))
        out[r.type, r.value] = r
    if rng.random() < 0.3:
        r = HashRecord("md5", rng.choice(["ab" * 16, "cd" * 16, "%032x" % rng.getrandbits(128)]))
        out[r.type, r.value] = r
    return list(out.values())


def many(rng, bases, count):
    return [r for _ in range(count // 6) for r in records(rng, bases, 6)]


def brute_force(entries, queries, max_distance=None):
    return [sorted(((key, d) for key, e in entries.items() if (d := record_distance(e, q, max_distance)) is not None),
                   key=lambda m: (m[1], m[0])) for q in queries]


def test_the_engine_finds_what_the_rule_applied_to_every_pair_finds():
    rng = random.Random(18)
    bases = [pdq_hex(rng) for _ in range(12)]
    entries = dict(enumerate(many(rng, bases, 600)))
    queries = many(rng, bases, 300)
    matcher = FeedMatcher(MemoryFeed(entries))
    assert matcher.sync() == sum(e.perceptual and not e.weak for e in entries.values())
    found = [[(key, d) for key, _, d in m] for m in matcher.match(queries)]
    assert found == brute_force(entries, queries)
    assert sum(map(len, found)) > 300  # the test means something: many matches of every kind
    assert {entries[k].type for m in found for k, _ in m} == set(PERCEPTUAL) | {"md5"}
    narrower = [[(key, d) for key, _, d in m] for m in matcher.match(queries, max_distance=20)]
    assert narrower == brute_force(entries, queries, max_distance=20)


class ChangingFeed(MemoryFeed):
    """A MemoryFeed whose entries change by sequence, as the server's feed does."""

    def __init__(self):
        super().__init__({})
        self.log = []  # (id, HashRecord, active, seq)

    def put(self, key, record, active=True):
        self.log.append((key, record, active, len(self.log) + 1))
        if active:
            self.records[key] = record
        else:
            self.records.pop(key, None)

    def changes(self, after, types):
        page = [c for c in self.log if c[3] > after and c[1].type in types]
        if page:
            yield page


def test_sync_applies_additions_withdrawals_and_changes_by_sequence():
    rng = random.Random(7)
    a, b, c = (pdq_hex(rng) for _ in range(3))
    feed = ChangingFeed()
    feed.put(1, HashRecord("pdq", a, 90))
    feed.put(2, HashRecord("pdq", b, 90))
    matcher = FeedMatcher(feed)
    assert matcher.sync() == 2 and matcher.seq == 2 and len(matcher) == 2
    feed.put(1, HashRecord("pdq", a, 90), active=False)  # withdrawn
    feed.put(3, HashRecord("pdq", c, 90))
    feed.put(2, HashRecord("pdq", b, 20))  # now weak: leaves the index
    # Before sync: the index still has 1, but the source says it is withdrawn, so it never matches.
    assert [m for m in matcher.match([HashRecord("pdq", a, 90)])] == [[]]
    assert matcher.sync() == 3 and matcher.seq == 5 and matcher.sync() == 0
    assert 1 not in matcher.index and 2 not in matcher.index and 3 in matcher.index
    assert [[k for k, _, _ in m] for m in matcher.match([HashRecord("pdq", flip_bits(c, 5, rng), 90)])] == [[3]]


def test_media_candidates_are_the_media_sharing_a_matching_pair():
    rng = random.Random(3)
    bases = [pdq_hex(rng) for _ in range(40)]
    enrolled = [MediaRecord("image", records(rng, bases, rng.randint(1, 12))) for _ in range(150)]
    queries = [MediaRecord("image", records(rng, bases, rng.randint(1, 8))) for _ in range(120)]
    expected = [[m for m, e in enumerate(enrolled)
                 if any(record_distance(x, y) is not None for x in e.hashes for y in q.hashes)] for q in queries]
    assert media_candidates(enrolled, queries) == expected
    assert 0 < sum(map(len, expected)) < len(enrolled) * len(queries) / 4
