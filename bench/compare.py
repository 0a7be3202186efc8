"""`make bench-compare`: `takeback compare` through the index against every pair compared in turn.

Prints figures; asserts nothing but that both give the same output. The records are made,
not hashed (hashing 4,000 files would dwarf the comparison): 155 enrolled photos of 64
perceptual hashes and 2 digests each, as `takeback hash` enrols them, and 3,875 queries of a
PDQ, 8 robust hashes and 2 digests, as `takeback hash --query` makes them; one query in five is
a copy of an enrolled photo (its hashes a few bits off), the rest are other photos. Every pair
is compared for the first --pairs queries only (all 3,875 would take about 22 minutes at the
0.34 s a query measured here); their output
must be the index's, line for line.
"""
import argparse
import contextlib
import io
import json
import os
import random
import tempfile
import time

from click.testing import CliRunner

from bench import measured_on
from hashing import HashRecord, MediaRecord
from takeback import cli

ENROLLED, QUERIES = 155, 3875
TYPES = ["pdq-window"] * 13 + ["pdq-pair-blocks"] * 42 + ["pdq-dihedral"] * 3 + ["pdq-blocks"] * 2 + ["pdq"] * 4


def _hex(rng, bits=256):
    return "%0*x" % (bits // 4, rng.getrandbits(bits))


def _near(rng, value, bits):
    n = int(value, 16)
    for bit in rng.sample(range(256), bits):
        n ^= 1 << bit
    return "%064x" % n


def make_records(seed=18):
    rng = random.Random(seed)
    enrolled = []
    for _ in range(ENROLLED):
        hashes = [HashRecord(t, _hex(rng), 100) for t in TYPES]
        hashes += [HashRecord("md5", _hex(rng, 128)), HashRecord("sha256", _hex(rng))]
        enrolled.append(MediaRecord("image", hashes))
    queries = []
    for n in range(QUERIES):
        if n % 5 == 0:  # a copy: its PDQ and a window a few bits off the enrolled photo's
            source = enrolled[rng.randrange(ENROLLED)].hashes
            perceptual = [HashRecord(h.type, _near(rng, h.value, rng.randint(0, 20)), 90) for h in source[:9]]
        else:
            perceptual = [HashRecord(t, _hex(rng), 90) for t in ["pdq"] + ["pdq-window"] * 4 + ["pdq-blocks"] * 4]
        queries.append(MediaRecord("image", perceptual + [HashRecord("md5", _hex(rng, 128)),
                                                          HashRecord("sha256", _hex(rng))]))
    return enrolled, queries


def every_pair(enrolled, queries):
    """The former `takeback compare`: every query against every enrolled record."""
    out = io.StringIO()
    for n, query in enumerate(queries):
        matches = []
        for m, record in enumerate(enrolled):
            evidence = cli._compare(record, query)
            if evidence is not None:
                matches.append({"path": "e%d" % m, "evidence": evidence})
        matches.sort(key=lambda m: (-m["evidence"].get("query_share", 1), m["evidence"].get("distance", 0)))
        out.write(json.dumps({"path": "q%d" % n, "matches": matches}) + "\n")
    return out.getvalue()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=400, metavar="N",
                        help="compare the first N queries pair by pair too (0: all %d; about 0.34 s a query here)" % QUERIES)
    args = parser.parse_args(argv)
    enrolled, queries = make_records()
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for name, records in (("e", enrolled), ("q", queries)):
            paths[name] = os.path.join(tmp, name + ".jsonl")
            with open(paths[name], "w") as f:
                for n, r in enumerate(records):
                    f.write(json.dumps({"path": "%s%d" % (name, n), **r.to_json()}) + "\n")
        started = time.perf_counter()
        result = CliRunner().invoke(cli.main, ["compare", "--enrolled", paths["e"], "--query", paths["q"]])
        indexed = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    sample = queries[: args.pairs or QUERIES]
    started = time.perf_counter()
    expected = every_pair(enrolled, sample)
    pairs = time.perf_counter() - started
    assert result.output.splitlines()[: len(sample)] == expected.splitlines(), "the index and every pair disagree"
    matched = sum(bool(json.loads(line)["matches"]) for line in result.output.splitlines())
    print(measured_on())
    print("`takeback compare`, %d queries x %d enrolled photos (%d queries match):" % (QUERIES, ENROLLED, matched))
    print()
    print("| how | queries | seconds | per query | output |")
    print("| --- | --- | --- | --- | --- |")
    print("| through the index (takeback.matching) | %d | %.1f | %.2f ms | |" % (QUERIES, indexed, 1000 * indexed / QUERIES))
    print("| every pair in Python (before) | %d | %.1f | %.0f ms | the same |" % (len(sample), pairs, 1000 * pairs / len(sample)))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
