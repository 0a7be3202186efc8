"""The `takeback` command."""
import json
import sys

import click

import hashing
from hashing import FileDigests

from .decode import DecodeError, image_pixels, media_kind, read_chunks, video_frames


@click.group(help="Takeback: hash media, run the server's admin tasks.")
def main():
    pass


def file_record(path, query=False):
    """The hash records of one photo or video, decoded and hashed as the browser does.

    query=True: a photo gets the query-side hashes a platform computes for an upload
    (hashing.query_hashes) instead of those a person enrols."""
    kind = media_kind(path)
    digests = FileDigests()
    for chunk in read_chunks(path):
        digests.update(chunk)
    if kind == "image":
        return hashing.image_record(image_pixels(path), digests.hexdigests(), query=query)
    frames = hashing.FrameHashes()
    for time, _number, pixels in video_frames(path)[1]:
        frames.add(time, pixels)
    return hashing.video_record(frames, digests.hexdigests())


@main.command("hash")
@click.option("--query", is_flag=True, help="Hash as a platform checks an upload (query-side hashes).")
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=True))
def hash_command(paths, query):
    """Print the hash records of each photo or video as one JSON line.

    Output per file: {"path": ..., "media": "image" or "video", "hashes": [...]}: a photo's
    PDQ, robust hashes (those a person enrols; with --query, those a platform computes for
    an upload) and digests; a video's are the PDQ of one frame per second (at most
    hashing.MAX_FRAMES, spread evenly over a longer video) and its digests. A file that
    cannot be decoded gets an error line on stderr; the others are still hashed and the
    exit code is 1.
    """
    failed = 0
    for path in paths:
        try:
            record = file_record(path, query=query)
        except (DecodeError, hashing.PdqError, hashing.PixelsError, hashing.VideoError) as e:
            failed += 1
            click.echo("takeback hash: %s: %s" % (path, e), err=True)
            continue
        click.echo(json.dumps({"path": path, **record.to_json()}))
    if failed:
        sys.exit(1)


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
    for path, query in _read_records(query_file):
        matches = []
        for name, record in enrolled:
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


# The server's operator commands live with the server (backend/partners_cli.py).
from backend.partners_cli import database, partners  # noqa: E402

main.add_command(partners)
main.add_command(database)

# The platform's commands (sync, scan, report) live in takeback/partner/.
from .partner.cli import partner  # noqa: E402

main.add_command(partner)

# Auditors: does a deployment serve exactly the reviewed frontend (docs/AUDIT.md)?
from .audit import audit_command  # noqa: E402

main.add_command(audit_command)
