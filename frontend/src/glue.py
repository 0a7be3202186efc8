"""The worker's Python side: hashing/ behind three small functions called from worker.ts.

Pixels and file chunks arrive as JS Uint8Array proxies and are copied into Python bytes once.
Results go back as JSON strings, so no Python object outlives a call.
"""
import json

from hashing import FileDigests, Pixels, PdqError, PixelsError, image_record

_open = {}


def begin(job):
    _open[job] = FileDigests()


def update(job, chunk):
    _open[job].update(chunk.to_bytes())


def finish(job, width, height, rgba):
    digests = _open.pop(job)
    try:
        pixels = Pixels(int(width), int(height), rgba.to_bytes(), "RGBA")
        record = image_record(pixels, digests.hexdigests())
    except PdqError as e:
        return json.dumps({"error": "too_small" if "at least" in str(e) else "not_hashable", "detail": str(e)})
    except PixelsError as e:
        return json.dumps({"error": "not_hashable", "detail": str(e)})
    return json.dumps({"record": record.to_json()})


def drop(job):
    _open.pop(job, None)
