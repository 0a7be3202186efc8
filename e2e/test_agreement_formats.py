"""Agreement on the decoding rules themselves: EXIF orientation, colour modes, transparency,
WebP, PNG palettes and a GIF's first frame, browser vs `takeback hash`."""
from PIL import Image

from .conftest import CORPUS
from .test_agreement import MAX_PDQ_BITS, hamming, hash_both_ways


def make_gif(path):
    """Two frames: the browser and Pillow must both hash the first one."""
    first = Image.open(CORPUS / "pdq-reference" / "misc" / "original.jpg").convert("RGB").resize((320, 240))
    second = Image.new("RGB", first.size, (255, 0, 0))
    first.save(path, save_all=True, append_images=[second], duration=100, loop=0)


def rule_files(folder):
    """EXIF orientations, colour modes, WebP, PNG palettes, an animated GIF and an AVIF."""
    files = sorted((CORPUS / "pdq-reference" / "exif-rotn").glob("*.jpg"))
    files += sorted((CORPUS / "pdq-reference" / "misc").iterdir())
    gif = folder / "animated.gif"
    make_gif(gif)
    avif = folder / "photo.avif"
    Image.open(CORPUS / "pdq-reference" / "misc" / "original.jpg").save(avif, quality=80)
    return files + [gif, avif]


def check(files, browser, server, engine):
    print("\n%s vs takeback hash (PDQ bits differing):" % engine)
    rows = []
    for f in files:
        b, s = browser.get(f.name), server.get(f.name)
        if not b or not s:
            rows.append((f.name, None))
            print("  %-24s browser=%s server=%s" % (f.name, bool(b), bool(s)))
            continue
        bh = {h["type"]: h for h in b["hashes"]}
        sh = {h["type"]: h for h in s["hashes"]}
        assert bh["sha256"] == sh["sha256"], f.name
        d = hamming(bh["pdq"]["value"], sh["pdq"]["value"])
        rows.append((f.name, d))
        print("  %-24s %3d bits (quality %d / %d)" % (f.name, d, bh["pdq"]["quality"], sh["pdq"]["quality"]))
    assert all(d is not None and d <= MAX_PDQ_BITS for _, d in rows), rows


def test_decoding_rules_agree(phone, tmp_path):
    files = rule_files(tmp_path)
    browser, server = hash_both_ways(phone, files, timeout=300)
    check(files, browser, server, "Chromium")
