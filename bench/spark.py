"""`make bench-spark`: `takeback partner spark-scan` (Spark's local mode) next to `takeback partner
scan --workers 2` on the same folder, and what the enrolled entries cost an executor per hash.

Prints figures; asserts nothing but that both scans print the same lines. The folder: the
corpus photos under neutral names, plus an edited copy (caption bars, a centred crop, a JPEG
re-encode) of each of the first --enrolled photos, whose enrolment records are the store.
Spark runs with as many cores as the scan's workers (2), so files per second per core compare
like for like; Spark's figure is given with and without its start (the JVM, the session).

Memory: the store's active entries as Spark broadcasts them (pickled) and, in each executor's
Python worker, unpickled plus the index Matcher.from_rows builds (tracemalloc: Python objects
and numpy arrays), for --photos-in-index synthetic photos of 64 perceptual hashes and 2 digests
each, as the feed carries an enrolled photo.
"""
import argparse
import os
import pickle
import random
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc

from PIL import Image

from bench import REPO, measured_on
from takeback.media import file_record
from takeback.partner.store import LocalStore
from tests.transforms import caption_bars, crop

PHOTOS = os.path.join(os.environ.get("TAKEBACK_CORPUS", os.path.join(REPO, "..", "shared", "corpus")), "photos")
EDITS = [("caption bars", caption_bars, {}), ("crop 10%", crop, {"removed": 0.10, "where": "centred"}),
         ("jpeg q50", lambda im, rng, donor: im, {})]
TYPES = ["pdq-window"] * 13 + ["pdq-pair-blocks"] * 42 + ["pdq-dihedral"] * 3 + ["pdq-blocks"] * 2 + ["pdq"] * 4


def build(root, enrolled):
    """The folder and the store: (folder, store, files, planted copies)."""
    names = sorted(os.listdir(PHOTOS))
    folder = os.path.join(root, "media")
    os.makedirs(folder)
    for n, name in enumerate(names):
        shutil.copy(os.path.join(PHOTOS, name), os.path.join(folder, "photo-%03d%s" % (n, os.path.splitext(name)[1])))
    entries = []
    for n, name in enumerate(names[:enrolled]):
        path = os.path.join(PHOTOS, name)
        _, edit, options = EDITS[n % len(EDITS)]
        rng = random.Random(n)
        with Image.open(path) as im:
            edit(im.convert("RGB"), rng, None, **options).save(os.path.join(folder, "upload-%03d.jpg" % n), quality=50)
        record = file_record(path)
        for h in record.hashes:
            entries.append(_entry(len(entries) + 1, h.type, h.value, h.quality, record.media))
    store = os.path.join(root, "store.sqlite")
    with LocalStore(store) as local:
        local.apply_page(entries, "1")
    return folder, store, len(names) + enrolled, enrolled


def _entry(key, type_, value, quality, media="image", updated="2026-12-07T10:00:00Z"):
    return {"id": key, "type": type_, "value": value, "quality": quality, "media": media, "status": "active",
            "updated": updated, "disputed": False}


def run(*args):
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", "from takeback.cli import main; main()", "partner", *args], cwd=REPO, env=env,
                          capture_output=True, text=True)
    return time.perf_counter() - started, done.stdout


def spark_job(folder, store, cores, repeats=2):
    """Seconds of scan_media's job alone (the session already up), first and then warm."""
    from pyspark.sql import SparkSession

    from takeback.spark import scan_media

    os.environ["PYSPARK_PYTHON"] = os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    spark = (SparkSession.builder.master("local[%d]" % cores).config("spark.ui.enabled", "false")
             .config("spark.local.dir", tempfile.mkdtemp(prefix="bench-spark-")).getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    times = []
    try:
        for _ in range(repeats):
            media = spark.read.format("binaryFile").load(folder)
            started = time.perf_counter()
            scan_media(spark, media, store).collect()
            times.append(time.perf_counter() - started)
    finally:
        spark.stop()
    return times


def memory(photos, root):
    """Bytes per hash: the pickled broadcast, the unpickled rows, the matcher built from them."""
    from takeback.partner.matcher import Matcher

    rng = random.Random(7)
    entries = []
    for n in range(photos):
        updated = "2026-12-07T10:%02d:%02dZ" % (n // 60 % 60, n % 60)  # one time per photo, as the server enrols
        for t in TYPES:
            entries.append(_entry(len(entries) + 1, t, "%064x" % rng.getrandbits(256), 100, updated=updated))
        entries.append(_entry(len(entries) + 1, "md5", "%032x" % rng.getrandbits(128), None, updated=updated))
        entries.append(_entry(len(entries) + 1, "sha256", "%064x" % rng.getrandbits(256), None, updated=updated))
    with LocalStore(os.path.join(root, "memory-%d.sqlite" % photos)) as store:
        store.apply_page(entries, "1")
        del entries
        rows = store.active_rows()
    pickled = pickle.dumps(rows, pickle.HIGHEST_PROTOCOL)  # as pyspark's Broadcast writes its value
    started = time.perf_counter()
    Matcher.from_rows(rows)  # timed without tracemalloc, which slows allocations
    built = time.perf_counter() - started
    del rows
    tracemalloc.start()
    rows = pickle.loads(pickled)
    unpickled = tracemalloc.get_traced_memory()[0]
    matcher = Matcher.from_rows(rows)
    total = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return len(rows), len(pickled), unpickled, total - unpickled, matcher.index.nbytes, built


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--enrolled", type=int, default=24, help="corpus photos enrolled, each with an edited copy")
    parser.add_argument("--photos-in-index", default="1000,4000,16000",
                        help="synthetic enrolled photos for the memory figures (sizes, comma-separated)")
    parser.add_argument("--memory-only", action="store_true", help="only the memory figures (no scans)")
    args = parser.parse_args()
    cores = 2
    print(measured_on())
    if not args.memory_only:
        scans(args.enrolled, cores)
    print()
    print("Enrolled entries on an executor (synthetic photos of 66 hashes; MB = 10^6 bytes):")
    print()
    print("| photos | hashes | broadcast, pickled (executor JVM, once) | rows unpickled (each Python worker) | "
          "matcher built (each Python worker) | of which PDQ index arrays | index build |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as root:
        for photos in map(int, args.photos_in_index.split(",")):
            hashes, pickled, unpickled, index, nbytes, built = memory(photos, root)
            print("| %s | %s | %.1f MB (%.0f B/hash) | %.1f MB (%.0f B/hash) | %.1f MB (%.0f B/hash) | %.1f MB | %.2f s |"
                  % (format(photos, ","), format(hashes, ","), pickled / 1e6, pickled / hashes, unpickled / 1e6,
                     unpickled / hashes, index / 1e6, index / hashes, nbytes / 1e6, built))


def scans(enrolled, cores):
    """The folder scanned by both, timed; prints the table."""
    with tempfile.TemporaryDirectory() as root:
        folder, store, files, planted = build(root, enrolled)
        scan_seconds, scanned = run("scan", "--workers", str(cores), "--store", store, folder)
        spark_seconds, on_spark = run("spark-scan", "--master", "local[%d]" % cores, "--store", store, folder)
        job = spark_job(folder, store, cores)
    same = sorted(scanned.splitlines()) == on_spark.splitlines()
    matched = len(scanned.splitlines())
    print("%d files (%d corpus photos, %d edited copies of enrolled ones); %d matched by scan, %d by spark-scan, "
          "output %s" % (files, files - planted, planted, matched, len(on_spark.splitlines()),
                         "the same" if same else "DIFFERENT"))
    print()
    print("| how | cores | seconds | files/s | files/s per core |")
    print("| --- | --- | --- | --- | --- |")
    for how, seconds in (("`takeback partner scan --workers 2`", scan_seconds),
                         ("`takeback partner spark-scan --master local[2]` (JVM start included)", spark_seconds),
                         ("scan_media job, first (Python workers start, index built)", job[0]),
                         ("scan_media job, again (workers and index reused)", job[-1])):
        print("| %s | %d | %.1f | %.2f | %.2f |" % (how, cores, seconds, files / seconds, files / seconds / cores))


if __name__ == "__main__":
    main()
