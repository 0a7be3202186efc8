"""`make bench-index`: the PDQ index at 1M and 10M hashes next to FAISS, figures not pass/fail.

For each size: n random 256-bit hashes, of which QUERIES have a planted near-duplicate query
at distances 0..31 (so every query has at least one true match), the same hashes and queries
for every index:

- takeback.index.PdqIndex (the layout it picks by size),
- faiss.IndexBinaryFlat (exhaustive scan: exact; range_search radius 32 = distance <= 31),
- faiss.IndexBinaryMultiHash with 16 hash tables of 16 bits and nflip=1 (the same multi-index
  idea as our narrow layout: exact at 31).

Reported: memory (our arrays' exact bytes; for every index the growth of this process's
resident memory while building it), build time, queries/s (one query per call and batched),
median latency of a single query, recall of the planted matches, and recall against a
brute-force scan (numpy) on a sample of queries (every hash within 31 bits, not only the
planted one). One thread everywhere (OMP/BLAS and faiss), so figures are per core.

`--distance D` (default 31, at most takeback.index.MAX_DISTANCE) does all of this at D bits:
queries planted at 0..D, PdqIndex(max_distance=D) (the radius + 1 layouts above 31), FAISS's
range search within D and its multi-hash index with nflip 2 above 31.
"""
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import gc
import sys
import time

import numpy as np

from bench import measured_on, searched_distance
from takeback.index import PdqIndex

SIZES = [int(s) for s in os.environ.get("BENCH_INDEX_SIZES", "1000000,10000000").split(",")]
QUERIES = 1000
TRUTH_SAMPLE = {1_000_000: 200, 10_000_000: 50}
FLAT_QUERIES = {1_000_000: 300, 10_000_000: 40}  # exhaustive scans are slow: fewer of them
MULTIHASH_QUERIES = {10_000_000: 200}  # ~60 ms each at 10M
DISTANCE = 31  # --distance


def rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def flip(words, distances, rng):
    out = words.copy()
    bits = out.view(np.uint8).reshape(len(out), 32)
    for i, d in enumerate(distances):
        for b in rng.choice(256, size=int(d), replace=False):
            bits[i, b // 8] ^= np.uint8(1 << (b % 8))
    return out


def brute_force(words, queries):
    found = []
    for q in queries:
        d = np.bitwise_count(words ^ q).astype(np.uint16).sum(axis=1)
        rows = np.nonzero(d <= DISTANCE)[0]
        found.append(set(rows.tolist()))
    return found


def mb(n):
    return "%.0f MB" % (n / 1e6)


def report(name, n, memory, exact_bytes, build, single, batched_qps, planted, truth_hit, truth_total, extra,
           candidates=None):
    times = np.array(single)
    exact = " (arrays %s, %.0f B/hash)" % (mb(exact_bytes), exact_bytes / n) if exact_bytes else ""
    print("  %-34s memory %s RSS%s; build %.1f s" % (name, mb(memory), exact, build))
    print("  %-34s one query per call: median %.3f ms, p90 %.3f ms, %.0f queries/s; batched: %.0f queries/s"
          % ("", np.median(times) * 1e3, np.percentile(times, 90) * 1e3, 1 / times.mean(), batched_qps))
    print("  %-34s recall: planted %d/%d (%.2f%%); vs brute force %d/%d (%.2f%%), %d false matches"
          % ("", planted[0], planted[1], 100 * planted[0] / planted[1], truth_hit, truth_total,
             100 * truth_hit / max(truth_total, 1), extra))
    if candidates is not None:
        print("  %-34s candidates checked per query: mean %.0f" % ("", candidates))
    sys.stdout.flush()


def score(results, planted_rows, truth):
    """results: per query, a set of rows."""
    planted = sum(1 for r, p in zip(results, planted_rows) if p in r)
    hit = sum(len(t & r) for t, r in zip(truth, results))
    extra = sum(len(r - t) for t, r in zip(truth, results))
    return (planted, len(planted_rows)), hit, sum(len(t) for t in truth), extra


def bench(n, rng):
    print("== %s hashes, %d queries with a planted match at distances 0..%d ==" % (f"{n:,}", QUERIES, DISTANCE))
    words = rng.integers(0, 2**64, size=(n, 4), dtype=np.uint64)
    planted_rows = rng.choice(n, size=QUERIES, replace=False)
    queries = flip(words[planted_rows], np.arange(QUERIES) % (DISTANCE + 1), rng)
    sample = TRUTH_SAMPLE.get(n, 100)
    started = time.perf_counter()
    truth = brute_force(words, queries[:sample])
    print("  (brute force truth for %d queries: %.1f s)" % (sample, time.perf_counter() - started))
    planted_rows = planted_rows.tolist()

    # --- ours
    gc.collect()
    before = rss()
    started = time.perf_counter()
    index = PdqIndex.from_words(np.arange(n), words, max_distance=DISTANCE)
    build = time.perf_counter() - started
    memory = rss() - before
    single, results = [], []
    for i in range(QUERIES):
        t = time.perf_counter()
        found = index.search_words(queries[i : i + 1])[0]
        single.append(time.perf_counter() - t)
        results.append({k for k, _ in found})
    started = time.perf_counter()
    batched = index.search_words(queries)
    batched_qps = QUERIES / (time.perf_counter() - started)
    assert [{k for k, _ in r} for r in batched] == results
    planted, hit, total, extra = score(results, planted_rows, truth)
    candidates = index._candidates(queries[:200])[1].mean()
    report("takeback PdqIndex (%s, r=%d)" % (index.layout.name.split(":")[0], index.layout.radius), n, memory,
           index.nbytes, build, single, batched_qps, planted, hit, total, extra, candidates)
    del index, batched
    gc.collect()

    try:
        import faiss
    except ImportError:
        print("  faiss-cpu is not installed: pip install -e '.[bench]'")
        return
    faiss.omp_set_num_threads(1)
    codes = np.ascontiguousarray(words.astype(">u8").view(np.uint8).reshape(n, 32))
    qcodes = np.ascontiguousarray(queries.astype(">u8").view(np.uint8).reshape(-1, 32))
    del words
    gc.collect()
    for name, make, count in (
        ("faiss IndexBinaryFlat", lambda: faiss.IndexBinaryFlat(256), FLAT_QUERIES.get(n, 200)),
        ("faiss IndexBinaryMultiHash 16x16", lambda: _multihash(faiss), MULTIHASH_QUERIES.get(n, QUERIES)),
    ):
        gc.collect()
        before = rss()
        started = time.perf_counter()
        index = make()
        index.add(codes)
        build = time.perf_counter() - started
        memory = rss() - before
        exact_bytes = index.ntotal * index.code_size if name.endswith("Flat") else 0  # the codes it holds
        single, results = [], []
        for i in range(count):
            t = time.perf_counter()
            lims, _, ids = index.range_search(qcodes[i : i + 1], DISTANCE + 1)  # distances <= DISTANCE
            single.append(time.perf_counter() - t)
            results.append(set(ids.tolist()))
        started = time.perf_counter()
        lims, _, ids = index.range_search(qcodes[:count], DISTANCE + 1)
        batched_qps = count / (time.perf_counter() - started)
        planted, hit, total, extra = score(results, planted_rows[:count], truth[:count])
        report(name + ("" if count == QUERIES else " (%d queries)" % count), n, memory, exact_bytes, build, single,
               batched_qps, planted, hit, total, extra)
        del index
    print()


def _multihash(faiss):
    index = faiss.IndexBinaryMultiHash(256, 16, 16)
    index.nflip = 1 if DISTANCE <= 31 else 2  # 16 x (nflip + 1) > DISTANCE: exact
    return index


def main():
    global DISTANCE
    DISTANCE = searched_distance(__doc__)
    rng = np.random.default_rng(20261125)
    print("PDQ index benchmark at distance %d, one thread; numpy %s" % (DISTANCE, np.__version__))
    for n in SIZES:
        bench(n, rng)
        gc.collect()


if __name__ == "__main__":

    print(measured_on())
    main()
