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


# -- the layouts -----------------------------------------------------------------------------------

from takeback import index as index_module  # noqa: E402
from takeback.index import NARROW, NARROW_R2, WIDE, WIDE_R3, Layout, choose_layout  # noqa: E402

LAYOUTS = [NARROW, WIDE, NARROW_R2, WIDE_R3]
LAYOUT_IDS = ["narrow", "wide", "narrow-r2", "wide-r3"]


@pytest.mark.parametrize("layout", LAYOUTS, ids=LAYOUT_IDS)
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
    # m chunks of radius r cover every distance below m * (r + 1)
    assert [layout.covers for layout in LAYOUTS] == [31, 32, 47, 43]
    assert index_module.MAX_DISTANCE == 43  # the largest a wide layout covers: served at every size
    assert [layout.probe_count for layout in LAYOUTS] == [272, 3119, 2192, 23359]
    for layout in LAYOUTS:
        chunk, mask, base = layout.probes
        assert len(chunk) == len(mask) == len(base) == layout.probe_count
        assert max(bin(m).count("1") for m in mask.tolist()) == layout.radius
        # every (chunk, mask) once
        assert len(set(zip(chunk.tolist(), mask.tolist()))) == layout.probe_count
    too_few = Layout("too few chunks", [32] * 8, 2)  # 8 x 3 = 24 <= 31: a match could differ everywhere
    assert too_few.covers == 23
    with pytest.raises(ValueError, match="only up to 23 bits"):
        PdqIndex(too_few)
    with pytest.raises(ValueError, match="only up to 31 bits"):
        PdqIndex(NARROW, max_distance=40)
    with pytest.raises(ValueError, match="only up to 32 bits"):
        PdqIndex.from_hashes([1], ["0" * 64], layout=WIDE, max_distance=40)
    with pytest.raises(ValueError, match="max_distance must be 0..43"):
        PdqIndex(WIDE_R3, max_distance=44)
    with pytest.raises(ValueError):
        Layout("not 256 bits", [16] * 15, 1)


def test_choose_layout_by_distance_and_size(monkeypatch):
    monkeypatch.setattr(index_module, "WIDE_FROM", 1000)
    monkeypatch.setattr(index_module, "WIDE_FROM_LOOSE", 500)
    for d in (0, 12, 31):  # PDQ: the layouts of radius 1 and 2, as before
        assert (choose_layout(999, d), choose_layout(1000, d)) == (NARROW, WIDE)
        assert choose_layout(10**8, d) is WIDE
    assert (choose_layout(499, 32), choose_layout(500, 32)) == (NARROW_R2, WIDE)  # WIDE covers 32
    for d in (33, 40, 43):
        assert (choose_layout(499, d), choose_layout(500, d)) == (NARROW_R2, WIDE_R3)
    for d in (-1, 44):
        with pytest.raises(ValueError, match="0..43"):
            choose_layout(10, d)


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

    with pytest.raises(ValueError, match="MAX_DISTANCE = 43"):
        RuleIndex({("pdq", "pdq"): 44})
    with pytest.raises(ValueError, match="256-bit perceptual"):
        RuleIndex({("md5", "pdq"): 10})
    assert RuleIndex({("pdq", "pdq-window"): 31}).types == ("pdq",)


# -- distances beyond PDQ's 31: the layouts of radius + 1 ------------------------------------------


def flip_evenly(hex_value, distance, layout, rng):
    """A hash exactly `distance` bits away with the bits spread over the layout's chunks as evenly
    as possible (the hardest case for the pigeonhole: no chunk closer than it must be)."""
    m = len(layout.widths)
    value = int(hex_value, 16)
    for n, j in enumerate(rng.sample(range(m), m)):
        count = distance // m + (n < distance % m)
        for bit in rng.sample(range(layout.widths[j]), count):
            value ^= 1 << (256 - layout.starts[j] - layout.widths[j] + bit)
    return "%064x" % value


def planted_entries(seed, count, max_distance, layout):
    """count random hashes, plus for d in 0..max_distance two neighbours of entry d at exactly d
    bits: random bits flipped (key 10**6 + d) and bits spread evenly over the layout's chunks
    (key 2 * 10**6 + d); and queries: the entries 0..63 moved by 0..63 bits (by random and by
    evenly spread bits), and random near ones."""
    rng = random.Random(seed)
    entries = {k: pdq_hex(rng) for k in range(count)}
    for d in range(max_distance + 1):
        entries[10**6 + d] = flip_bits(entries[d], d, rng)
        entries[2 * 10**6 + d] = flip_evenly(entries[d], d, layout, rng)
    queries = ([flip_bits(entries[d], d, rng) for d in range(64)]
               + [flip_evenly(entries[d], d, layout, rng) for d in range(64)]
               + near_queries(entries, rng, 150, spread=50))
    return entries, queries


@pytest.mark.parametrize("layout", [NARROW_R2, WIDE_R3], ids=["narrow-r2", "wide-r3"])
def test_radius_plus_one_layouts_recall_is_exact_at_40(layout):
    entries, queries = planted_entries(21, 3000, 40, layout)
    index = PdqIndex.from_hashes(list(entries), list(entries.values()), layout=layout, max_distance=40)
    assert index.layout is layout and index.max_distance == 40
    for n, (query, result) in enumerate(zip(queries, index.search(queries))):
        assert dict(result) == brute_force_numpy(entries, query, 40)
        if n < 128:
            assert (n % 64 in dict(result)) == (n % 64 <= 40)
    planted = [entries[d] for d in range(41)]  # each entry d has its planted neighbours at d bits
    for d, result in enumerate(index.search(planted)):
        assert (10**6 + d, d) in result and (2 * 10**6 + d, d) in result
    # one query per call (the path of an upload pipeline) and lower distances agree too
    for query in queries[:40] + queries[64:90]:
        assert index.search([query]) == index.search_words(hashes_to_words([query]))
        for limit in (31, 12):
            assert dict(index.search([query], limit)[0]) == brute_force_numpy(entries, query, limit)


def spread(value, layout, per_chunk):
    """value with per_chunk[j] lowest bits of chunk j flipped."""
    for start, width, bits in zip(layout.starts, layout.widths, per_chunk):
        value ^= ((1 << bits) - 1) << (256 - start - width)
    return value


def test_radius_plus_one_layouts_find_the_worst_spread_of_differences():
    base = pdq_hex(random.Random(22))
    value = int(base, 16)
    # WIDE_R3 at 43: 10 chunks x 4 bits + 3 bits: only the last chunk is within 3 bits
    index = PdqIndex.from_hashes([7], [base], layout=WIDE_R3, max_distance=43)
    assert index.search(["%064x" % spread(value, WIDE_R3, [4] * 10 + [3])]) == [[(7, 43)]]
    # NARROW_R2 at 43: 14 chunks x 3 bits + 1 bit + 0 bits
    index = PdqIndex.from_hashes([7], [base], layout=NARROW_R2, max_distance=43)
    assert index.search(["%064x" % spread(value, NARROW_R2, [3] * 14 + [1, 0])]) == [[(7, 43)]]
    # and NARROW_R2 covers 47: 15 chunks x 3 + 2 bits, yet an index is asked no more than it was made for
    with pytest.raises(ValueError, match="made for distances up to 43"):
        index.search(["%064x" % spread(value, NARROW_R2, [3] * 15 + [2])], 47)


def test_a_search_beyond_the_distance_the_index_was_made_for_is_refused():
    rng = random.Random(23)
    values = [pdq_hex(rng) for _ in range(50)]
    pdq = PdqIndex.from_hashes(range(50), values)
    assert pdq.max_distance == 31 and pdq.layout is NARROW
    with pytest.raises(ValueError, match="0..31: this index was made for distances up to 31 bits"):
        pdq.search(values[:1], 32)
    loose = PdqIndex.from_hashes(range(50), values, max_distance=40)
    assert loose.layout is NARROW_R2
    assert loose.search(values[:1]) == loose.search(values[:1], 40)  # the default: what it was made for
    assert loose.search(values[:1], 40)[0][0] == (0, 0)
    with pytest.raises(ValueError, match="made for distances up to 40"):
        loose.search(values[:1], 41)
    with pytest.raises(ValueError, match="made for distances up to 40"):
        loose.search_words(hashes_to_words(values[:1]), 41)
    with pytest.raises(ValueError):
        loose.search(values[:1], -1)
    for bad in (44, -1):
        with pytest.raises(ValueError, match="max_distance must be 0..43"):
            PdqIndex(max_distance=bad)


def test_radius_plus_one_layouts_incremental_changes_and_rebuild_by_size(monkeypatch):
    monkeypatch.setattr(index_module, "WIDE_FROM_LOOSE", 3000)
    entries, queries = planted_entries(24, 2000, 40, WIDE_R3)
    index = PdqIndex.from_hashes(list(entries), list(entries.values()), max_distance=40)
    assert index.layout is NARROW_R2
    rng = random.Random(25)
    added = {5000 + i: flip_bits(rng.choice(list(entries.values())), rng.randrange(45), rng) for i in range(5000)}
    index.add_many(list(added), list(added.values()))  # past TAIL_LIMIT: rebuilt, now wide
    entries.update(added)
    assert index.layout is WIDE_R3 and index.max_distance == 40
    entries[99] = flip_bits(entries[0], 40, rng)
    index.add_many([99], [entries[99]])  # in the unindexed tail
    removed = rng.sample(sorted(entries), 300)
    assert index.remove_many(removed) == 300
    for key in removed:
        del entries[key]
    for query, result in zip(queries + [entries[0]], index.search(queries + [entries[0]])):
        assert dict(result) == brute_force_numpy(entries, query, 40)


def test_rule_index_makes_each_type_for_the_largest_distance_of_its_rules(monkeypatch):
    import hashing.match
    from takeback.index import RuleIndex

    # whatever the rules are now, each type is made for the largest distance of its rules (at least 31)
    current = RuleIndex()
    for type_ in current.types:
        assert current[type_].max_distance == max([31] + [d for (e, _), d in hashing.match.RULES.items() if e == type_])

    # windows at 40 bits, PDQ rows at 31
    monkeypatch.setattr(hashing.match, "RULES", {("pdq", "pdq"): 31, ("pdq-dihedral", "pdq"): 31,
                                                 ("pdq-window", "pdq-window"): 40})
    index = RuleIndex()
    assert index.distances == {"pdq": 31, "pdq-dihedral": 31, "pdq-window": 40}
    assert index.max_override == 31  # what a caller's max_distance may ask of a query PDQ
    assert [(t, index[t].max_distance, index[t].layout) for t in index.types] == [
        ("pdq", 31, NARROW), ("pdq-dihedral", 31, NARROW), ("pdq-window", 40, NARROW_R2)]
    assert index.lookups("pdq-window", 12) == [("pdq-window", 40)]
    with pytest.raises(ValueError, match="max_distance must be 0..31"):
        index.lookups("pdq", 32)
    with pytest.raises(ValueError, match="max_distance must be 0..31"):
        index.search([HashRecord("pdq", "0" * 64, 90)], 40)

    rng = random.Random(26)
    entries = {}
    for key in range(600):
        base = entries[rng.randrange(key)].value if key > 10 and rng.random() < 0.5 else pdq_hex(rng)
        entries[key] = HashRecord(index.types[key % 3], flip_bits(base, rng.randrange(45), rng), 90)
    for type_ in index.types:
        keys = [k for k, r in entries.items() if r.type == type_]
        index.build(type_, keys, hashes_to_words([entries[k].value for k in keys]))
    assert index["pdq-window"].layout is NARROW_R2 and index["pdq"].layout is NARROW
    queries = [HashRecord(rng.choice(["pdq", "pdq-window", "pdq-dihedral"]),
                          flip_bits(entries[rng.randrange(600)].value, rng.randrange(48), rng), 90)
               for _ in range(300)]
    window_hits = 0
    for max_distance in (None, 12):
        for query, result in zip(queries, index.search(queries, max_distance)):
            expected = {k: d for k, r in entries.items()
                        for d in [record_distance(r, query, max_distance)] if d is not None}
            assert dict(result) == expected
            window_hits += sum(1 for _, d in result if d > 31)
    assert window_hits  # windows matched beyond 31 bits

    # a bigger index of windows goes wide at radius 3; the PDQ indexes stay as they were
    monkeypatch.setattr(index_module, "WIDE_FROM_LOOSE", 100)
    for type_ in index.types:
        keys = [k for k, r in entries.items() if r.type == type_]
        index.build(type_, keys, hashes_to_words([entries[k].value for k in keys]))
    assert [index[t].layout for t in index.types] == [NARROW, NARROW, WIDE_R3]
    for query, result in zip(queries, index.search(queries)):
        assert dict(result) == {k: d for k, r in entries.items() for d in [record_distance(r, query)] if d is not None}


def test_pdq_only_indexes_keep_the_old_layouts(monkeypatch):
    from hashing.match import PDQ_MATCH_DISTANCE
    from takeback.index import RuleIndex

    rules = {("pdq", "pdq"): PDQ_MATCH_DISTANCE, ("pdq-dihedral", "pdq"): PDQ_MATCH_DISTANCE}
    monkeypatch.setattr(index_module, "WIDE_FROM", 1000)
    monkeypatch.setattr(index_module, "WIDE_FROM_LOOSE", 10)  # would go wide at radius 3 if it ever applied
    index = RuleIndex(rules)
    assert index.distances == {"pdq": 31, "pdq-dihedral": 31} and index.max_override == 31
    rng = random.Random(27)
    index.build("pdq", range(999), hashes_to_words([pdq_hex(rng) for _ in range(999)]))
    index.build("pdq-dihedral", range(1000, 2000), hashes_to_words([pdq_hex(rng) for _ in range(1000)]))
    assert (index["pdq"].layout, index["pdq-dihedral"].layout) == (NARROW, WIDE)
    assert PdqIndex().layout is NARROW and PdqIndex().max_distance == 31
    assert PdqIndex.from_hashes([1], ["0" * 64], max_distance=12).layout is NARROW
    # a rule below 31 still builds for 31 (no dearer) so that a caller's max_distance may ask 31
    small = RuleIndex({("pdq", "pdq"): 10})
    assert small.distances == {"pdq": 31} and small.max_override == 31 and small["pdq"].layout is NARROW
    # a PDQ rule above 31 lets max_distance go as far, and only then PDQ gets the looser layouts
    loose = RuleIndex({("pdq", "pdq"): 40})
    assert loose.max_override == 40 and loose["pdq"].layout is NARROW_R2
