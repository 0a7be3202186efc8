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


def file_record(path):
    """The hash records of one photo or video, decoded and hashed as the browser does."""
    kind = media_kind(path)
    digests = FileDigests()
    for chunk in read_chunks(path):
        digests.update(chunk)
    if kind == "image":
        return hashing.image_record(image_pixels(path), digests.hexdigests())
    frames = hashing.FrameHashes()
    for time, _number, pixels in video_frames(path)[1]:
        frames.add(time, pixels)
    return hashing.video_record(frames, digests.hexdigests())


@main.command("hash")
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=True))
def hash_command(paths):
    """Print the hash records of each photo or video as one JSON line.

    Output per file: {"path": ..., "media": "image" or "video", "hashes": [...]}; a video's
    are the PDQ of one frame per second (at most hashing.MAX_FRAMES, spread evenly over a
    longer video) and its digests. A file that cannot be
    decoded gets an error line on stderr; the others are still hashed and the exit code is 1.
    """
    failed = 0
    for path in paths:
        try:
            record = file_record(path)
        except (DecodeError, hashing.PdqError, hashing.PixelsError, hashing.VideoError) as e:
            failed += 1
            click.echo("takeback hash: %s: %s" % (path, e), err=True)
            continue
        click.echo(json.dumps({"path": path, **record.to_json()}))
    if failed:
        sys.exit(1)


# The server's operator commands live with the server (backend/partners_cli.py).
from backend.partners_cli import database, partners  # noqa: E402

main.add_command(partners)
main.add_command(database)

# The platform's commands (sync, scan, report) live in takeback/partner/.
from .partner.cli import partner  # noqa: E402

main.add_command(partner)
