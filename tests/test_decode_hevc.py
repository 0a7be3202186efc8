"""iPhone videos on the server and platform side: HEVC (hvc1) with AAC sound in a .mov, made from a
corpus clip, hashed by PyAV with the same frame rule as an H.264 MP4; a portrait video (stored
landscape, turned by its display matrix) hashed upright, as browsers show it."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hashing import MediaRecord, Pixels, frame_times, pdq_hash, video_match
from takeback.decode import media_kind, video_frames
from tests.clips import transcode
from tests.corpus import CORPUS

pytestmark = pytest.mark.slow  # `make check` leaves these out

CLIP = CORPUS / "tmk-videos" / "chair-orig-22-sd-bar.mp4"  # 480x720, H.264 + AAC, 22 s
SECONDS = 8
MAX_CODEC_BITS = 16  # one frame, HEVC vs H.264 of the same source at default quality (PDQ's match: 31)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("iphone")
    return {
        "hevc": transcode(CLIP, folder / "IMG_0001.MOV", "libx265", SECONDS),
        "h264": transcode(CLIP, folder / "clip.mp4", "libx264", SECONDS),
        "portrait": transcode(CLIP, folder / "IMG_0002.MOV", "libx265", SECONDS, rotate=90),
    }


def codec_of(path):
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return stream.codec_context.name, stream.codec_tag, [a.codec_context.name for a in container.streams.audio]


def test_the_clips_are_what_an_iphone_writes(clips):
    assert codec_of(clips["hevc"]) == ("hevc", "hvc1", ["aac"])
    assert codec_of(clips["h264"])[0] == "h264"


def test_hevc_mov_hashes_by_the_frame_rule_of_an_mp4(clips):
    assert media_kind(clips["hevc"]) == "video"
    hevc_duration, hevc = video_frames(clips["hevc"])
    h264_duration, h264 = video_frames(clips["h264"])
    assert [t for t, _, _ in hevc] == [t for t, _, _ in h264] == frame_times(h264_duration)
    assert abs(hevc_duration - h264_duration) < 0.1
    distances = [pdq_hash(a).hash - pdq_hash(b).hash for (_, _, a), (_, _, b) in zip(hevc, h264)]
    print("\nPDQ bits differing per frame, HEVC .mov vs H.264 .mp4 of the same clip: %s" % distances)
    assert max(distances) <= MAX_CODEC_BITS


def test_takeback_hash_matches_the_hevc_copy_to_the_original(clips):
    takeback = [str(Path(sys.executable).with_name("takeback")), "hash"]
    out = subprocess.run(takeback + [str(CLIP), str(clips["hevc"])], capture_output=True, text=True, check=True).stdout
    rows = [json.loads(line) for line in out.splitlines()]
    original, iphone = (MediaRecord.from_json({k: v for k, v in row.items() if k != "path"}) for row in rows)
    assert original.media == iphone.media == "video"
    assert video_match(original.hashes, iphone.hashes) is not None


def test_a_portrait_video_is_hashed_upright(clips):
    _, upright = video_frames(clips["portrait"])
    _, stored = video_frames(clips["hevc"])  # the same pixels, with no display matrix
    for (_, _, turned), (_, _, plain) in zip(upright, stored):
        assert (turned.width, turned.height) == (plain.height, plain.width) == (720, 480)
        rgba = np.frombuffer(plain.data, np.uint8).reshape(plain.height, plain.width, 4)
        by_hand = np.ascontiguousarray(np.rot90(rgba))  # a quarter turn counterclockwise
        assert turned.data == by_hand.tobytes()
        assert pdq_hash(turned).hash - pdq_hash(Pixels(720, 480, by_hand.tobytes(), "RGBA")).hash == 0
