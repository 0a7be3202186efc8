"""Agreement on the decoding rules themselves: EXIF orientation, colour modes, transparency,
WebP, PNG palettes and a GIF's first frame, browser vs `takeback hash`."""
import json
import subprocess
import sys
from pathlib import Path

from PIL import Image

from .conftest import CORPUS, REPO, open_app, pick, review_entries
from .test_agreement import MAX_PDQ_BITS, hamming


def make_gif(path):
    """Two frames: the browser and Pillow must both hash the first one."""
    first = Image.open(CORPUS / "pdq-reference" / "misc" / "original.jpg").convert("RGB").resize((320, 240))
    second = Image.new("RGB", first.size, (255, 0, 0))
    first.save(path, save_all=True, append_images=[second], duration=100, loop=0)


def test_decoding_rules_agree(phone, tmp_path):
    files = sorted((CORPUS / "pdq-reference" / "exif-rotn").glob("*.jpg"))
    files += sorted((CORPUS / "pdq-reference" / "misc").iterdir())
    gif = tmp_path / "animated.gif"
    make_gif(gif)
    files.append(gif)
    takeback = Path(sys.executable).with_name("takeback")
    cli = subprocess.Popen([str(takeback), "hash", *map(str, files)], cwd=REPO, stdout=subprocess.PIPE, text=True)

    context, _ = phone
    page = context.new_page()
    open_app(page)
    page.click("#start")
    pick(page, files)
    page.click("#to-review")
    browser = {name: record for name, record in review_entries(page)}
    out, _ = cli.communicate(timeout=300)
    assert cli.returncode == 0
    server = {Path(row["path"]).name: row for row in map(json.loads, out.splitlines())}

    print("\nbrowser vs takeback hash (PDQ bits differing):")
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
