"""takeback.partner.Matcher on a local store filled page by page: the shared match rule, refresh, videos."""
import random

from hashing import HashRecord
from takeback.partner import LocalStore, Matcher

from .conftest import flip_bits, pdq_hex


def entry(id_, value, quality=90, media="image", status="active", type_="pdq", not_violating=0):
    return {"id": id_, "type": type_, "value": value, "quality": quality, "media": media, "status": status,
            "updated": "2026-11-25", "not_violating": not_violating}


def test_match_rule_weak_hashes_and_refresh(tmp_path):
    rng = random.Random(1)
    strong, weak, other = pdq_hex(rng), pdq_hex(rng), pdq_hex(rng)
    store = LocalStore(tmp_path / "s.sqlite")
    store.apply_page([entry(1, strong), entry(2, weak, quality=20), entry(3, other, not_violating=4),
                      entry(4, "ab" * 16, type_="md5", quality=None)], "10")
    matcher = Matcher.from_store(store.path)
    assert len(matcher) == 2 and 2 not in matcher.index  # a weak PDQ is never indexed
    queries = [HashRecord("pdq", flip_bits(strong, 31, rng), 80), HashRecord("pdq", flip_bits(strong, 32, rng), 80),
               HashRecord("pdq", weak, 90), HashRecord("pdq", strong, 30), HashRecord("md5", "ab" * 16),
               {"type": "pdq", "value": other, "quality": 100}]
    found = matcher.match_records(queries)
    assert [[(m.entry["id"], m.distance) for m in f] for f in found] == [[(1, 31)], [], [], [], [(4, 0)], [(3, 0)]]
    assert found[5][0].to_json()["not_violating"] == 4

    # Withdraw 1, change 3 (a new not_violating count), add 5: refresh applies exactly those.
    newer = pdq_hex(rng)
    store.apply_page([entry(1, strong, status="withdrawn"), entry(3, other, not_violating=5), entry(5, newer)], "20")
    assert matcher.match_records([HashRecord("pdq", strong, 90)])[0] == []  # withdrawn: gone before refresh (read from the store)
    assert matcher.refresh() == 3 and matcher.refresh() == 0
    assert 1 not in matcher.index and 5 in matcher.index and len(matcher) == 2
    assert [m.entry["id"] for m in matcher.match_records([HashRecord("pdq", newer, 90)])[0]] == [5]
    assert matcher.match_records([HashRecord("pdq", other, 90)])[0][0].entry["not_violating"] == 5


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
