"""`make bench-shared-index`: memory per server process with the match index each process
builds for itself (takeback.matching.FeedMatcher) and with one index file they all map
(takeback.shared.SharedFeedMatcher, TAKEBACK_INDEX_DIR); figures, not a pass/fail test.

Worker processes (spawned, like gunicorn's, with nothing inherited) start at once on one
synthetic feed: random hashes for `--photos` photos, `--records pdq` (one PDQ each: the PDQ
index alone) or `--records photo` (the 64 perceptual hashes of an enrolled photo, as
bench/compare.py makes them: 13 windows, 42 pair-blocks, 3 rotations/flips, 2 blocks, 4 PDQ),
plus 1,000 photos enrolled after the snapshot (the delta). Each builds or maps its index,
touches every page of it (so resident memory is the whole index, not just what queries
touched), and once every worker is ready answers 300 query photos one per call (a PDQ, 4
windows, 4 blocks each: the index search only; reading the entries from the database is the
same either way; one worker at a time, so the figure is latency, not contention for the cores)
and, with every worker still alive, reads its RSS and PSS from /proc/self/smaps_rollup. PSS splits each
shared page between the processes that map it, so the workers' PSS add up to what they take
together.

  python -m bench.shared_index --photos 1000000 --records pdq --workers 1,4
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import multiprocessing
import statistics
import tempfile
import time

import numpy as np

from bench import measured_on

PHOTO_TYPES = {"pdq-window": 13, "pdq-pair-blocks": 42, "pdq-dihedral": 3, "pdq-blocks": 2, "pdq": 4}
QUERY_TYPES = ["pdq"] + ["pdq-window"] * 4 + ["pdq-blocks"] * 4
LATE_PHOTOS = 1000
QUERIES = 300


def _feed(photos, records):
    """A FeedSource of random hashes (made in each worker, as each would read the database)."""
    from hashing import HashRecord
    from takeback.matching import FeedSource

    per_photo = {"pdq": 1} if records == "pdq" else PHOTO_TYPES

    class SyntheticFeed(FeedSource):
        def _block(self, type_, start, count):
            n = per_photo.get(type_, 0) * count
            rng = np.random.default_rng([sorted(PHOTO_TYPES).index(type_), start])
            first = sum(per_photo.values()) * start + 1  # ids after the other types' (any distinct ids do)
            return np.arange(first, first + n) + 10**10 * sorted(PHOTO_TYPES).index(type_), \
                rng.integers(0, 2**64, size=(n, 4), dtype=np.uint64)

        def snapshot(self, types):
            return photos, {t: self._block(t, 0, photos) for t in types if t in per_photo}

        def changes(self, after, types):
            if after < photos + 1:
                page = []
                for t in types:
                    if t in per_photo:
                        ids, words = self._block(t, photos, LATE_PHOTOS)
                        hexes = [bytes(row).hex() for row in words.astype(">u8").view(np.uint8).reshape(-1, 32)]
                        page += [(int(k), HashRecord(t, h, 100), True, photos + 1) for k, h in zip(ids, hexes)]
                yield page

    return SyntheticFeed()


def _memory():
    """(RSS, PSS) in MB (10**6 bytes), from /proc/self/smaps_rollup."""
    fields = {}
    with open("/proc/self/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                fields[parts[0].rstrip(":")] = int(parts[1]) * 1024 / 1e6
    return fields["Rss"], fields["Pss"]


def _worker(number, photos, records, directory, start, measured, turn, results):
    from hashing import HashRecord
    from takeback.index import DeltaIndex
    from takeback.matching import FeedMatcher
    from takeback.shared import SharedFeedMatcher

    feed = _feed(photos, records)
    rng = np.random.default_rng(1000 + number)
    queries = [[HashRecord(t, "%064x" % int.from_bytes(rng.bytes(32), "big"), 100) for t in QUERY_TYPES]
               for _ in range(QUERIES)]
    start.wait()
    began = time.perf_counter()
    matcher = SharedFeedMatcher(feed, directory) if directory else FeedMatcher(feed)
    matcher.sync()  # the build (or the file mapped) ...
    matcher.sync()  # ... and the late photos (a FeedMatcher's first sync only builds)
    ready = time.perf_counter() - began
    for index in matcher.index.indexes.values():  # every page of the index resident
        base = index.base if isinstance(index, DeltaIndex) else index
        for array in (base._keys, base._words, base._offsets, base._postings):
            int(array.reshape(-1).view(np.uint8)[::4096].sum())
    measured.wait()
    latencies = []
    with turn:  # one worker's queries at a time: latency, not the workers' contention for the cores
        for query in queries:
            began = time.perf_counter()
            matcher.index.search(query)
            latencies.append(time.perf_counter() - began)
    measured.wait()  # every worker is built and alive: PSS shares out the pages they all map
    rss, pss = _memory()
    results.put((number, ready, statistics.median(latencies) * 1000, rss, pss, getattr(matcher, "builds", 1),
                 len(matcher)))
    measured.wait()


def _start(context, count, photos, records, directory):
    """Run `count` workers at once: their rows (number, ready, median ms, RSS, PSS, builds, hashes)."""
    start, measured, turn, results = context.Barrier(count), context.Barrier(count), context.Lock(), context.Queue()
    processes = [context.Process(target=_worker, args=(n, photos, records, directory, start, measured, turn, results))
                 for n in range(count)]
    for p in processes:
        p.start()
    rows = sorted(results.get() for _ in processes)
    for p in processes:
        p.join()
    return rows


def _print(label, workers, rows, file_size=None):
    ready = [r[1] for r in rows]
    print("| %s | %d | %s | %.1f s (%s) | %.2f ms | %s MB | %s MB | %s MB | %s |" % (
        label, workers, f"{rows[0][6]:,}", max(ready), ", ".join("%.1f" % r for r in ready),
        statistics.median(r[2] for r in rows), f"{statistics.mean(r[3] for r in rows):,.0f}",
        f"{statistics.mean(r[4] for r in rows):,.0f}", f"{sum(r[4] for r in rows):,.0f}",
        "%d built" % sum(r[5] for r in rows) if file_size is None
        else f"{file_size / 1e6:,.0f} MB, {sum(r[5] for r in rows)} built"), flush=True)


def run(photos, records, workers, shared):
    context = multiprocessing.get_context("spawn")
    if not shared:
        _print("each its own", workers, _start(context, workers, photos, records, None))
        return
    with tempfile.TemporaryDirectory(prefix="takeback-index-", dir=os.environ.get("BENCH_INDEX_DIR")) as directory:
        rows = _start(context, workers, photos, records, directory)
        size = sum(os.path.getsize(os.path.join(directory, f)) for f in os.listdir(directory))
        _print("shared file", workers, rows, size)
        if workers == 1:  # and one started once the file is there: it maps it, and reads the late photos
            _print("shared file, a worker started after", 1, _start(context, 1, photos, records, directory), size)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=1_000_000)
    parser.add_argument("--records", choices=["pdq", "photo"], default="pdq")
    parser.add_argument("--workers", default="1,4", help="worker counts, comma-separated")
    parser.add_argument("--only", choices=["own", "shared"], help="one of the two ways only")
    args = parser.parse_args()
    print(measured_on())
    print("%s photos, %s; %d late photos in each delta" % (
        f"{args.photos:,}", "one PDQ each" if args.records == "pdq" else "64 perceptual hashes each", LATE_PHOTOS))
    print()
    print("| index | workers | hashes | ready (per worker) | median query photo | RSS per worker | PSS per worker "
          "| PSS, all workers | file, builds |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for workers in [int(w) for w in args.workers.split(",")]:
        for shared in (False, True):
            if args.only != ("shared" if not shared else "own"):
                run(args.photos, args.records, workers, shared)


if __name__ == "__main__":
    main()
