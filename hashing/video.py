"""Video hashing, compatible with Meta's vPDQ: the PDQ of frames sampled once per second,
each followed by the frame's block hash (hashing.blockhash), which a logo over the middle of
every frame damages only where it covers.

The caller decodes (a <video> element and a canvas in the browser, PyAV on servers) and
hands over the frame shown at each time frame_times() asks for: the last frame whose
timestamp is at or before it. This module turns those frames into hash records and
compares two videos the way vPDQ does.
"""
from collections.abc import Mapping

from .blockhash import frame_block_record
from .borders import trim_borders
from .digests import DIGEST_TYPES
from .hashvalue import HashValue
from .pdq import LumaBlocks, PdqHash
from .pixels import Pixels
from .records import HashRecord, MediaRecord
from .robust import ENROL_FRAME_PAIR_COUNT, FRAME_ASPECTS, frame_enrol_hashes, frame_query_hashes

SECONDS_PER_FRAME = 1.0

# A cap on frames per video, spread evenly over a longer one, so that a submission stays
# small (below), and 200 samples still cover a 10-minute video every 3 seconds.
MAX_FRAMES = 200

# A person's video: the extra hashes of a key frame (the centred windows of crops to a
# phone's aspect ratio and the pair blocks of its keypoints, hashing.robust: 11 at most) go
# with at most this many of its sampled frames, spread evenly over it, so that a clip cut from
# anywhere in it holds some. Every frame of a video up to 36 s long is a key frame; a
# 10-minute video's 200 frames each hold a PDQ, a block hash and a window hash (600), and
# one in 5.5 the key frame's hashes (396): with its digests, 998 hashes. Only key frames pay
# for them (in the browser too).
KEY_FRAMES = 36
# The most perceptual hashes a video's record holds (the enrolled side's; a query's frames
# hold at most 3 + QUERY_FRAME_PAIR_COUNT each).
MAX_VIDEO_HASHES = 3 * MAX_FRAMES + (len(FRAME_ASPECTS) + ENROL_FRAME_PAIR_COUNT) * KEY_FRAMES

# Consecutive frames this close are one scene held still: keep the first only (vPDQ
# de-duplicates identical frames; near-identical ones carry no extra evidence either).
DUPLICATE_DISTANCE = 4


class VideoError(ValueError):
    """The video cannot be hashed."""


def frame_times(duration: float, seconds_per_frame: float = SECONDS_PER_FRAME, max_frames: int = MAX_FRAMES) -> list[float]:
    """The times (seconds) at which to take a frame of a video `duration` seconds long.

    One per second from 0, or max_frames spread evenly over a longer video.
    """
    if not isinstance(duration, (int, float)) or duration != duration or duration < 0:
        raise VideoError("video duration must be a number of seconds, got %r" % (duration,))
    if duration == float("inf"):
        raise VideoError("video has no known duration (a live stream?)")
    count = int(duration // seconds_per_frame) + 1
    if duration and duration % seconds_per_frame == 0:
        count -= 1  # a 3.0 s video has frames at 0, 1 and 2, not at its very end
    if count <= max_frames:
        return [k * seconds_per_frame for k in range(count)]
    step = duration / max_frames
    return [k * step for k in range(max_frames)]


class FrameHashes:
    """Collects the hashes of each sampled frame, dropping frames that repeat the previous one.

    Each frame: its PDQ, its block hash and the window hash of its picture (hashing.robust);
    a platform's query (query=True) also a few pair blocks (hashing.robust.frame_query_hashes);
    a person's video also a key frame's hashes on KEY_FRAMES of its samples spread over it (a
    key sample that repeats the previous frame is dropped with it).
    """

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
        robust = frame_query_hashes(blocks) if self.query else frame_enrol_hashes(blocks, key)
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


def video_record(frames: FrameHashes, digests: Mapping[str, str]) -> MediaRecord:
    """The hash records of one video: its frames' hashes (FrameHashes) and the file's digests."""
    records = frames.records()
    if not records:
        raise VideoError("no frame of the video could be hashed")
    records += [HashRecord(name, digests[name]) for name in DIGEST_TYPES]
    return MediaRecord("video", records)
