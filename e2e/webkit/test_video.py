"""iPhone videos in WebKit, which decodes HEVC (through GStreamer here, as Safari does natively):
an HEVC .mov made from a corpus clip, landscape and portrait, is hashed on the page and its frames
agree with `takeback hash`'s."""
import collections

import pytest

from hashing import MediaRecord, video_frames
from tests.clips import transcode

from ..conftest import CORPUS, PHOTOS
from ..test_video import MAX_FRAME_BITS, hamming, server_frames

CLIP = CORPUS / "tmk-videos" / "chair-orig-22-sd-bar.mp4"


@pytest.mark.parametrize("rotate", [0, 90], ids=["landscape", "portrait"])
def test_iphone_hevc_video_is_hashed_in_webkit(safari, tmp_path, rotate):
    mov = transcode(CLIP, tmp_path / "IMG_0001.MOV", "libx265", seconds=10, rotate=rotate)
    safari.open()
    safari.click("#start")
    safari.drop([mov, PHOTOS / "mate__Aqua.jpg"])
    assert [state for _, state, _ in safari.states()] == ["done", "done"], safari.states()
    safari.click("#to-review")
    (name, record), _ = safari.review_entries()
    assert name == mov.name and record["media"] == "video"
    times = safari.js("return JSON.parse(document.querySelector('#review-list li').dataset.times)")
    browser = {round(t, 6): f[0].value for t, f in zip(times, video_frames(MediaRecord.from_json(record).hashes))}
    server = {t: frame[0] for t, frame in server_frames(mov).items()}
    common = sorted(set(browser) & set(server))
    distances = collections.Counter(hamming(browser[t], server[t]) for t in common)
    print("\nWebKit, HEVC .mov (%s): PDQ bits differing per frame vs takeback hash: %s"
          % ("portrait" if rotate else "landscape", dict(sorted(distances.items()))))
    assert len(common) >= 0.9 * max(len(browser), len(server)) and len(common) >= 9
    assert max(distances) <= MAX_FRAME_BITS
