"""Takeback's hashing core: pure standard-library Python.

The same files run in CPython (server, platforms, `takeback hash`) and in Pyodide (the
person's browser), so a photo gets the same hash records wherever it is hashed. Decoding
is the caller's job: this package takes decoded pixels and file bytes.
"""
from collections.abc import Mapping

from .digests import DIGEST_TYPES, FileDigests, digest_chunks
from .hashvalue import HashValue, hamming
from .borders import trim_borders
from .match import (
    FRAME_TYPES, PDQ_MATCH_DISTANCE, can_match, frame_numbers, frames_match, image_match, record_distance, video_frames,
    video_match, video_shares,
)
from .pdq import DIHEDRAL_NAMES, LumaBlocks, PdqError, PdqHash, pdq_hash
from .pixels import Pixels, PixelsError
from .robust import enrol_hashes, query_hashes
from .records import MEDIA_TYPES, SIGNAL_TYPES, WEAK_QUALITY, HashRecord, MediaRecord, RecordError
from .video import MAX_FRAMES, MIN_FRAMES, FrameHashes, VideoError, frame_times, video_record


def image_record(pixels: Pixels, digests: Mapping[str, str], query: bool = False) -> MediaRecord:
    """The hash records of one photo: PDQ of its pixels, robust hashes, and the file's digests.

    `digests` is FileDigests.hexdigests() (or the same dict) of the file's bytes. A person
    enrolling a photo sends its enrolment hashes; a platform checking an upload computes
    the (fewer) query hashes instead (query=True).
    """
    blocks = LumaBlocks(pixels)  # one pass over the pixels for every hash
    result = blocks.pdq()
    hashes = [HashRecord("pdq", result.hash.hex(), result.quality)]
    hashes += (query_hashes if query else enrol_hashes)(pixels, blocks)
    hashes += [HashRecord(name, digests[name]) for name in DIGEST_TYPES]
    return MediaRecord("image", hashes)


__all__ = [
    "DIGEST_TYPES", "FileDigests", "digest_chunks", "HashValue", "hamming", "PDQ_MATCH_DISTANCE", "can_match",
    "record_distance", "image_match", "enrol_hashes", "query_hashes", "PdqError", "PdqHash", "pdq_hash", "DIHEDRAL_NAMES",
    "Pixels", "PixelsError", "MEDIA_TYPES",
    "SIGNAL_TYPES", "WEAK_QUALITY", "HashRecord", "MediaRecord", "RecordError", "image_record",
    "video_match", "video_shares", "video_frames", "frames_match", "frame_numbers", "FRAME_TYPES", "trim_borders", "MAX_FRAMES",
    "MIN_FRAMES", "FrameHashes", "VideoError",
    "frame_times", "video_record",
]
