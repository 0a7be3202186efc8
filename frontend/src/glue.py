"""The worker's Python side: hashing/ behind a few small functions called from worker.ts.

Pixels and file chunks arrive as JS Uint8Array proxies and are copied into Python bytes once.
Results go back as JSON strings (or plain numbers), so no Python object outlives a call.
A video job is begin_video, one add_frame per time it returned, update per file slice, and
finish_video; the frame rule (which times, what is kept) lives only in hashing/.
"""
import json

from hashing import admission
from hashing import (
    FileDigests, FrameHashes, Pixels, PdqError, PixelsError, VideoError, frame_times, image_record, video_record,
)

_open = {}
_frames = {}


def begin(job):
    _open[job] = FileDigests()


def update(job, chunk):
    _open[job].update(chunk.to_bytes())


def _error(e):
    code = "too_small" if isinstance(e, PdqError) and "at least" in str(e) else "not_hashable"
    return json.dumps({"error": code, "detail": str(e)})


def finish(job, width, height, rgba):
    digests = _open.pop(job)
    try:
        pixels = Pixels(int(width), int(height), rgba.to_bytes(), "RGBA")
        record = image_record(pixels, digests.hexdigests())
    except (PdqError, PixelsError) as e:
        return _error(e)
    return json.dumps({"record": record.to_json()})


def begin_video(job, duration):
    """The times (seconds) of the frames the page must send, as JSON."""
    try:
        times = frame_times(float(duration))
    except VideoError as e:
        return json.dumps({"error": "video_undecodable", "detail": str(e)})
    _open[job] = FileDigests()
    _frames[job] = FrameHashes(samples=len(times))
    return json.dumps({"times": times})


def add_frame(job, time, width, height, rgba):
    """Hash one frame; returns "" or an error as JSON."""
    try:
        _frames[job].add(float(time), Pixels(int(width), int(height), rgba.to_bytes(), "RGBA"))
    except (PdqError, PixelsError) as e:
        return _error(e)
    return ""


def finish_video(job):
    digests, frames = _open.pop(job), _frames.pop(job)
    try:
        record = video_record(frames, digests.hexdigests())
    except VideoError as e:
        return _error(e)
    return json.dumps({"record": record.to_json(), "times": [t for t, _ in frames.frames]})


def drop(job):
    _open.pop(job, None)
    _frames.pop(job, None)


def work(challenge, body, bits):
    """The proof of work for a case body (the exact text the page POSTs), as decimal digits."""
    data = body.encode("utf-8")
    bits = admission.required_bits(int(bits), admission.case_hashes(data))
    return str(admission.solve(challenge, admission.body_digest(data), bits))
