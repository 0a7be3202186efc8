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


def takeback_hash(files):
    """`takeback hash` started in its own process: call the result to get {file name: record}."""
    takeback = Path(sys.executable).with_name("takeback")
    cli = subprocess.Popen([str(takeback), "hash", *map(str, files)], cwd=REPO, stdout=subprocess.PIPE, text=True)

    def result(timeout):
        out, _ = cli.communicate(timeout=timeout)
        assert cli.returncode == 0
        return {Path(row["path"]).name: row for row in map(json.loads, out.splitlines())}

    return result


def hash_both_ways(phone, files, timeout):
    """({file name: record}, {file name: record}): the files hashed in the browser and, in
    its own process meanwhile, by `takeback hash`."""
    server = takeback_hash(files)
    context, _ = phone
    page = context.new_page()
    open_app(page)
    page.click("#start")
    pick(page, files, timeout=timeout * 1000)
    page.click("#to-review")
    browser = {name: record for name, record in review_entries(page)}
    return browser, server(timeout)


def compare(browser, server, engine):
    """Prints how far the browser's hashes are from `takeback hash`'s; returns
    {PDQ bits differing: count} and the files that differ, worst first."""
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
    worst.sort(reverse=True)
    print("\nPDQ bits differing, %s vs takeback hash, %d photos:" % (engine, len(server)))
    for d in sorted(distances):
        print("  %d bits: %d" % (d, distances[d]))
    print("quality difference: %s" % dict(sorted(quality_gaps.items())))
    print("differing: %s" % worst[:10])
    print("robust hashes (windows, turns, blocks), bits differing in bins of 4: %s" % dict(sorted(robust.items(), key=str)))
    return distances, worst


def test_browser_and_takeback_hash_agree(phone):
    photos = corpus_photos()
    browser, server = hash_both_ways(phone, photos, timeout=400)
    assert sorted(browser) == sorted(server) == sorted(p.name for p in photos)
    distances, worst = compare(browser, server, "Chromium")
    assert max(distances) <= MAX_PDQ_BITS, worst[:5]
