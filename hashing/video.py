"""Video hashing, compatible with Meta's vPDQ: the PDQ of frames sampled once per second
(more often in a short video: MIN_FRAMES), each followed by the frame's block hash
(hashing.blockhash), which a logo over the middle of every frame damages only where it
covers, and its robust hashes (hashing.robust).

The caller decodes (a <video> element and a canvas in the browser, PyAV on servers) and
hands over the frame shown at each time frame_times() asks for: the last frame whose
timestamp is at or before it. This module turns those frames into hash records and
compares two videos the way vPDQ does.
"""
from collections.abc import Mapping

import math

from .blockhash import frame_block_record
from .borders import trim_borders
from .digests import DIGEST_TYPES
from .hashvalue import HashValue
from .pdq import LumaBlocks, PdqHash
from .pixels import Pixels
from .records import HashRecord, MediaRecord
from .robust import (
    ENROL_FRAME_PAIR_COUNT, FRAME_ASPECTS, OUTER_THIRDS, QUERY_FRAME_PAIR_COUNT, SQUARE_PAIRS,
    frame_enrol_hashes, frame_query_hashes,
)

# A video shorter than MIN_FRAMES seconds is sampled 2, 4, 8 or 16 times a second, enough for
# at least MIN_FRAMES: the rule needs 2 matching frames (3 for pair blocks alone), and a
# 4-second clip or a 2-second cut of one then has 32 frames, not 4 or 2. Each whole second is
# still one of them (as in vPDQ), and every time is a whole number of 1/16 s, exact in binary
# and in microseconds: a time like 1/3 s is not, and where it falls on a frame's own timestamp
# (frame 10 of a 30 fps video) the browser and PyAV rounded it to different frames.
MIN_FRAMES = 20
MAX_PER_SECOND = 16

# A cap on frames per video, spread evenly over a longer one, so that a submission stays
# small (below), and 200 samples still cover a 10-minute video every 3 seconds.
MAX_FRAMES = 200

# A person's video: the extra hashes of a key frame (the centred windows of crops to a
# phone's aspect ratio, the block hashes of its outer thirds, the pair blocks of its keypoints
# and of its squares, hashing.robust: 22 at most in a long video) go with at most this many
# of its sampled frames, spread evenly over it, so that a clip cut from anywhere in it holds
# some. Every frame of a video up to 36 s long is a key frame; a 10-minute video's 200 frames
# each hold a PDQ, a block hash and a window hash (600), and one in 5.5 the key frame's
# hashes (792): with its digests, 1,394 hashes. Only key frames pay for them (in the browser too).
KEY_FRAMES = 36
# The pair blocks of a video, shared out over its key frames (a query's: over all its frames):
# a short video's few frames each take more (up to the MAX), a long one's as many as the
# budget above allows. More windows of keypoint pairs per frame find more crops of a short
# clip, which has few frames to match.
ENROL_VIDEO_PAIRS = ENROL_FRAME_PAIR_COUNT * KEY_FRAMES
ENROL_FRAME_PAIR_MAX = 16
QUERY_VIDEO_PAIRS = QUERY_FRAME_PAIR_COUNT * MAX_FRAMES
QUERY_FRAME_PAIR_MAX = 6
# The most perceptual hashes a video's record holds (the enrolled side's: a shorter video's
# frames share the same budgets; a query's 200 frames hold 3 + OUTER_THIRDS + 2 each, 1,400).
MAX_VIDEO_HASHES = (3 * MAX_FRAMES
                    + (len(FRAME_ASPECTS) + OUTER_THIRDS + ENROL_FRAME_PAIR_COUNT + SQUARE_PAIRS) * KEY_FRAMES)

# Consecutive frames this close are one scene held still: keep the first only (vPDQ
# de-duplicates identical frames; near-identical ones carry no extra evidence either).
DUPLICATE_DISTANCE = 4


class VideoError(ValueError):
    """The video cannot be hashed."""


def frame_times(duration: float, max_frames: int = MAX_FRAMES) -> list[float]:
    """The times (seconds) at which to take a frame of a video `duration` seconds long.

    One per second from 0 (in a video shorter than MIN_FRAMES seconds, 2, 4, 8 or 16 a second,
    at least MIN_FRAMES in all), or max_frames spread evenly over a longer video.
    """
    if not isinstance(duration, (int, float)) or duration != duration or duration < 0:
        raise VideoError("video duration must be a number of seconds, got %r" % (duration,))
    if duration == float("inf"):
        raise VideoError("video has no known duration (a live stream?)")
    per_second = 1
    while per_second < MAX_PER_SECOND and duration * per_second < MIN_FRAMES:
        per_second *= 2
    count = math.ceil(duration * per_second) or 1  # a 3.0 s video's frames end before its very end
    if count <= max_frames:
        return [k / per_second for k in range(count)]
    step = duration / max_frames
    return [k * step for k in range(max_frames)]


class FrameHashes:
    """Collects the hashes of each sampled frame, dropping frames that repeat the previous one.

    Each frame: its PDQ, its block hash and the window hash of its picture (hashing.robust);
    a platform's query (query=True) also its outer thirds' and a few pair blocks
    (hashing.robust.frame_query_hashes); a person's video also a key frame's hashes on
    KEY_FRAMES of its samples spread over it (a key sample that repeats the previous frame is
    dropped with it). Pair blocks per frame: the video's budget shared out (_share)."""

    def __init__(self, query: bool = False, samples: int = MAX_FRAMES) -> None:
        """samples: how many frames the caller will add (len(frame_times(duration))), over
        which the key frames are spread."""
        self.query = query
        self.frames: list[tuple[float, PdqHash]] = []  # (time, PdqHash) in time order
        self.extras: list[list[HashRecord]] = []  # per frame: its block hash, picture window, then the rest
        self.seen = 0
        self._values: set[HashValue] = set()
        step = max(1.0, samples / KEY_FRAMES)
        self._keys = {int(k * step) for k in range(min(samples, KEY_FRAMES))}  # numbers of the key samples
        if query:
            self.pairs = _share(QUERY_VIDEO_PAIRS, samples, QUERY_FRAME_PAIR_COUNT, QUERY_FRAME_PAIR_MAX)
        else:
            self.pairs = _share(ENROL_VIDEO_PAIRS, len(self._keys), ENROL_FRAME_PAIR_COUNT, ENROL_FRAME_PAIR_MAX)

    def add(self, time: float, pixels: Pixels) -> bool:
        """Hash the frame shown at `time` (seconds). Returns True if it was kept."""
        key = self.seen in self._keys
        self.seen += 1
        # Letterbox and pillarbox bars are not the video: without them, a copy that adds
        # or removes bars still matches (vPDQ itself does not trim, and misses those).
        blocks = LumaBlocks(trim_borders(pixels))
        result = blocks.pdq()
        if self.frames and result.hash - self.frames[-1][1].hash <= DUPLICATE_DISTANCE:
            return False
        if result.hash in self._values:  # a scene seen before: one record says it
            return False
        self._values.add(result.hash)
        self.frames.append((time, result))
        robust = frame_query_hashes(blocks, self.pairs) if self.query else frame_enrol_hashes(blocks, key, self.pairs)
        self.extras.append([frame_block_record(blocks, result)] + robust)
        return True

    def records(self) -> list[HashRecord]:
        """Each frame's PDQ record followed by its other records (hashing.match.video_frames
        groups them back into frames). A hash that an earlier frame holds too is left out:
        a record holds no hash twice."""
        out, seen = [], set()
        for (_, result), extras in zip(self.frames, self.extras):
            out.append(HashRecord("pdq", result.hash.hex(), result.quality))
            for r in extras:
                if (r.type, r.value) not in seen:
                    seen.add((r.type, r.value))
                    out.append(r)
        return out


def _share(budget: int, frames: int, least: int, most: int) -> int:
    """Pair blocks per frame: the budget shared out over the frames, within [least, most]."""
    return max(least, min(most, budget // max(1, frames)))


def video_record(frames: FrameHashes, digests: Mapping[str, str]) -> MediaRecord:
    """The hash records of one video: its frames' hashes (FrameHashes) and the file's digests."""
    records = frames.records()
    if not records:
        raise VideoError("no frame of the video could be hashed")
    records += [HashRecord(name, digests[name]) for name in DIGEST_TYPES]
    return MediaRecord("video", records)
