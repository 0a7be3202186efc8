"""`takeback submit FILES...` against a live server (werkzeug in a thread), with proof of work."""
import hashlib
import json
import socket
import threading

import pytest
from click.testing import CliRunner
from PIL import Image

from backend import storage
from hashing import admission
from takeback.cli import main
from takeback.media import file_record


@pytest.fixture
def server(app_factory):
    from werkzeug.serving import make_server

    app = app_factory(ADMISSION=True, ADMISSION_BITS=10)
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, "http://127.0.0.1:%d" % httpd.server_port
    finally:
        httpd.shutdown()
        thread.join(10)


def photo(path, seed):
    Image.effect_mandelbrot((320, 240), (-2 + seed / 10, -1.2, 1, 1.2), 60).convert("RGB").save(path)
    return path


def run(*args):
    return CliRunner().invoke(main, ["submit", *map(str, args)])


def test_submit_hashes_solves_and_prints_the_receipt(server, tmp_path):
    app, url = server
    files = [photo(tmp_path / "a.png", 1), photo(tmp_path / "b.png", 2)]
    result = run("--server", url, *files)
    assert result.exit_code == 0, result.output
    (line,) = result.stdout.splitlines()
    receipt = json.loads(line)
    assert {"case_id", "pin", "created", "items"} <= set(receipt)
    with app.app_context():
        items = storage.case_items(receipt["case_id"])
        assert [i.media for i in items] == ["image", "image"]
    status = app.test_client().get("/api/v1/cases/" + receipt["case_id"], headers={"X-Case-PIN": receipt["pin"]})
    assert status.status_code == 200
    # What was sent is what `takeback hash` computes: the feed holds the files' sha256.
    with app.app_context():
        from backend.models import FeedEntry, db

        values = set(db.session.scalars(db.select(FeedEntry.value).where(FeedEntry.type == "sha256")))
    assert values == {hashlib.sha256(f.read_bytes()).hexdigest() for f in files}
    assert file_record(files[0]).hashes[0].value in {e for e in _all_values(app)}


def _all_values(app):
    from backend.models import FeedEntry, db

    with app.app_context():
        return set(db.session.scalars(db.select(FeedEntry.value)))


def test_undecodable_files_send_nothing(server, tmp_path):
    app, url = server
    bad = tmp_path / "notes.jpg"
    bad.write_bytes(b"not a photo at all")
    result = run("--server", url, photo(tmp_path / "a.png", 1), bad)
    assert result.exit_code == 1
    assert "notes.jpg" in result.output and "nothing was sent" in result.output
    assert _all_values(app) == set()
    missing = run("--server", url, tmp_path / "missing.png")
    assert missing.exit_code != 0 and "missing.png" in missing.output


def test_unreachable_server(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    result = run("--server", "http://127.0.0.1:%d" % port, photo(tmp_path / "a.png", 1))
    assert result.exit_code == 1
    assert "cannot reach the server at http://127.0.0.1:%d" % port in result.output


def test_http_errors_are_reported(server, tmp_path, monkeypatch):
    _, url = server
    # A client whose work is wrong: the server's 400 and its detail reach the person.
    verify = admission.verify
    monkeypatch.setattr(admission, "solve", lambda c, d, bits: next(n for n in range(1000) if not verify(c, d, bits, str(n))))
    result = run("--server", url, photo(tmp_path / "a.png", 1))
    assert result.exit_code == 1
    assert "the server answered 400: X-Takeback-Work does not solve the challenge" in result.output
    result = run("--server", url + "/nothing-here", photo(tmp_path / "a.png", 1))
    assert result.exit_code == 1 and "the server answered 404" in result.output
