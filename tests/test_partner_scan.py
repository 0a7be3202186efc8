"""`takeback partner scan`: planted copies of corpus photos and videos among other corpus media.

The server (real HTTP, SQLite) holds the hashes of some corpus photos and one video, submitted
as the browser would; the platform syncs, then scans a folder where altered copies of those
are planted among other corpus photos, an undecodable file and a text file. The scan must
find exactly the planted copies.

Most alterations are ones plain PDQ is meant to survive: JPEG re-encoding, resizing, and mild
crops (0.5% or 1% trimmed off every edge); three copies are HEIC or AVIF, as phones save them.
Two need the robust hashes: a copy turned a quarter (the upload's whole-picture window against
an enrolled rotation, "pdq-dihedral") and a copy cut to 5% off every edge (the upload's
whole-picture window against an enrolled "pdq-window").
"""
import json
import os
import shutil

import pytest
from PIL import Image

from hashing.match import RULES
from takeback.partner import Matcher
from takeback.partner.scan import scan

from .conftest import make_app
from .partner_support import add_partner, cli, serve

CORPUS = os.environ.get("TAKEBACK_CORPUS", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "corpus"))
PHOTOS = os.path.join(CORPUS, "photos")
VIDEOS = os.path.join(CORPUS, "videos")

ENROLLED = ["tuxpaint__burnt_bark.jpg", "tuxpaint__cliff.jpg", "tuxpaint__corn_maze.jpg", "tuxpaint__lighthouse.jpg",
            "tuxpaint__sheep.jpg", "opencv__baboon.jpg", "tuxpaint__ocean_waves.jpg", "tuxpaint__redwoods_above.jpg"]
OTHERS = ["tuxpaint__jellyfish.jpg", "tuxpaint__mossy_log.jpg", "tuxpaint__mudstone.jpg", "tuxpaint__ocean_splash.jpg",
          "tuxpaint__rocks.jpg", "opencv__apple.jpg", "mate__FreshFlower.jpg"]


def crop(im, share):
    w, h = im.size
    dx, dy = round(w * share), round(h * share)
    return im.crop((dx, dy, w - dx, h - dy))


def resize(im, scale):
    return im.resize((round(im.width * scale), round(im.height * scale)), Image.LANCZOS)


def turn(im):
    return im.transpose(Image.Transpose.ROTATE_90)


RULES_TYPES = {e for e, _ in RULES}

# (planted file, enrolled original, alteration, save options[, the enrolled hash type that must match])
PLANTED = [
    ("inbox/a/upload-01.jpg", "tuxpaint__burnt_bark.jpg", lambda im: im, {"quality": 60}),
    ("inbox/a/upload-02.jpg", "tuxpaint__burnt_bark.jpg", lambda im: crop(im, 0.005), {"quality": 90}),
    ("inbox/upload-03.png", "tuxpaint__cliff.jpg", lambda im: resize(im, 0.5), {}),
    ("inbox/upload-04.jpg", "tuxpaint__cliff.jpg", lambda im: crop(im, 0.01), {"quality": 85}),
    ("inbox/b/upload-05.jpg", "tuxpaint__corn_maze.jpg", lambda im: resize(im, 0.7), {"quality": 75}),
    ("inbox/upload-06.jpg", "tuxpaint__lighthouse.jpg", lambda im: crop(im, 0.01), {"quality": 90}),
    ("inbox/b/upload-07.webp", "tuxpaint__sheep.jpg", lambda im: im, {"quality": 70}),
    ("inbox/upload-08.jpg", "opencv__baboon.jpg", lambda im: resize(crop(im, 0.01), 0.8), {"quality": 80}),
    ("inbox/a/upload-09.jpg", "tuxpaint__cliff.jpg", turn, {"quality": 90}, "pdq-dihedral"),
    ("inbox/c/upload-10.jpg", "tuxpaint__corn_maze.jpg", lambda im: crop(im, 0.05), {"quality": 90}, "pdq-window"),
    # Phone formats: an iPhone's HEIC, a HEIC that a tool renamed .jpg, an AVIF.
    ("inbox/a/IMG_0011.heic", "tuxpaint__lighthouse.jpg", lambda im: im, {"quality": 70}),
    ("inbox/c/upload-12.jpg", "tuxpaint__redwoods_above.jpg", lambda im: im, {"format": "HEIF", "quality": 70}),
    ("inbox/b/upload-13.avif", "opencv__baboon.jpg", lambda im: resize(im, 0.8), {"quality": 70}),
]


@pytest.fixture
def app(tmp_path):
    return make_app("sqlite:///%s" % (tmp_path / "server.sqlite"))


def enrol(client, paths):
    """Submit the files' enrolment records (as the browser hashes them); {(type, value): file name}."""
    from takeback.media import file_record

    records = [file_record(p) for p in paths]
    response = client.post("/api/v1/cases", json={"items": [r.to_json() for r in records]})
    assert response.status_code == 201, response.get_json()
    return {(h.type, h.value): os.path.basename(p) for p, r in zip(paths, records) for h in r.hashes}


def build_folder(root):
    planted = set()
    for name, original, alter, options, *_ in PLANTED:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        alter(Image.open(os.path.join(PHOTOS, original)).convert("RGB")).save(path, **options)
        planted.add(str(path))
    for n, name in enumerate(OTHERS):  # other photos, under neutral names
        folder = root / "inbox" / ("a" if n % 2 else "c")
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(os.path.join(PHOTOS, name), folder / ("photo-%02d%s" % (n, os.path.splitext(name)[1])))
    planted.add(str(root / "inbox" / "c" / "clip-1.mp4"))
    shutil.copy(os.path.join(VIDEOS, "carphone_distorted.mp4"), root / "inbox" / "c" / "clip-1.mp4")
    shutil.copy(os.path.join(VIDEOS, "bikes.mp4"), root / "inbox" / "clip-2.mp4")  # another video
    (root / "inbox" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg" * 10)
    (root / "inbox" / "notes.txt").write_text("not media")
    return planted


@pytest.mark.slow
def test_scan_finds_exactly_the_planted_copies(app, tmp_path):
    if not os.path.isdir(PHOTOS):
        pytest.fail("the test corpus is missing: %s" % PHOTOS)
    token = add_partner(app)
    owner = enrol(app.test_client(), [os.path.join(PHOTOS, n) for n in ENROLLED])
    enrol(app.test_client(), [os.path.join(VIDEOS, "carphone_pristine.mp4")])
    planted = build_folder(tmp_path / "media")
    store = tmp_path / "partner.sqlite"
    with serve(app) as base:
        synced = cli("sync", "--server", base, token=token, store=store)
        assert synced.returncode == 0, synced.stderr

    result = cli("scan", tmp_path / "media" / "inbox", "--workers", 2, store=store, subprocess_=True)
    assert result.returncode == 1  # two files could not be decoded
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert {line["path"] for line in lines} == planted
    assert "\r" not in result.stderr  # no progress bar when stderr is not a terminal
    errors = sorted(line.split(": ")[1] for line in result.stderr.splitlines())
    assert [e.rsplit("/", 1)[1] for e in errors] == ["broken.jpg", "notes.txt"]

    by_path = {line["path"]: line for line in lines}
    matcher = Matcher.from_store(store)
    originals = {}
    for name, original, _, _, *robust in PLANTED:
        line = by_path[str(tmp_path / "media" / name)]
        # Every entry a copy matches is a hash of its own original, by a rule of hashing.match.RULES.
        assert {owner.get((m["type"], m["value"]), "another entry") for m in line["matches"]} == {original}, name
        assert all((m["type"], m["query_type"]) in RULES for m in line["matches"] if m["type"] in RULES_TYPES)
        assert matcher.match_file(str(tmp_path / "media" / name)).to_json() == line  # the Python API agrees
        if robust:
            found = [m for m in line["matches"] if m["type"] == robust[0]]
            assert found and found[0]["distance"] <= RULES[robust[0], found[0]["query_type"]], name
            continue
        pdq = [m for m in line["matches"] if m["type"] == "pdq"]
        assert len(pdq) == 1 and 0 <= pdq[0]["distance"] <= 31 and line["media"] == "image"
        assert pdq[0]["entry_media"] == "image" and pdq[0]["disputed"] is False
        originals.setdefault(original, set()).add(pdq[0]["entry"])
    assert all(len(ids) == 1 for ids in originals.values())  # copies of one photo: one entry
    assert len(set.union(*originals.values())) == len(originals)

    video = by_path[str(tmp_path / "media" / "inbox" / "c" / "clip-1.mp4")]
    assert video["media"] == "video"
    assert video["video"]["rule"] is not None and video["video"]["rule"]["frames"] >= 2
    assert video["video"]["matched_frames"] >= 2
    assert all(m["entry_media"] == "video" and m["frames"] for m in video["matches"])

    # The same scan through the Python API with one process.
    found, failed = [], []
    counts = scan(matcher, [str(tmp_path / "media" / "inbox")], 1,
                  on_result=lambda r: r.matches and found.append(r.path),
                  on_error=lambda path, error: failed.append(path))
    assert set(found) == planted and len(failed) == 2 and counts[1:] == (len(planted), 2)


def test_scan_without_a_store_says_so(tmp_path):
    result = cli("scan", tmp_path, store=tmp_path / "none.sqlite")
    assert result.returncode == 2 and "run `takeback partner sync" in result.stderr


def test_progress_bar_only_when_asked_for_a_terminal():
    import io

    from takeback.partner.scan import Progress

    stream = io.StringIO()
    progress = Progress(2, stream=stream, enabled=True)
    progress.update(1, 0)
    progress.update(0, 1)
    progress.close()
    assert "2/2 files, 1 matched, 1 failed" in stream.getvalue() and stream.getvalue().startswith("\r[")
    quiet = io.StringIO()
    progress = Progress(2, stream=quiet)  # a StringIO is not a terminal
    progress.update(1, 0)
    progress.close()
    assert quiet.getvalue() == ""


def crashing_hash(path):
    """A stand-in for a decoder that kills its process on one file (a segfault in a codec)."""
    if "crash" in os.path.basename(path):
        os._exit(1)
    return path, {"media": "image", "hashes": []}, None


def test_a_worker_that_dies_does_not_stop_the_scan(monkeypatch, tmp_path):
    from takeback.partner import scan as scan_module

    monkeypatch.setattr(scan_module, "_hash_one", crashing_hash)  # the workers are forked after this
    paths = ["a-%02d.jpg" % n for n in range(10)] + ["crash.jpg"] + ["b-%02d.jpg" % n for n in range(10)]
    results = list(scan_module.hashed(paths, workers=2))
    assert [r[0] for r in results] == paths  # every file, in order, once
    assert [r[0] for r in results if r[2]] == ["crash.jpg"]
    assert "decoder crashed" in results[10][2]


@pytest.mark.parametrize("name", [os.path.join(PHOTOS, "tuxpaint__cliff.jpg"), os.path.join(VIDEOS, "carphone_distorted.mp4")])
def test_a_files_bytes_hash_as_the_file_does(name):
    """takeback.spark hashes binaryFile contents, not files: the same records from the bytes."""
    import io

    from takeback.partner.scan import hash_media

    with open(name, "rb") as f:
        content = f.read()
    assert hash_media("x", io.BytesIO(content)) == ("x",) + hash_media(name)[1:]
    _, record, error = hash_media("junk", io.BytesIO(b"not media at all"))
    assert record is None and "not an image or video" in error
