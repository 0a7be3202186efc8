"""iPhone photos and bad files in WebKit. WebKitGTK cannot decode HEIC (Safari can: there the
app uses Safari's own decoder), so here the app's libheif decoder runs, fetched only then; the
records agree with `takeback hash`. Damaged, empty, huge and lying files get their messages and
nothing is sent for them."""
import json

from takeback.media import file_record

from ..test_bad_files import mixed_files
from ..test_heic import DECODER, MAX_PDQ_BITS, hamming, heics  # noqa: F401 (a fixture)


def test_heic_photos_hash_like_takeback_hash_in_webkit(safari, served, heics):  # noqa: F811
    safari.open()
    assert not [r for r in served.wire.requests if DECODER.match(r["path"])]  # not on a cold visit
    safari.click("#start")
    safari.drop(heics)
    assert [state for _, state, _ in safari.states()] == ["done"] * len(heics), safari.states()
    assert len({r["path"] for r in served.wire.requests if DECODER.match(r["path"])}) == 3
    safari.click("#to-review")
    distances = {}
    for name, record in safari.review_entries():
        server = file_record(next(p for p in heics if p.name == name)).to_json()
        assert {h["type"] for h in record["hashes"]} == {h["type"] for h in server["hashes"]}, name
        b = {h["type"]: h for h in record["hashes"]}
        s = {h["type"]: h for h in server["hashes"]}
        assert b["sha256"] == s["sha256"]
        distances[name] = hamming(b["pdq"]["value"], s["pdq"]["value"])
    print("\nWebKit (libheif.wasm) vs takeback hash (pillow-heif), PDQ bits differing: %s" % distances)
    assert len(distances) == len(heics) and max(distances.values()) <= MAX_PDQ_BITS


def test_bad_files_are_refused_and_the_others_sent_in_webkit(safari, served, tmp_path):
    files = mixed_files(tmp_path)
    safari.open()
    safari.click("#start")
    safari.drop([tmp_path / name for name in files])
    rows = safari.states()
    states = {n: s for n, s, _ in rows}
    messages = {n: m for n, _, m in rows}
    assert states == {**{n: "error" for n in list(files)[:7]}, **{n: "done" for n in list(files)[7:]}}, messages
    assert "incomplete or damaged" in messages["cut.heic"] and "incomplete or damaged" in messages["nothing.heic"]
    assert "empty" in messages["zero.heic"]
    assert all("too large" in messages[n] for n in ("huge.png", "bomb.png", "bomb.jpg", "bomb.heic")), messages
    safari.click("#to-review")
    entries = safari.review_entries()
    assert [(name, record["media"]) for name, record in entries] == [
        ("png-named.heic", "image"), ("video-named.jpg", "video"), ("photo.jpg", "image")]
    assert [r for r in served.wire.requests if r["method"] != "GET"] == []
    safari.click("#submit")
    safari.wait("!document.getElementById('screen-receipt').hidden", what="the receipt")
    (post,) = [r for r in served.wire.requests if r["method"] != "GET"]
    assert json.loads(post["body"])["items"] == [record for _, record in entries]
