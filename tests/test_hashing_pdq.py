"""PDQ agrees with Meta's reference C++ implementation on real photos, and its dihedral variants work."""
import collections
import statistics

import pytest

from hashing import DIHEDRAL_NAMES, HashValue, pdq_hash
from tests.corpus import CORPUS, reference_pdq, reference_pixels

REFERENCE = reference_pdq()


@pytest.fixture(scope="module")
def ours():
    """Our PDQ of every reference image, on the same pixels the reference hashed."""
    return {row["path"]: pdq_hash(reference_pixels(row["path"])) for row in REFERENCE}


@pytest.mark.slow
def test_agrees_with_the_reference_implementation(ours, capsys):
    distances, quality_gaps, failures = [], [], []
    for row in REFERENCE:
        result = ours[row["path"]]
        distance = result.hash - HashValue.from_hex(row["pdq"])
        distances.append(distance)
        quality_gaps.append(abs(result.quality - row["quality"]))
        # Meta's criterion for a correct port: within 10 bits wherever the quality is good.
        if row["quality"] >= 80 and distance > 10:
            failures.append("%s: %d bits from the reference" % (row["path"], distance))
    with capsys.disabled():
        print("\nPDQ vs reference C++ on %d images:" % len(distances))
        print("  distance (bits): count", dict(sorted(collections.Counter(distances).items())))
        print("  mean %.2f bits, %.1f%% within 2 bits, max %d" % (
            statistics.mean(distances), 100 * sum(d <= 2 for d in distances) / len(distances), max(distances)))
        print("  quality difference: count", dict(sorted(collections.Counter(quality_gaps).items())))
    assert len(distances) == 116
    assert failures == []
    assert sum(d <= 2 for d in distances) >= 0.95 * len(distances)
    assert statistics.mean(distances) < 1
    assert max(quality_gaps) <= 5


def test_edits_of_one_photo_match_and_different_photos_do_not(ours):
    original = ours["pdq-reference/bridge-mods/aaa-orig.jpg"].hash
    edits = [p for p in ours if p.startswith("pdq-reference/bridge-mods/")]
    assert len(edits) == 12
    for path in edits:
        assert ours[path].hash - original <= 31, path
    photos = [p for p in ours if p.startswith("photos/")]
    for path in photos:
        assert ours[path].hash - original > 31, path


def test_dihedral_variants_match_the_rotated_and_flipped_files(ours):
    variants = ours["pdq-reference/dih/bridge-1-original.jpg"].dihedral()
    assert list(variants) == list(DIHEDRAL_NAMES)
    files = sorted(p for p in ours if p.startswith("pdq-reference/dih/"))
    assert len(files) == 8
    photos = [p for p in ours if p.startswith("photos/")]
    for name, path in zip(DIHEDRAL_NAMES, files):
        variant = variants[name]
        own = variant - ours[path].hash
        assert own <= 31, "%s is %d bits from %s" % (name, own, path)
        # Nearest of the eight orientations, and closer than any other corpus photo.
        nearest = min(files, key=lambda p: variant - ours[p].hash)
        assert nearest == path, name
        for other in photos:
            assert variant - ours[other].hash > own, (name, other)


def test_original_variant_is_the_hash_itself(ours):
    result = ours["photos/opencv__aloeL.jpg"]
    assert result.dihedral()["original"] == result.hash


def test_hash_has_half_its_bits_set(ours):
    # Median thresholding sets 128 bits unless coefficients tie at the median.
    counts = [bin(int(r.hash)).count("1") for r in ours.values() if r.quality >= 50]
    assert statistics.median(counts) == 128


def test_corpus_is_present():
    assert (CORPUS / "expected-pdq.tsv").is_file(), "the shared corpus is missing at %s" % CORPUS
