"""The browser's hashes agree with `takeback hash` (Pillow + CPython) for every corpus photo."""
import collections
import json
import subprocess
import sys
from pathlib import Path

from .conftest import REPO, corpus_photos, open_app, pick, review_entries

MAX_PDQ_BITS = 4


def hamming(a, b):
    return bin(int(a, 16) ^ int(b, 16)).count("1")


def hash_both_ways(phone, files, timeout):
    """({file name: record}, {file name: record}): the files hashed in the browser and, in
    its own process meanwhile, by `takeback hash`."""
    takeback = Path(sys.executable).with_name("takeback")
    cli = subprocess.Popen([str(takeback), "hash", *map(str, files)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    context, _ = phone
    page = context.new_page()
    open_app(page)
    page.click("#start")
    pick(page, files, timeout=timeout * 1000)
    page.click("#to-review")
    browser = {name: record for name, record in review_entries(page)}
    out, _ = cli.communicate(timeout=timeout)
    assert cli.returncode == 0
    server = {Path(row["path"]).name: row for row in map(json.loads, out.splitlines())}
    return browser, server


def test_browser_and_takeback_hash_agree(phone):
    photos = corpus_photos()
    browser, server = hash_both_ways(phone, photos, timeout=400)
    assert sorted(browser) == sorted(server) == sorted(p.name for p in photos)

    distances = collections.Counter()
    quality_gaps = collections.Counter()
    robust = collections.Counter()  # the robust hashes, position by position
    worst = []
    for name in sorted(server):
        b = {h["type"]: h for h in browser[name]["hashes"]}
        s = {h["type"]: h for h in server[name]["hashes"]}
        assert b["md5"] == s["md5"] and b["sha256"] == s["sha256"], name
        d = hamming(b["pdq"]["value"], s["pdq"]["value"])
        distances[d] += 1
        quality_gaps[abs(b["pdq"]["quality"] - s["pdq"]["quality"])] += 1
        if d:
            worst.append((d, name))
        b_all, s_all = browser[name]["hashes"], server[name]["hashes"]
        if [h["type"] for h in b_all] != [h["type"] for h in s_all]:
            robust["different windows"] += 1  # a content box found on one side only
        else:
            for bh, sh in zip(b_all, s_all):
                if bh["type"] in ("pdq-window", "pdq-dihedral", "pdq-blocks", "pdq-pair-blocks"):
                    robust[hamming(bh["value"], sh["value"]) // 4 * 4] += 1
    print("\nPDQ bits differing, browser vs takeback hash, %d photos:" % len(server))
    for d in sorted(distances):
        print("  %d bits: %d" % (d, distances[d]))
    print("quality difference: %s" % dict(sorted(quality_gaps.items())))
    print("differing: %s" % sorted(worst, reverse=True)[:10])
    print("robust hashes (windows, turns, blocks), bits differing in bins of 4: %s" % dict(sorted(robust.items(), key=str)))
    assert max(distances) <= MAX_PDQ_BITS, sorted(worst, reverse=True)[:5]
