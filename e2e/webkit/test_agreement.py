"""WebKit's hashes agree with `takeback hash` (Pillow + CPython): every corpus photo, PDQ within
4 bits, digests equal. WebKit decodes with its own JPEG and PNG code paths (libjpeg-turbo and
libpng through WebCore's image decoders), not Chromium's (Skia); the printed distribution shows
where they differ."""
from ..conftest import corpus_photos
from ..test_agreement import MAX_PDQ_BITS, compare, takeback_hash
from ..test_agreement_formats import check, rule_files


def test_webkit_and_takeback_hash_agree(safari):
    photos = corpus_photos()
    server = takeback_hash(photos)
    safari.open()
    safari.click("#start")
    safari.drop(photos, timeout=600)
    safari.click("#to-review")
    browser = dict(safari.review_entries())
    server = server(600)
    assert sorted(browser) == sorted(server) == sorted(p.name for p in photos)
    distances, worst = compare(browser, server, "WebKit")
    assert max(distances) <= MAX_PDQ_BITS, worst[:5]


def test_webkit_decoding_rules_agree(safari, tmp_path):
    files = rule_files(tmp_path)
    server = takeback_hash(files)
    safari.open()
    safari.click("#start")
    safari.drop(files)
    safari.click("#to-review")
    check(files, dict(safari.review_entries()), server(300), "WebKit")
