"""`make bench-video` (server half): seconds of work per minute of video for `takeback hash`.

Prints figures; asserts nothing. Decoding is PyAV (FFmpeg); hashing is hashing/ in CPython.
Besides the corpus videos it makes a 2-minute 720p H.264 clip (a slow pan over a corpus
photo), the size the browser target is set for.
"""
import pathlib
import tempfile
import time

from PIL import Image

from hashing import FileDigests, FrameHashes, video_record
from takeback.decode import read_chunks, video_frames
from tests.corpus import CORPUS


def make_clip(path, seconds=120, size=(1280, 720), fps=30):
    """A 720p H.264 clip panning across a real photo, written with PyAV."""
    import av

    with Image.open(CORPUS / "photos" / "lomiri1604__Bridge_by_Sander_Klootwijk.jpg") as im:
        wide = im.convert("RGB").resize((size[0] * 2, size[1]))
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        frames = seconds * fps
        for n in range(frames):
            x = int(n * size[0] / frames)
            frame = av.VideoFrame.from_image(wide.crop((x, 0, x + size[0], size[1])))
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def hash_video(path):
    t0 = time.perf_counter()
    duration, frames = video_frames(path)
    t1 = time.perf_counter()
    hashes = FrameHashes(samples=len(frames))
    for moment, _number, pixels in frames:
        hashes.add(moment, pixels)
    t2 = time.perf_counter()
    digests = FileDigests()
    for chunk in read_chunks(path):
        digests.update(chunk)
    video_record(hashes, digests.hexdigests())
    t3 = time.perf_counter()
    return duration, len(frames), t1 - t0, t2 - t1, t3 - t2


def main():
    with tempfile.TemporaryDirectory() as tmp:
        clip = pathlib.Path(tmp) / "pan-720p-2min.mp4"
        make_clip(clip)
        server_table(clip)


def server_table(clip):
    """The server half's table for the 2-minute clip and two corpus videos."""
    videos = [clip, CORPUS / "videos" / "vtest.avi", CORPUS / "tmk-videos" / "chair-orig-22-sd-bar.mp4"]
    print("Server side (`takeback hash`: PyAV decode + hashing/ in CPython), seconds")
    print("| video | length | frames hashed | decode | hash | digests | total | per minute of video |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for path in videos:
        duration, count, decode, hashing_s, digest = hash_video(path)
        total = decode + hashing_s + digest
        print("| %s | %.0f s | %d | %.2f | %.2f | %.2f | %.2f | %.2f |" % (
            path.name, duration, count, decode, hashing_s, digest, total, total * 60 / duration))


if __name__ == "__main__":
    from bench import measured_on

    print(measured_on())
    main()
