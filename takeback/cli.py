"""The `takeback` command: the top layer, which mounts every tool's commands.

`hash` and `compare` (here), `partner ...` (the platform's tool, takeback/partner/cli.py; `partner spark-scan` from takeback/spark.py) and
`audit` (takeback/audit.py) need only the core; the server's operator commands (`partners ...`,
`db upgrade`, backend/partners_cli.py) are imported only when one of them runs, so the other
commands never load Flask or SQLAlchemy, and a platform can install Takeback without them.
"""
import importlib
import json
import sys

import click

import hashing

from .audit import audit_command
from .matching import media_candidates
from .media import HASH_ERRORS, file_record
from .partner.cli import partner
from .spark import spark_scan_command
from .submit import SubmitError, submit_case


class _ServerCommand(click.Group):
    """A server command group that stands in for the real one until it is run (see the module docstring)."""

    def __init__(self, name, attribute, help):
        super().__init__(name, help=help)
        self.attribute = attribute

    def real(self):
        try:
            module = importlib.import_module("backend.partners_cli")
        except ImportError as e:
            raise click.ClickException("`takeback %s` needs the server's packages (%s): "
                                       "pip install 'takeback[server]'" % (self.name, e.name)) from None
        return getattr(module, self.attribute)

    def make_context(self, info_name, args, parent=None, **extra):
        return self.real().make_context(info_name, args, parent=parent, **extra)


@click.group(help="Takeback: hash media, match them, scan a platform's uploads, audit a deployment, "
             "run the server's admin tasks.")
def main():
    pass


main.add_command(_ServerCommand("partners", "partners", "The server's partners (platforms that read the feed): "
                                "add, list, publish, unpublish, revoke."))
main.add_command(_ServerCommand("db", "database", "The server's database schema: upgrade."))
main.add_command(_ServerCommand("cases", "cases", "The server's cases: purge a flood still in quarantine."))
partner.add_command(spark_scan_command)  # takeback/spark.py: on Apache Spark, a layer above the partner tool
main.add_command(partner)
main.add_command(audit_command)


@main.command("hash")
@click.option("--query", is_flag=True, help="Hash as a platform checks an upload (query-side hashes).")
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=True))
def hash_command(paths, query):
    """Print the hash records of each photo or video as one JSON line.

    Output per file: {"path": ..., "media": "image" or "video", "hashes": [...]}: a photo's
    PDQ, robust hashes (those a person enrols; with --query, those a platform computes for
    an upload) and digests; a video's are the hashes of one frame per second (at least
    hashing.MIN_FRAMES in a shorter clip, at most hashing.MAX_FRAMES spread evenly over a longer one) and its digests. A file that
    cannot be decoded gets an error line on stderr; the others are still hashed and the
    exit code is 1.
    """
    failed = 0
    for path in paths:
        try:
            record = file_record(path, query=query)
        except HASH_ERRORS as e:
            failed += 1
            click.echo("takeback hash: %s: %s" % (path, e), err=True)
            continue
        click.echo(json.dumps({"path": path, **record.to_json()}))
    if failed:
        sys.exit(1)


@main.command("submit")
@click.option("--server", default="http://127.0.0.1:8000", envvar="TAKEBACK_SERVER", show_default=True,
              help="The Takeback server's base URL (or TAKEBACK_SERVER).")
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False))
def submit_command(paths, server):
    """Hash photos and videos here and submit them as one case; print the receipt.

    Only the hash records are sent (as `takeback hash` prints them), with the server's proof
    of work. Output: one JSON line {"case_id", "pin", "created", "items"}; keep the id and
    PIN to see the case's status or withdraw it. If any file cannot be hashed, nothing is sent.
    """
    records, failed = [], 0
    for path in paths:
        try:
            records.append(file_record(path))
        except (HASH_ERRORS + (OSError,)) as e:
            failed += 1
            click.echo("takeback submit: %s: %s" % (path, e), err=True)
    if failed:
        raise click.ClickException("%d of %d files could not be hashed; nothing was sent" % (failed, len(paths)))
    try:
        receipt = submit_case(server, records)
    except SubmitError as e:
        raise click.ClickException(str(e)) from None
    click.echo(json.dumps(receipt))


def _read_records(path):
    """[(path, MediaRecord)] from a `takeback hash` JSON-lines file; a clear error for a bad line."""
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                if not isinstance(obj, dict) or not isinstance(obj.get("path"), str):
                    raise hashing.RecordError('each line must be a JSON object with a "path"')
                name = obj.pop("path")
                out.append((name, hashing.MediaRecord.from_json(obj)))
            except (ValueError, hashing.RecordError) as e:
                raise click.ClickException("%s line %d: %s" % (path, n, e)) from None
    return out


@main.command("compare")
@click.option("--enrolled", "enrolled_file", required=True, type=click.Path(exists=True, dir_okay=False),
              help="JSON lines from `takeback hash` (the enrolled photos and videos).")
@click.option("--query", "query_file", required=True, type=click.Path(exists=True, dir_okay=False),
              help="JSON lines from `takeback hash --query` (the uploads to check).")
def compare_command(enrolled_file, query_file):
    """Print, per query, the enrolled media it matches, best first, with the evidence.

    One JSON line per query: {"path": ..., "matches": [{"path": enrolled path, "evidence": {...}}]}.
    Photos match by hashing.image_match, videos by hashing.video_match (their frames' PDQ and block hashes).
    """
    enrolled = _read_records(enrolled_file)
    queries = _read_records(query_file)
    # The index finds the enrolled media that share a matching hash with each query; the media-level
    # rule then decides on those only (every match needs such a pair), in enrolled order.
    candidates = media_candidates([record for _, record in enrolled], [query for _, query in queries])
    for (path, query), found in zip(queries, candidates):
        matches = []
        for position in found:
            name, record = enrolled[position]
            evidence = _compare(record, query)
            if evidence is not None:
                matches.append({"path": name, "evidence": evidence})
        matches.sort(key=lambda m: (-m["evidence"].get("query_share", 1), m["evidence"].get("distance", 0)))
        click.echo(json.dumps({"path": path, "matches": matches}))


def _compare(enrolled, query):
    if enrolled.media == "video" or query.media == "video":
        exact = hashing.image_match(_digests_only(enrolled), _digests_only(query))
        if exact is not None:
            return exact
        if enrolled.media == query.media == "video":
            return hashing.video_match(enrolled.hashes, query.hashes)
        return None
    return hashing.image_match(enrolled, query)


def _digests_only(record):
    return hashing.MediaRecord(record.media, [h for h in record.hashes if not h.perceptual] or record.hashes[:1])


