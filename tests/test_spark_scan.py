"""`takeback partner spark-scan` and takeback.spark in Spark's local mode: the same matches as
`takeback partner scan` on the same folder, with the same evidence, and nothing else.

The folder is tests/test_partner_scan.py's: edited copies of enrolled corpus photos (crops,
resizes, a quarter turn, HEIC, AVIF) and a re-encoded enrolled video planted among other
corpus photos, another video, an undecodable file and a text file. The store holds the
originals' enrolment records, as `takeback partner sync` leaves them.
"""
import json
import os
import sys

import pytest

from takeback.media import file_record
from takeback.partner import LocalStore

from .partner_support import cli
from .test_partner_scan import ENROLLED, PHOTOS, VIDEOS, build_folder

pyspark = pytest.importorskip("pyspark", reason="pip install '.[spark]'")


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    """One local Spark (2 cores) for the module: its JVM takes ~10 s to start."""
    from pyspark.sql import SparkSession

    scratch = tmp_path_factory.mktemp("spark")
    with pytest.MonkeyPatch.context() as env:
        # The workers' Python is this one (with takeback installed), whatever the environment says;
        # the JVM gets no Java options of the machine's.
        env.setenv("PYSPARK_PYTHON", sys.executable)
        env.setenv("PYSPARK_DRIVER_PYTHON", sys.executable)
        for name in ("SPARK_HOME", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "PYSPARK_SUBMIT_ARGS", "SPARK_CONF_DIR"):
            env.delenv(name, raising=False)
        session = (SparkSession.builder.master("local[2]").appName("takeback-test")
                   .config("spark.ui.enabled", "false")
                   .config("spark.local.dir", str(scratch))
                   .config("spark.driver.extraJavaOptions", "-Djava.io.tmpdir=%s" % scratch)
                   .config("spark.sql.shuffle.partitions", "2")
                   .getOrCreate())
        session.sparkContext.setLogLevel("ERROR")
        try:
            yield session
        finally:
            stop(session)


def stop(session):
    """Stop the session, then the JVM (which stop() leaves running for a next session) and with it
    its Python workers, so the rest of the test run does not carry them."""
    from pyspark import SparkContext

    gateway = SparkContext._gateway
    session.stop()
    if gateway is not None and getattr(gateway, "proc", None) is not None:
        gateway.shutdown()
        gateway.proc.stdin.close()  # the launcher ends the JVM when its stdin closes
        gateway.proc.wait(60)
        SparkContext._gateway = SparkContext._jvm = None


@pytest.fixture(scope="module")
def backlog(tmp_path_factory):
    """(folder, planted paths, store path): the folder and a store of the originals' hashes."""
    if not os.path.isdir(PHOTOS):
        pytest.fail("the test corpus is missing: %s" % PHOTOS)
    root = tmp_path_factory.mktemp("backlog")
    planted = build_folder(root / "media")
    store = LocalStore(root / "partner.sqlite")
    entries = []
    for path in [os.path.join(PHOTOS, n) for n in ENROLLED] + [os.path.join(VIDEOS, "carphone_pristine.mp4")]:
        record = file_record(path)
        for h in record.hashes:
            entries.append({"id": len(entries) + 1, "type": h.type, "value": h.value, "quality": h.quality,
                            "media": record.media, "status": "active", "updated": "2026-12-07T10:00:00Z",
                            "disputed": len(entries) % 5 == 0})
    store.apply_page(entries, "1")
    store.close()
    return root / "media" / "inbox", planted, root / "partner.sqlite"


@pytest.mark.slow
def test_spark_scan_finds_what_partner_scan_finds(spark, backlog):
    folder, planted, store = backlog
    scanned = cli("scan", folder, "--workers", 2, store=store, subprocess_=True)
    on_spark = cli("spark-scan", folder, store=store)  # in this process: the module's Spark session
    assert scanned.returncode == on_spark.returncode == 1  # the broken file and the text file
    expected = [json.loads(line) for line in scanned.stdout.splitlines()]
    found = [json.loads(line) for line in on_spark.stdout.splitlines()]
    assert {f["path"] for f in expected} == planted  # the planted copies, nothing else
    assert sorted(expected, key=lambda f: f["path"]) == found  # the same matches, the same evidence
    assert sorted(scanned.stdout.splitlines()) == on_spark.stdout.splitlines()  # byte for byte
    assert any(f["media"] == "video" and f["video"]["matched_frames"] >= 2 for f in found)
    assert any(m["disputed"] for f in found for m in f["matches"])

    def failed(stderr):
        return sorted(line.split(": ")[1].rsplit("/", 1)[1] for line in stderr.splitlines() if "(skipped)" in line)

    assert failed(scanned.stderr) == failed(on_spark.stderr) == ["broken.jpg", "notes.txt"]


@pytest.mark.slow
def test_scan_media_rows_carry_the_evidence(spark, backlog):
    from takeback.spark import file_results, local_path, scan_media

    folder, planted, store = backlog
    media = spark.read.format("binaryFile").option("recursiveFileLookup", "true").load(str(folder))
    media = media.repartition(3)  # several partitions, and a Python worker reused between them
    rows = [row.asDict() for row in scan_media(spark, media, str(store)).collect()]
    matched = {local_path(r["path"]) for r in rows if r["error"] is None}
    assert matched == planted
    assert all(r["entry"] is not None and r["distance"] >= 0 for r in rows if r["error"] is None)
    errors = sorted(os.path.basename(local_path(r["path"])) for r in rows if r["error"] is not None)
    assert errors == ["broken.jpg", "notes.txt"]
    files, _ = file_results(rows)
    assert len(files) == len(planted)

    # A tighter PDQ distance (`--max-distance`) reaches the executors: fewer matches (photos only, to be quick).
    photos = media.where(~media.path.endswith(".mp4"))
    tight = [row.asDict() for row in scan_media(spark, photos, str(store), max_distance=4).collect()]
    assert 0 < len(tight) < len([r for r in rows if not r["path"].endswith(".mp4")])
    assert all(r["distance"] <= 4 for r in tight if r["type"] == "pdq")
    with pytest.raises(ValueError):
        scan_media(spark, media, str(store), max_distance=99)


def test_spark_scan_without_a_store_says_so(tmp_path):
    result = cli("spark-scan", tmp_path, store=tmp_path / "none.sqlite")
    assert result.returncode == 2 and "run `takeback partner sync" in result.stderr
