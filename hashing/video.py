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

SECONDS_PER_FRAME = 1.0

# A cap on frames per video, spread evenly over a longer one, so that a submission stays
# small: 200 frames (a PDQ and a block hash each) are about 56 KB of JSON as the page sends
# it, and 200 samples still cover a 10-minute video every 3 seconds.
MAX_FRAMES = 200

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
    """Collects the PDQ and block hash of each sampled frame, dropping frames that repeat the previous one."""

    def __init__(self) -> None:
        self.frames: list[tuple[float, PdqHash]] = []  # (time, PdqHash) in time order
        self.blocks: list[HashRecord | None] = []  # the pdq-blocks HashRecord of each of self.frames, None if an earlier frame's
        self.seen = 0
        self._values: set[HashValue] = set()
        self._block_values: set[str] = set()

    def add(self, time: float, pixels: Pixels) -> bool:
        """Hash the frame shown at `time` (seconds). Returns True if it was kept."""
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
        block = frame_block_record(blocks, result)
        # A record holds no hash twice: two frames of one scene may share a block hash.
        self.blocks.append(None if block.value in self._block_values else block)
        self._block_values.add(block.value)
        return True

    def records(self) -> list[HashRecord]:
        """Each frame's PDQ record followed by its pdq-blocks record (hashing.match.video_frames
        groups them back into frames)."""
        out = []
        for (_, result), blocks in zip(self.frames, self.blocks):
            out.append(HashRecord("pdq", result.hash.hex(), result.quality))
            out += [blocks] if blocks else []
        return out


def video_record(frames: FrameHashes, digests: Mapping[str, str]) -> MediaRecord:
    """The hash records of one video: its frames' hashes (FrameHashes) and the file's digests."""
    records = frames.records()
    if not records:
        raise VideoError("no frame of the video could be hashed")
    records += [HashRecord(name, digests[name]) for name in DIGEST_TYPES]
    return MediaRecord("video", records)
