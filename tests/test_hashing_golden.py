"""Byte identity of hashing/: the enrol and query records of a fixed set of corpus photos (and
of tests.golden_records.SYNTHETIC pictures with a content box) must hash to the SHA-256s in
tests/golden_records.txt, so that a refactoring of hashing/ cannot change one output bit
unnoticed. The set: 40 of the 116 corpus photos, every size from 34 x 42 to 20 MP, both
orientations, every pixel mode and format of the corpus (13 s; all 116 take 45 s on a loaded
2-core machine: `python -m tests.golden_records --write FILE` before a change and `--check
FILE` after it checks them all, and the corpus videos with --videos).

A deliberate change of bits (a new window, a tuned constant) must regenerate the file in the
same commit, and say so in its message:

    python -m tests.golden_records --names tests/golden_records.txt --write tests/golden_records.txt
"""
import pathlib

import pytest

from tests.golden_records import digest, photo_records, read_golden

GOLDEN_FILE = pathlib.Path(__file__).with_name("golden_records.txt")
GOLDEN = read_golden(GOLDEN_FILE)
NAMES = sorted({name for name, kind in GOLDEN if kind != "video"})


@pytest.mark.parametrize("name", NAMES)
def test_records_are_bit_identical_to_the_golden_ones(name):
    enrol, query = photo_records(name)
    assert (digest(enrol), digest(query)) == (GOLDEN[(name, "enrol")], GOLDEN[(name, "query")]), (
        "%s: its hash records changed; if on purpose, regenerate %s (see this module's docstring)" % (name, GOLDEN_FILE.name))
