"""takeback.partner.Matcher on a local store filled page by page: the shared match rule, refresh, videos."""
import random

from hashing import HashRecord
from takeback.partner import LocalStore, Matcher

from .conftest import flip_bits, pdq_hex


def entry(id_, value, quality=90, media="image", status="active", type_="pdq", disputed=False):
    return {"id": id_, "type": type_, "value": value, "quality": quality, "media": media, "status": status,
            "updated": "2026-11-25", "disputed": disputed}


def test_match_rule_weak_hashes_and_refresh(tmp_path):
    rng = random.Random(1)
    strong, weak, other = pdq_hex(rng), pdq_hex(rng), pdq_hex(rng)
    store = LocalStore(tmp_path / "s.sqlite")
    store.apply_page([entry(1, strong), entry(2, weak, quality=20), entry(3, other, disputed=True),
                      entry(4, "ab" * 16, type_="md5", quality=None)], "10")
    matcher = Matcher.from_store(store.path)
    assert len(matcher) == 2 and 2 not in matcher.index  # a weak PDQ is never indexed
    queries = [HashRecord("pdq", flip_bits(strong, 31, rng), 80), HashRecord("pdq", flip_bits(strong, 32, rng), 80),
               HashRecord("pdq", weak, 90), HashRecord("pdq", strong, 30), HashRecord("md5", "ab" * 16),
               {"type": "pdq", "value": other, "quality": 100}]
    found = matcher.match_records(queries)
    assert [[(m.entry["id"], m.distance) for m in f] for f in found] == [[(1, 31)], [], [], [], [(4, 0)], [(3, 0)]]
    assert found[5][0].to_json()["disputed"] is True

    # Withdraw 1 (a tombstone: no hash), change 3 (no longer disputed), add 5: refresh applies exactly those.
    newer = pdq_hex(rng)
    store.apply_page([{"id": 1, "status": "withdrawn", "updated": "2026-11-26"}, entry(3, other), entry(5, newer)],
                     "20.0")
    assert matcher.match_records([HashRecord("pdq", strong, 90)])[0] == []  # withdrawn: gone before refresh (read from the store)
    assert matcher.refresh() == 3 and matcher.refresh() == 0
    assert 1 not in matcher.index and 5 in matcher.index and len(matcher) == 2
    assert [m.entry["id"] for m in matcher.match_records([HashRecord("pdq", newer, 90)])[0]] == [5]
    assert matcher.match_records([HashRecord("pdq", other, 90)])[0][0].entry["disputed"] is False
    assert store.entry(1) is None and strong not in {e["value"] for e in store.entries()}


def test_video_evidence_is_per_entry_with_frames_and_a_summary(tmp_path):
    rng = random.Random(2)
    frames = [pdq_hex(rng) for _ in range(6)]
    store = LocalStore(tmp_path / "s.sqlite")
    store.apply_page([entry(10 + i, v, media="video") for i, v in enumerate(frames[:4])], "4")
    matcher = Matcher.from_store(store.path)
    query = {"media": "video", "hashes": [{"type": "pdq", "value": flip_bits(frames[0], 5, rng), "quality": 90},
                                          {"type": "pdq", "value": pdq_hex(rng), "quality": 90},
                                          {"type": "pdq", "value": flip_bits(frames[2], 9, rng), "quality": 90},
                                          {"type": "md5", "value": "cd" * 16}]}
    result = matcher.match_media(query, "clip.mp4").to_json()
    assert [(m["entry"], m["distance"], m["frames"]) for m in result["matches"]] == [(10, 5, [0]), (12, 9, [2])]
    assert result["video"]["frames"] == 3 and result["video"]["matched_frames"] == 2
    assert result["video"]["rule"]["frames"] == 2
    # One matching frame is reported, but is not a video match by the rule.
    one = dict(query, hashes=query["hashes"][:2])
    single = matcher.match_media(one).to_json()
    assert len(single["matches"]) == 1 and single["video"]["rule"] is None


def test_video_frames_match_on_their_block_hashes(tmp_path):
    # A logo over every frame: the PDQs are far apart, the frames' block hashes still close.
    rng = random.Random(3)
    pdq, blocks = [pdq_hex(rng) for _ in range(3)], [pdq_hex(rng) for _ in range(3)]
    store = LocalStore(tmp_path / "s.sqlite")
    store.apply_page([entry(20 + i, v, media="video") for i, v in enumerate(pdq)]
                     + [entry(30 + i, v, media="video", type_="pdq-blocks") for i, v in enumerate(blocks)], "6")
    matcher = Matcher.from_store(store.path)
    hashes = []
    for k in range(3):
        hashes += [{"type": "pdq", "value": flip_bits(pdq[k], 60, rng), "quality": 90},
                   {"type": "pdq-blocks", "value": flip_bits(blocks[k], 30, rng), "quality": 90}]
    result = matcher.match_media({"media": "video", "hashes": hashes}, "clip.mp4").to_json()
    assert [(m["entry"], m["type"], m["distance"], m["frames"]) for m in result["matches"]] == [
        (30, "pdq-blocks", 30, [0]), (31, "pdq-blocks", 30, [1]), (32, "pdq-blocks", 30, [2])]
    assert result["video"] == {"frames": 3, "matched_frames": 3, "rule": {
        "query_share": 1.0, "enrolled_share": 1.0, "frames": 3,
        "matches": [{"query_frame": k, "entry": 30 + k, "type": "pdq-blocks", "query_type": "pdq-blocks", "distance": 30}
                    for k in range(3)]}}


def store_of(tmp_path, record, first_id=1):
    """A local store holding a MediaRecord's hashes as feed entries (ids from first_id)."""
    store = LocalStore(tmp_path / "s.sqlite")
    store.apply_page([entry(first_id + n, h.value, quality=h.quality, type_=h.type, media=record.media)
                      for n, h in enumerate(record.hashes)], "1")
    return store


def test_photo_copies_match_by_every_rule(tmp_path, robust_photos):
    """The same file, a turned copy (its whole-picture window against an enrolled rotation/flip) and a copy cut to one
    enrolled window (a query window against that window) all match; another photo does not."""
    from hashing import image_match
    from hashing.match import RULES, WINDOW_MATCH_DISTANCE

    photos = robust_photos
    store = store_of(tmp_path, photos.enrolled)
    matcher = Matcher.from_store(store.path)
    perceptual = [h for h in photos.enrolled.hashes if h.perceptual and h.quality >= 50]
    assert len(matcher) == len(perceptual) and set(matcher.index.types) == {
        "pdq", "pdq-dihedral", "pdq-window", "pdq-blocks", "pdq-pair-blocks"}
    assert all(len(matcher.index[t]) == sum(h.type == t for h in perceptual) for t in matcher.index.types)

    results = {name: matcher.match_file(path) for name, path in photos.paths.items()}
    for name, result in results.items():
        ids = [m.entry["id"] for m in result.matches]
        assert len(ids) == len(set(ids)), name  # one Match per entry
        assert [m.distance for m in result.matches] == sorted(m.distance for m in result.matches)  # nearest first
        for m in result.matches:
            if m.query.perceptual:
                assert (m.entry["type"], m.query.type) in RULES and m.distance <= RULES[m.entry["type"], m.query.type]
        # Whether a copy matches agrees with the per-photo rule, hashing.image_match.
        assert bool(result.matches) == (image_match(photos.enrolled, photos.queries[name]) is not None), name

    def evidence(name):
        return {(m["type"], m["query_type"]) for m in results[name].to_json()["matches"]}

    assert {("pdq", "pdq"), ("md5", "md5"), ("sha256", "sha256"), ("pdq-window", "pdq-window")} <= evidence("same")
    assert results["same"].matches[0].distance == 0
    assert ("pdq-dihedral", "pdq-window") in evidence("turned")
    cropped = [m for m in results["cropped"].matches if m.entry["value"] == photos.window.value]
    assert len(cropped) == 1 and cropped[0].entry["type"] == "pdq-window" and cropped[0].query.type == "pdq-window"
    assert cropped[0].distance <= WINDOW_MATCH_DISTANCE
    assert cropped[0].to_json()["query_type"] == "pdq-window"
    assert results["unrelated"].matches == []

    # Withdrawn entries leave every index at refresh (and never match before it).
    store.apply_page([entry(n + 1, h.value, quality=h.quality, type_=h.type, status="withdrawn")
                      for n, h in enumerate(photos.enrolled.hashes)], "2")
    assert matcher.match_file(photos.paths["turned"]).matches == []
    assert matcher.refresh() == sum(h.perceptual for h in photos.enrolled.hashes) and len(matcher) == 0


def test_a_window_never_matches_a_pdq_unless_the_rules_say_so(tmp_path, monkeypatch):
    import hashing.match
    import pytest

    rng = random.Random(3)
    pdq, window = pdq_hex(rng), pdq_hex(rng)
    store = LocalStore(tmp_path / "s.sqlite")
    store.apply_page([entry(1, pdq), entry(2, window, type_="pdq-window")], "1")
    queries = [HashRecord("pdq-window", flip_bits(pdq, 3, rng), 90), HashRecord("pdq-window", flip_bits(pdq, 11, rng), 90),
               HashRecord("pdq", flip_bits(window, 3, rng), 90), HashRecord("pdq-dihedral", pdq, 90)]
    assert Matcher.from_store(store.path).match_records(queries) == [[], [], [], []]

    monkeypatch.setattr(hashing.match, "RULES", {**hashing.match.RULES, ("pdq", "pdq-window"): 10})
    found = Matcher.from_store(store.path).match_records(queries)
    assert [[(m.entry["id"], m.distance) for m in f] for f in found] == [[(1, 3)], [], [], []]

    # windows within 40 bits (a looser window rule): indexed for 40, PDQ stays at 31
    monkeypatch.setattr(hashing.match, "RULES", {**hashing.match.RULES, ("pdq-window", "pdq-window"): 40})
    matcher = Matcher.from_store(store.path)
    far = [HashRecord("pdq-window", flip_bits(window, d, rng), 90) for d in (36, 40, 41)]
    assert [[(m.entry["id"], m.distance) for m in f] for f in matcher.match_records(far)] == [[(2, 36)], [(2, 40)], []]
    assert (matcher.index["pdq-window"].max_distance, matcher.index["pdq"].max_distance) == (40, 31)
    with pytest.raises(ValueError, match="max_distance must be 0..31"):
        Matcher(store.path, max_distance=32)

    monkeypatch.setattr(hashing.match, "RULES", {**hashing.match.RULES, ("pdq", "pdq-window"): 44})
    with pytest.raises(ValueError, match="MAX_DISTANCE"):
        Matcher.from_store(store.path)


def test_the_stores_rows_in_memory_match_as_the_store_does(tmp_path):
    """Matcher.from_rows (takeback.spark's executors): the same matches and evidence as from_store."""
    rng = random.Random(4)
    values = [pdq_hex(rng) for _ in range(6)]
    store = LocalStore(tmp_path / "s.sqlite")
    store.apply_page([entry(1, values[0]), entry(2, values[1], quality=20), entry(3, values[2], disputed=True),
                      entry(4, "ab" * 16, type_="md5", quality=None), entry(5, values[3], type_="pdq-window"),
                      entry(6, values[4], media="video"), entry(7, values[5], media="video", type_="pdq-blocks"),
                      entry(8, values[0], status="withdrawn")], "8")
    store.apply_page([{"id": 3, "status": "withdrawn", "updated": "2026-11-26"}], "9")
    rows = store.active_rows()
    assert [row[0] for row in rows] == [1, 2, 4, 5, 6, 7] and rows[0][1] is rows[1][1]  # "pdq" stored once
    from_store, in_memory = Matcher.from_store(store.path), Matcher.from_rows(rows)
    assert len(in_memory) == len(from_store) == 4  # the weak PDQ is never indexed
    photo = {"media": "image", "hashes": [{"type": "pdq", "value": flip_bits(values[0], 20, rng), "quality": 90},
                                          {"type": "pdq", "value": values[1], "quality": 90},
                                          {"type": "pdq", "value": values[2], "quality": 90},
                                          {"type": "pdq-window", "value": flip_bits(values[3], 30, rng), "quality": 90},
                                          {"type": "md5", "value": "ab" * 16}]}
    video = {"media": "video", "hashes": [{"type": "pdq", "value": flip_bits(values[4], 3, rng), "quality": 90},
                                          {"type": "pdq-blocks", "value": flip_bits(values[5], 9, rng), "quality": 90}]}
    for query in (photo, video):
        expected = from_store.match_media(query, "x").to_json()
        assert expected["matches"] and in_memory.match_media(query, "x").to_json() == expected
    assert [m["entry"] for m in in_memory.match_media(photo).to_json()["matches"]] == [4, 1, 5]
    for max_distance in (0, 25):  # a query PDQ's distance, as `--max-distance` sets it
        expected = Matcher.from_store(store.path, max_distance).match_media(photo).to_json()
        assert Matcher.from_rows(rows, max_distance).match_media(photo).to_json() == expected
    assert [m["entry"] for m in expected["matches"]] == [4, 1, 5]  # 20 bits off: within 25


def test_a_mirrored_video_matches_through_its_frames_windows(tmp_path):
    """A mirrored copy of a video: no frame's PDQ or block hash is close, each frame's picture
    window is; the summary's rule names, per query frame, the window entry it matched."""
    from PIL import Image

    from hashing import FrameHashes, MediaRecord, Pixels
    from tests.corpus import CORPUS

    names = ["lomiri1604__Bridge_by_Sander_Klootwijk.jpg", "opencv__aloeL.jpg", "opencv__graf1.png",
             "tuxpaint__cliff.jpg"]
    enrolled, query = FrameHashes(), FrameHashes(query=True)
    for t, name in enumerate(names):
        with Image.open(CORPUS / "photos" / name) as im:
            frame = im.convert("RGB").resize((320, 180))
        for frames, shown in ((enrolled, frame), (query, frame.transpose(Image.FLIP_LEFT_RIGHT))):
            frames.add(float(t), Pixels(shown.width, shown.height, shown.tobytes(), "RGB"))
    record = MediaRecord("video", enrolled.records())
    matcher = Matcher.from_store(store_of(tmp_path, record).path)
    result = matcher.match_media(MediaRecord("video", query.records())).to_json()
    rule = result["video"]["rule"]
    assert rule is not None and rule["frames"] == len(names)
    by_id = {n + 1: h for n, h in enumerate(record.hashes)}
    for pair in rule["matches"]:
        assert by_id[pair["entry"]].type == pair["type"] == "pdq-window" and pair["query_type"] == "pdq-window"
    assert sorted(p["query_frame"] for p in rule["matches"]) == list(range(len(names)))
