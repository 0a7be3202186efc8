"""Hash values, hash records and the match rule."""
import json

import pytest

from hashing import (
    PDQ_MATCH_DISTANCE, HashRecord, HashValue, MediaRecord, RecordError, hamming, record_distance,
)

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
MD5 = "8c2c541fe16df0de2bd5c922d11416ef"
SHA = "cce5736808efe80d9f04b118dbb978c344d4345672b332718c3e039a3eeb8eee"


def flip(hex_value, nbits):
    """The same hash with its first nbits bits inverted."""
    return HashValue(int(hex_value, 16) ^ ((1 << nbits) - 1), 4 * len(hex_value)).hex()


def test_hash_value_hex_round_trip_and_distance():
    h = HashValue.from_hex(PDQ)
    assert h.hex() == PDQ and str(h) == PDQ
    assert HashValue.from_hex(PDQ.upper()) == h
    assert h - h == 0
    assert h - HashValue.from_hex(flip(PDQ, 31)) == 31
    assert hamming(PDQ, flip(PDQ, 256)) == 256
    assert HashValue.from_bits([1, 0, 1, 1]).hex() == "d"


@pytest.mark.parametrize("text", [PDQ[:-1], PDQ + "0", "g" * 64, "", " " + PDQ[1:]])
def test_hash_value_rejects_bad_hex(text):
    with pytest.raises(ValueError):
        HashValue.from_hex(text)


def test_hashes_of_different_lengths_do_not_compare():
    with pytest.raises(ValueError):
        HashValue.from_hex(PDQ) - HashValue.from_hex(MD5, 128)


def test_media_record_json_round_trip():
    record = MediaRecord("image", [HashRecord("pdq", PDQ, 100), HashRecord("md5", MD5), HashRecord("sha256", SHA)])
    text = json.dumps(record.to_json())
    assert json.loads(text) == {
        "media": "image",
        "hashes": [{"type": "pdq", "value": PDQ, "quality": 100}, {"type": "md5", "value": MD5},
                   {"type": "sha256", "value": SHA}],
    }
    assert MediaRecord.from_json(json.loads(text)) == record


@pytest.mark.parametrize("obj,message", [
    ({"type": "phash", "value": PDQ, "quality": 100}, "unknown hash type"),
    ({"type": "pdq", "value": PDQ[:-2], "quality": 100}, "64 hex digits"),
    ({"type": "pdq", "value": PDQ.upper(), "quality": 100}, "lowercase hex"),
    ({"type": "pdq", "value": PDQ}, "quality must be an integer"),
    ({"type": "pdq", "value": PDQ, "quality": 101}, "quality must be an integer"),
    ({"type": "pdq", "value": PDQ, "quality": -1}, "quality must be an integer"),
    ({"type": "pdq", "value": PDQ, "quality": 50.0}, "quality must be an integer"),
    ({"type": "pdq", "value": PDQ, "quality": True}, "quality must be an integer"),
    ({"type": "md5", "value": MD5, "quality": 100}, "takes no quality"),
    ({"type": "md5", "value": SHA}, "32 hex digits"),
    ({"type": "sha256", "value": 12}, "hex string"),
    ({"type": "md5", "value": MD5, "name": "holiday.jpg"}, "unknown field 'name'"),
    ({"value": MD5}, "missing 'type'"),
    (["md5", MD5], "JSON object"),
])
def test_hash_record_validation(obj, message):
    with pytest.raises(RecordError, match=message):
        HashRecord.from_json(obj)


@pytest.mark.parametrize("obj,message", [
    ({"media": "audio", "hashes": [{"type": "md5", "value": MD5}]}, "media must be one of"),
    ({"media": "image", "hashes": []}, "at least one hash"),
    ({"media": "image", "hashes": {}}, "JSON array"),
    ({"media": "image"}, "missing 'hashes'"),
    ({"media": "image", "hashes": [{"type": "md5", "value": MD5}], "filename": "x.jpg"}, "unknown field"),
    ({"media": "image", "hashes": [{"type": "md5", "value": MD5}, {"type": "md5", "value": MD5}]}, "duplicate"),
    ({"media": "image", "hashes": [{"type": "md5", "value": MD5}, {"type": "md5", "value": "x"}]}, r"hashes\[1\]"),
    ({"media": "image", "hashes": [{"type": "sha256", "value": "%064x" % i} for i in range(1537)]}, "at most 1536"),
])
def test_media_record_validation(obj, message):
    with pytest.raises(RecordError, match=message):
        MediaRecord.from_json(obj)


def test_records_are_immutable():
    record = HashRecord("md5", MD5)
    with pytest.raises(AttributeError):
        record.value = SHA


def test_weak_pdq():
    assert HashRecord("pdq", PDQ, 49).weak
    assert not HashRecord("pdq", PDQ, 50).weak
    assert not HashRecord("md5", MD5).weak


def test_match_rule_pdq_threshold():
    enrolled = HashRecord("pdq", PDQ, 100)
    assert record_distance(enrolled, HashRecord("pdq", PDQ, 90)) == 0
    assert record_distance(enrolled, HashRecord("pdq", flip(PDQ, PDQ_MATCH_DISTANCE), 90)) == 31
    assert record_distance(enrolled, HashRecord("pdq", flip(PDQ, 32), 90)) is None
    assert record_distance(enrolled, HashRecord("pdq", flip(PDQ, 40), 90), max_distance=40) == 40


def test_match_rule_weak_pdq_never_matches_alone():
    assert record_distance(HashRecord("pdq", PDQ, 49), HashRecord("pdq", PDQ, 100)) is None
    assert record_distance(HashRecord("pdq", PDQ, 100), HashRecord("pdq", PDQ, 10)) is None


def test_match_rule_digests_by_equality():
    assert record_distance(HashRecord("md5", MD5), HashRecord("md5", MD5)) == 0
    assert record_distance(HashRecord("md5", MD5), HashRecord("md5", flip(MD5, 1))) is None
    assert record_distance(HashRecord("sha256", SHA), HashRecord("pdq", SHA, 100)) is None
