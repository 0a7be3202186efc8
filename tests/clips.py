"""Video clips made at test time from corpus clips, the way phones write them (never stored).

An iPhone records HEVC (H.265, tagged `hvc1`) with AAC sound in a QuickTime .mov, and a portrait
video is stored landscape with a display matrix that turns it. Debian's ffmpeg makes such files
(`make test` installs it when missing)."""
import shutil
import subprocess

import pytest

FFMPEG = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"


def transcode(src, dst, codec="libx265", seconds=6, rotate=0, size=None):
    """`dst` (.mov or .mp4): the first `seconds` of `src` in `codec` (libx265 tagged hvc1, as an
    iPhone writes it, or libx264), with AAC sound when `src` has sound, turned by `rotate`
    degrees on display (metadata only, as a phone does; the pixels stay as recorded)."""
    if not shutil.which(FFMPEG):
        pytest.fail("these tests need Debian's ffmpeg (make test installs it)")
    args = [FFMPEG, "-v", "error", "-y", "-i", str(src), "-t", str(seconds), "-c:v", codec, "-pix_fmt", "yuv420p"]
    if codec == "libx265":
        args += ["-tag:v", "hvc1", "-x265-params", "log-level=error"]
    if size:
        args += ["-vf", "scale=%d:%d" % size]
    args += ["-c:a", "aac", "-b:a", "64k"]
    subprocess.run(args + [str(dst)], check=True, timeout=300)
    if rotate:  # ffmpeg 5.1 writes the display matrix only when copying, not while encoding
        turned = dst.with_name("turned-" + dst.name)
        subprocess.run([FFMPEG, "-v", "error", "-y", "-i", str(dst), "-c", "copy", "-metadata:s:v:0",
                        "rotate=%d" % rotate, str(turned)], check=True, timeout=300)
        turned.replace(dst)
    return dst
