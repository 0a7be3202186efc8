"""`make bench-match`: figures for the PDQ multi-index (takeback.index), not a pass/fail test.

For 100k and 1M random PDQ hashes plus 10,000 planted near-duplicates (one per query, at
distances 0..31): build time, memory, queries/s on one core (batched, and one query per
call), recall of the planted duplicates, and recall against a brute-force scan on a sample.

Queries/s is given by the wall clock and per CPU-second of this process: numpy runs on one
thread here, so the second is the one-core figure even when other work shares the machine.

`--distance D` (default 31, at most takeback.index.MAX_DISTANCE): duplicates planted at 0..D
and the index made for D (PdqIndex(max_distance=D): the radius + 1 layouts above 31).
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core

import resource
import time

import numpy as np

from bench import measured_on, searched_distance
from takeback.index import PdqIndex

QUERIES = 10_000
BRUTE_FORCE_SAMPLE = 1_000
SIZES = (100_000, 1_000_000)
DISTANCE = 31  # --distance


def to_hex(words):
    return [bytes(row).hex() for row in words.astype(">u8").view(np.uint8).reshape(-1, 32)]


def flip(words, distances, rng):
    """Each row with exactly distances[i] random bits flipped."""
    out = words.copy()
    bits = out.view(np.uint8).reshape(len(out), 32)
    for i, d in enumerate(distances):
        for b in rng.choice(256, size=d, replace=False):
            bits[i, b // 8] ^= np.uint8(1 << (b % 8))
    return out


def brute_force(words, queries, max_distance):
    found = []
    for q in queries:
        d = np.bitwise_count(words ^ q).sum(axis=1)
        rows = np.nonzero(d <= max_distance)[0]
        found.append(set(zip(rows.tolist(), d[rows].tolist())))
    return found


def bench(n, rng):
    print("== %s random hashes + %s planted near-duplicates (distances 0..%d) =="
          % (f"{n:,}", f"{QUERIES:,}", DISTANCE))
    random_words = rng.integers(0, 2**64, size=(n, 4), dtype=np.uint64)
    queries = rng.integers(0, 2**64, size=(QUERIES, 4), dtype=np.uint64)
    distances = np.arange(QUERIES) % (DISTANCE + 1)
    planted = flip(queries, distances, rng)
    words = np.concatenate([random_words, planted])
    keys = np.arange(len(words))
    hexes, query_hexes = to_hex(words), to_hex(queries)

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    index = PdqIndex.from_hashes(keys, hexes, max_distance=DISTANCE)
    build = time.perf_counter() - started
    print("layout: %s" % index.layout.name)
    print("build: %.2f s; index arrays %.1f MB (%.0f bytes per hash); peak RSS now %.0f MB (was %.0f MB)" % (
        build, index.nbytes / 1e6, index.nbytes / len(words),
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, rss_before / 1024))

    started, cpu = time.perf_counter(), time.process_time()
    results = index.search(query_hexes)
    batched, batched_cpu = time.perf_counter() - started, time.process_time() - cpu
    print("batched search: %.0f queries/s wall-clock, %.0f per CPU-second (%s queries in %.2f s)" % (
        QUERIES / batched, QUERIES / batched_cpu, f"{QUERIES:,}", batched))

    single = query_hexes[:2000]
    started, cpu = time.perf_counter(), time.process_time()
    for h in single:
        index.search([h])
    one_by_one, one_by_one_cpu = time.perf_counter() - started, time.process_time() - cpu
    print("one query per call: %.0f queries/s wall-clock, %.0f per CPU-second" % (
        len(single) / one_by_one, len(single) / one_by_one_cpu))

    found_planted = sum(1 for i, r in enumerate(results) if any(k == n + i for k, _ in r))
    print("planted duplicates found: %d / %d (%.2f%%)" % (found_planted, QUERIES, 100 * found_planted / QUERIES))

    expected = brute_force(words, queries[:BRUTE_FORCE_SAMPLE], DISTANCE)
    got = [set(r) for r in results[:BRUTE_FORCE_SAMPLE]]
    total = sum(len(e) for e in expected)
    hit = sum(len(e & g) for e, g in zip(expected, got))
    extra = sum(len(g - e) for e, g in zip(expected, got))
    print("recall vs brute force (first %d queries): %d / %d matches (%.2f%%), %d false matches" % (
        BRUTE_FORCE_SAMPLE, hit, total, 100 * hit / max(total, 1), extra))

    changes = rng.integers(0, 2**64, size=(1000, 4), dtype=np.uint64)
    started = time.perf_counter()
    index.add_many(range(len(words), len(words) + 1000), to_hex(changes))
    for key in range(0, 1000):
        index.remove(key)
    index.rebuild()
    print("1,000 additions + 1,000 removals + a full rebuild: %.2f s" % (time.perf_counter() - started))
    print()


def main():
    global DISTANCE
    DISTANCE = searched_distance(__doc__)
    rng = np.random.default_rng(20261125)
    for n in SIZES:
        bench(n, rng)


if __name__ == "__main__":

    print(measured_on())
    main()
