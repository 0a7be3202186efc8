"""Backlog scanning on Apache Spark: a platform's stored media hashed and matched on the executors.

    from takeback.spark import scan_media
    media = spark.read.format("binaryFile").option("recursiveFileLookup", "true").load("s3a://bucket/uploads/")
    matches = scan_media(spark, media, "takeback-partner.sqlite")   # a DataFrame, one row per match
    matches.write.parquet("s3a://bucket/takeback-matches/")

The same pieces as `takeback partner scan`, spread over a cluster: each file is hashed from
its bytes by takeback.media.query_record (the same decoding and hashing/ code) in a pandas
function on an executor, and matched by the partner tool's Matcher, so the same engine
(takeback.matching.FeedMatcher) and the same rule decide. The store's active entries are read
once on the driver and broadcast; each executor's Python worker builds its index from them
once and keeps it for every batch it is given. `takeback partner spark-scan PATH` runs it
(locally, or on a cluster under spark-submit: docs/PARTNER.md). Needs `pip install 'takeback[spark]'`.
"""
import io
import json
import os
import sys
import urllib.parse
import uuid

import click

from takeback.partner.matcher import Matcher, RowFeed
from takeback.partner.scan import hash_media
from takeback.partner.store import LocalStore

# One row per (file, entry) match with Match.to_json's evidence, and one per file that could not
# be hashed (entry null, `error` says why). `video`: the FileResult's video summary, as JSON.
COLUMNS = ("path", "media", "entry", "type", "query_type", "distance", "value", "quality", "entry_media",
           "disputed", "updated", "frames", "video", "error")
SCHEMA = ("path string, media string, entry long, type string, query_type string, distance int, value string, "
          "quality int, entry_media string, disputed boolean, updated string, frames array<int>, video string, "
          "error string")

_matcher_cache: dict = {}  # in an executor's Python worker: the matcher of the scan it is running


def scan_media(spark, media, store, max_distance=31):
    """Match a DataFrame of media files (columns `path` and `content`, as Spark's binaryFile
    source reads them) against the local store at `store`: a DataFrame of SCHEMA, one row per
    match and one per file that could not be decoded. Lazy: nothing runs until it is written
    or collected. max_distance as `takeback partner scan --max-distance`."""
    Matcher(None, max_distance, RowFeed([]))  # a bad max_distance fails here, not on every executor
    with LocalStore(store) as local:
        rows = local.active_rows()
    broadcast = spark.sparkContext.broadcast(rows)
    scan_id = uuid.uuid4().hex  # which matcher a reused Python worker may keep

    def scan_batches(batches):
        return _scan_batches(batches, broadcast, scan_id, max_distance)

    return media.select("path", "content").mapInPandas(scan_batches, SCHEMA)


def _matcher(broadcast, scan_id, max_distance):
    """This worker's matcher for the scan: built once from the broadcast entries, then reused."""
    matcher = _matcher_cache.get(scan_id)
    if matcher is None:
        _matcher_cache.clear()  # an earlier scan's index is not needed any more
        matcher = _matcher_cache[scan_id] = Matcher.from_rows(broadcast.value, max_distance)
    return matcher


def _scan_batches(batches, broadcast, scan_id, max_distance):
    import pandas as pd

    matcher = _matcher(broadcast, scan_id, max_distance)
    for batch in batches:
        rows = []
        for path, content in zip(batch["path"], batch["content"]):
            rows.extend(file_rows(matcher, path, content))
        frame = pd.DataFrame(rows, columns=list(COLUMNS))
        yield frame.astype({"entry": "Int64", "distance": "Int32", "quality": "Int32", "disputed": "boolean"})


def file_rows(matcher, path, content):
    """The rows of one file (its path and bytes): one per match, one if it cannot be decoded, none if clean."""
    _, record, error = hash_media(path, io.BytesIO(content))
    if error is not None:
        return [dict.fromkeys(COLUMNS) | {"path": path, "error": error}]
    result = matcher.match_media(record, path)
    video = json.dumps(result.video) if result.video is not None else None
    return [dict.fromkeys(COLUMNS) | m.to_json() | {"path": path, "media": result.media, "video": video}
            for m in result.matches]


def file_results(rows):
    """Rows of scan_media (dicts) as `takeback partner scan` prints them: (FileResult JSON per
    matched file, [(path, error)]), both in path order; matches nearest first as Matcher orders them."""
    files, errors = {}, []
    for row in rows:
        if row["error"] is not None:
            errors.append((row["path"], row["error"]))
            continue
        found = files.setdefault(row["path"], {"path": row["path"], "media": row["media"], "matches": []})
        match = {key: row[key] for key in ("entry", "type", "query_type", "distance", "value", "quality",
                                          "entry_media", "disputed", "updated")}
        if row["frames"]:
            match["frames"] = list(row["frames"])
        found["matches"].append(match)
        if row["video"] is not None:
            found["video"] = json.loads(row["video"])
    for found in files.values():
        found["matches"].sort(key=lambda m: (m["distance"], m["entry"]))
    return [files[p] for p in sorted(files)], sorted(errors)


def local_path(path):
    """A local file's path as `takeback partner scan` prints it, from Spark's file: URI; others as they are."""
    if path.startswith("file:"):
        return urllib.parse.unquote(urllib.parse.urlsplit(path).path)
    return path


@click.command("spark-scan")
@click.argument("paths", nargs=-1, required=True)
@click.option("--store", "store_path", type=click.Path(dir_okay=False), envvar="TAKEBACK_PARTNER_STORE",
              default="takeback-partner.sqlite", show_default=True, help="The local SQLite store (also TAKEBACK_PARTNER_STORE).")
@click.option("--master", help="Spark master URL (default local[*]; under spark-submit, spark-submit's).")
@click.option("--max-distance", default=31, show_default=True, type=click.IntRange(0, 31),
              help="Bits for a query PDQ (against enrolled PDQs and rotations/flips); windows keep their rule's.")
def spark_scan_command(paths, store_path, master, max_distance):
    """Hash and match every file under PATHS (folders or buckets Spark can read) on Spark.

    The same output as `takeback partner scan`: one JSON line per matching file on stdout;
    files that cannot be decoded on stderr (exit code 1). Files whose names start with "."
    or "_" are skipped (Spark's rule for hidden files). Nothing is sent to the Takeback server.
    """
    if not os.path.exists(store_path):
        click.echo("takeback partner spark-scan: no local store at %s: run `takeback partner sync --server URL` "
                   "first" % store_path, err=True)
        sys.exit(2)
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        click.echo("takeback partner spark-scan: needs PySpark, pandas and pyarrow: pip install 'takeback[spark]'",
                   err=True)
        sys.exit(2)
    running = SparkSession.getActiveSession()
    builder = SparkSession.builder.appName("takeback-spark-scan")
    if master or (running is None and "PYSPARK_GATEWAY_PORT" not in os.environ):  # not under spark-submit
        # Spark's Python workers default to the `python3` on PATH; locally this one has takeback.
        builder = (builder.master(master or "local[*]").config("spark.ui.enabled", "false")
                   .config("spark.pyspark.python", os.environ.get("PYSPARK_PYTHON", sys.executable)))
    spark = builder.getOrCreate()
    if running is None:
        spark.sparkContext.setLogLevel("WARN")
    try:
        media = spark.read.format("binaryFile").option("recursiveFileLookup", "true").load(list(paths))
        rows = [row.asDict() for row in scan_media(spark, media, store_path, max_distance).collect()]
    finally:
        if running is None:
            spark.stop()
    for row in rows:
        row["path"] = local_path(row["path"])
    files, errors = file_results(rows)
    for found in files:
        click.echo(json.dumps(found))
    for path, error in errors:
        click.echo("takeback partner spark-scan: %s: %s (skipped)" % (path, error), err=True)
    if errors:
        sys.exit(1)


if __name__ == "__main__":  # spark-submit runs this file (docs/PARTNER.md)
    spark_scan_command()
