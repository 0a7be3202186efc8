"""A file's hash records, decoded and hashed on this machine as the person's browser does.

The one place that decides how a photo or video file becomes a hashing.MediaRecord outside the
browser: `takeback hash` prints file_record(), a platform's scan and Matcher.match_file() use
query_record() (takeback.spark: from the file's bytes), the tests compare the browser's records with both.
"""
import hashing
from hashing import FileDigests, MediaRecord

from .decode import DecodeError, Source, image_pixels, media_kind, read_chunks, video_frames

# What file_record() raises for a file it cannot hash: undecodable, too large, no frames, ...
HASH_ERRORS = (DecodeError, hashing.PdqError, hashing.PixelsError, hashing.VideoError)


def file_record(path: Source, query: bool = False) -> MediaRecord:
    """The hash records of one photo or video (a hashing.MediaRecord): a path, or the file's bytes
    in a binary file object (io.BytesIO; a Spark executor has no file, only its content).

    A photo: its PDQ, the robust hashes a person enrols (query=True: those a platform computes
    for an upload, hashing.query_hashes) and md5 + sha256. A video: the PDQ, block hash and
    window hashes of one frame per second (more in a short clip: hashing.frame_times; the enrolled side's windows or
    the query's, hashing.FrameHashes) and its digests. Raises one of HASH_ERRORS.
    """
    kind = media_kind(path)
    digests = FileDigests()
    for chunk in read_chunks(path):
        digests.update(chunk)
    if kind == "image":
        return hashing.image_record(image_pixels(path), digests.hexdigests(), query=query)
    sampled = video_frames(path)[1]
    frames = hashing.FrameHashes(query=query, samples=len(sampled))
    for time, _number, pixels in sampled:
        frames.add(time, pixels)
    return hashing.video_record(frames, digests.hexdigests())


def query_record(path: Source) -> MediaRecord:
    """How a platform's file is hashed for a query (`takeback hash --query`)."""
    return file_record(path, query=True)
