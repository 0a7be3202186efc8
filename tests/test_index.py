"""takeback.index.PdqIndex: exact recall against a brute-force scan with the shared match rule."""
import random

import numpy as np
import pytest

from hashing import HashRecord, record_distance
from takeback.index import PdqIndex, hashes_to_words

from .conftest import flip_bits, pdq_hex


def brute_force(entries, query, max_distance=31):
    """{key: distance} by hashing.record_distance over every entry."""
    q = HashRecord("pdq", query, 100)
    found = {}
    for key, value in entries.items():
        d = record_distance(HashRecord("pdq", value, 100), q, max_distance)
        if d is not None:
            found[key] = d
    return found


def brute_force_numpy(entries, query, max_distance=31):
    """The same as brute_force, fast enough for thousands of entries (counts bits with numpy)."""
    keys = list(entries)
    distances = np.bitwise_count(hashes_to_words([entries[k] for k in keys]) ^ hashes_to_words([query])).sum(axis=1)
    return {k: int(d) for k, d in zip(keys, distances) if d <= max_distance}


def test_numpy_brute_force_agrees_with_the_rule():
    rng = random.Random(9)
    entries = {k: pdq_hex(rng) for k in range(300)}
    for query in near_queries(entries, rng, 20):
        assert brute_force_numpy(entries, query) == brute_force(entries, query)


def near_queries(entries, rng, count, spread=40):
    values = list(entries.values())
    return [flip_bits(rng.choice(values), rng.randrange(spread), rng) for _ in range(count)]


def test_recall_is_exact_at_every_distance():
    rng = random.Random(1)
    entries = {k: pdq_hex(rng) for k in range(2000)}
    index = PdqIndex.from_hashes(list(entries), list(entries.values()))
    queries = [flip_bits(entries[d], d, rng) for d in range(64)]  # distances 0..63 from key d
    for d, (query, result) in enumerate(zip(queries, index.search(queries))):
        assert dict(result) == brute_force(entries, query)
        assert (d in dict(result)) == (d <= 31)


def test_worst_case_spread_of_differences():
    """31 differing bits spread as 15 chunks x 2 bits + 1 chunk x 1 bit: only one chunk is within 1 bit."""
    base = pdq_hex(random.Random(2))
    value = int(base, 16)
    for chunk in range(15):
        value ^= 0b11 << (16 * chunk)
    value ^= 1 << (16 * 15)
    far = "%064x" % value
    index = PdqIndex.from_hashes([7], [base])
    assert index.search([far]) == [[(7, 31)]]
    value ^= 1 << (16 * 15 + 1)  # 32 bits: two in every chunk
    assert index.search(["%064x" % value]) == [[]]


def test_results_are_nearest_first_and_respect_max_distance():
    rng = random.Random(3)
    base = pdq_hex(rng)
    entries = {k: flip_bits(base, k, rng) for k in range(0, 40, 3)}
    index = PdqIndex.from_hashes(list(entries), list(entries.values()))
    (result,) = index.search([base])
    assert [d for _, d in result] == sorted(d for _, d in result)
    assert dict(result) == brute_force(entries, base)
    (close,) = index.search([base], max_distance=10)
    assert dict(close) == brute_force(entries, base, 10)
    with pytest.raises(ValueError):
        index.search([base], max_distance=32)


def test_incremental_changes_agree_with_brute_force():
    rng = random.Random(4)
    entries = {k: pdq_hex(rng) for k in range(3000)}
    index = PdqIndex.from_hashes(list(entries), list(entries.values()))
    next_key = 3000
    for step in range(8):
        # additions (to the unindexed tail, and past the rebuild threshold), removals, replacements
        added = {next_key + i: flip_bits(rng.choice(list(entries.values())), rng.randrange(30), rng)
                 for i in range(rng.choice([10, 500, 5000]))}
        next_key += len(added)
        index.add_many(list(added), list(added.values()))
        entries.update(added)
        for key in rng.sample(list(entries), 200):
            assert index.remove(key)
            del entries[key]
        for key in rng.sample(list(entries), 20):
            entries[key] = pdq_hex(rng)
            index.add(key, entries[key])
        assert len(index) == len(entries)
        queries = near_queries(entries, rng, 50)
        for query, result in zip(queries, index.search(queries)):
            assert dict(result) == brute_force_numpy(entries, query), step


def test_remove_unknown_and_twice():
    index = PdqIndex.from_hashes([1], ["0" * 64])
    assert not index.remove(2)
    assert index.remove(1) and not index.remove(1)
    assert index.search(["0" * 64]) == [[]]
    assert 1 not in index and len(index) == 0


def test_same_key_twice_in_one_call_keeps_the_last():
    index = PdqIndex()
    index.add_many([5, 5], ["0" * 64, "f" * 64])
    assert index.search(["0" * 64, "f" * 64]) == [[], [(5, 0)]]
    assert len(index) == 1


def test_empty_index_and_no_queries():
    assert PdqIndex().search(["0" * 64]) == [[]]
    assert PdqIndex.from_hashes([], []).search([]) == []


def test_duplicate_keys_refused():
    with pytest.raises(ValueError):
        PdqIndex.from_hashes([1, 1], ["0" * 64, "1" * 64])


def test_words_round_trip():
    value = pdq_hex(random.Random(5))
    words = hashes_to_words([value])
    assert words.shape == (1, 4) and words.dtype == np.uint64
    assert "".join("%016x" % w for w in words[0]) == value


# -- the two layouts -------------------------------------------------------------------------------

from takeback import index as index_module  # noqa: E402
from takeback.index import NARROW, WIDE, Layout  # noqa: E402


@pytest.mark.parametrize("layout", [NARROW, WIDE], ids=["narrow", "wide"])
def test_chunks_cover_every_bit_in_order(layout):
    rng = random.Random(6)
    values = [pdq_hex(rng) for _ in range(5)] + ["0" * 64, "f" * 64]
    chunks = layout.chunks(hashes_to_words(values))
    many = layout.chunks(np.repeat(hashes_to_words(values), 20, axis=0))[::20]  # the numpy path (> 64 rows)
    assert (chunks == many).all()
    for value, row in zip(values, chunks):
        joined = 0
        for width, chunk in zip(layout.widths, row.tolist()):
            assert 0 <= chunk < 1 << width
            joined = (joined << width) | chunk
        assert "%064x" % joined == value


def test_layouts_must_guarantee_recall():
    with pytest.raises(ValueError):
        Layout("too few chunks", [32] * 8, 2)  # 8 x 3 = 24 <= 31: a match could differ everywhere
    with pytest.raises(ValueError):
        Layout("not 256 bits", [16] * 15, 1)


def test_wide_layout_recall_is_exact_at_every_distance_and_worst_spread():
    rng = random.Random(7)
    entries = {k: pdq_hex(rng) for k in range(3000)}
    index = PdqIndex.from_hashes(list(entries), list(entries.values()), layout=WIDE)
    assert index.layout is WIDE
    queries = [flip_bits(entries[d], d, rng) for d in range(64)] + near_queries(entries, rng, 200)
    for d, (query, result) in enumerate(zip(queries, index.search(queries))):
        assert dict(result) == brute_force_numpy(entries, query)
        if d < 64:
            assert (d in dict(result)) == (d <= 31)
    # 31 bits spread so that only one chunk differs in at most 2: 10 chunks x 3 bits + 1 bit.
    base = entries[0]
    value = int(base, 16)
    for start, width in zip(WIDE.starts[:10], WIDE.widths[:10]):
        value ^= 0b111 << (256 - start - width)
    value ^= 1 << (256 - WIDE.starts[10] - 1)
    assert (0, 31) in index.search(["%064x" % value])[0]


def test_wide_layout_incremental_changes():
    rng = random.Random(8)
    entries = {k: pdq_hex(rng) for k in range(2000)}
    index = PdqIndex.from_hashes(list(entries), list(entries.values()), layout=WIDE)
    added = {5000 + i: flip_bits(rng.choice(list(entries.values())), rng.randrange(30), rng) for i in range(5000)}
    index.add_many(list(added), list(added.values()))  # past TAIL_LIMIT: a rebuild, still wide
    entries.update(added)
    removed = rng.sample(list(entries), 300)
    assert index.remove_many(removed + [10**9]) == 300
    for key in removed:
        del entries[key]
    assert index.layout is WIDE and len(index) == len(entries)
    queries = near_queries(entries, rng, 100)
    for query, result in zip(queries, index.search(queries)):
        assert dict(result) == brute_force_numpy(entries, query)


def test_rebuild_picks_the_layout_by_size(monkeypatch):
    monkeypatch.setattr(index_module, "WIDE_FROM", 1000)
    rng = random.Random(10)
    small = PdqIndex.from_hashes(range(999), [pdq_hex(rng) for _ in range(999)])
    assert small.layout is NARROW
    large = PdqIndex.from_hashes(range(1000), [pdq_hex(rng) for _ in range(1000)])
    assert large.layout is WIDE
    values = [pdq_hex(rng) for _ in range(5)]
    assert large.search_words(hashes_to_words(values)) == large.search(values)


def test_rule_index_looks_up_every_enrolled_type_the_rules_pair_a_query_with():
    from hashing.match import RULES
    from takeback.index import RuleIndex

    rng = random.Random(12)
    index = RuleIndex()
    assert set(index.types) == {e for e, _ in RULES}
    entries = {}  # key -> HashRecord; keys are unique across types
    for key in range(300):
        type_ = index.types[key % len(index.types)]
        entries[key] = HashRecord(type_, pdq_hex(rng), 90)
    for type_ in index.types:
        keys = [k for k, r in entries.items() if r.type == type_]
        index.add_many(type_, keys, [entries[k].value for k in keys])
    assert len(index) == 300 and 7 in index and 300 not in index
    queries = []
    for _ in range(200):
        near = entries[rng.randrange(300)]
        queries.append(HashRecord(rng.choice(["pdq", "pdq-window", "pdq-dihedral"]),
                                  flip_bits(near.value, rng.randrange(40), rng), 90))
    for max_distance in (None, 12):
        for query, result in zip(queries, index.search(queries, max_distance)):
            expected = {k: d for k, r in entries.items()
                        for d in [record_distance(r, query, max_distance)] if d is not None}
            assert dict(result) == expected
            assert [d for _, d in result] == sorted(d for _, d in result)
    assert index.lookups("pdq", 12) == [(e, 12) for e, q in RULES if q == "pdq"]
    assert index.lookups("pdq-window", 12) == [(e, d) for (e, q), d in RULES.items() if q == "pdq-window"]
    assert index.lookups("md5") == []
    index.remove_many(list(range(0, 300, 2)))
    assert len(index) == 150


def test_rule_index_refuses_rules_it_cannot_serve():
    from takeback.index import RuleIndex

    with pytest.raises(ValueError, match="MAX_DISTANCE = 31"):
        RuleIndex({("pdq", "pdq"): 32})
    with pytest.raises(ValueError, match="256-bit perceptual"):
        RuleIndex({("md5", "pdq"): 10})
    assert RuleIndex({("pdq", "pdq-window"): 31}).types == ("pdq",)
