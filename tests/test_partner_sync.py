"""`takeback partner sync` against the real server on a local port, on SQLite and PostgreSQL."""
import random
import signal
import sqlite3
import threading
import time

import pytest

from backend import storage
from takeback.partner import LocalStore, Matcher, PartnerClient, PartnerError, StoreError, sync

from .conftest import media_record, read_feed, submit
from .partner_support import add_partner, cli, feed_snapshot, serve, store_snapshot


def test_sync_while_cases_are_created_and_withdrawn(app, partner, tmp_path):
    token = add_partner(app, "syncing-platform")
    errors = []

    def writer(number):
        try:
            client = app.test_client()
            rng = random.Random(number)
            for n in range(12):
                items = [media_record("shared-%d" % rng.randrange(4)), media_record("own-%d-%d" % (number, n))]
                receipt = submit(client, *items)
                if n % 3:
                    body = {} if n % 3 == 2 else {"items": [rng.choice([1, 2])]}
                    response = client.post("/api/v1/cases/%s/withdraw" % receipt["case_id"], json=body,
                                           headers={"X-Case-PIN": receipt["pin"]})
                    assert response.status_code == 200
                if n % 4 == 0:  # another platform's feedback changes entries too (disputed)
                    entries, _ = read_feed(client, partner)
                    entry = [e for e in entries if e["status"] == "active"][-1]
                    response = client.post("/api/v1/partner/feedback", headers=partner, json={"feedback": [
                        {"id": entry["id"], "value": entry["value"], "outcome": "not_violating"}]})
                    assert response.status_code == 200
        except BaseException as e:
            errors.append(e)

    with serve(app) as base:
        client = PartnerClient(base, token)
        store = LocalStore(tmp_path / "partner.sqlite")
        threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
        for t in threads:
            t.start()
        syncs = dropped = 0
        while any(t.is_alive() for t in threads):
            dropped += sync(client, store, page_size=7)["dropped"]
            syncs += 1
        for t in threads:
            t.join()
        assert not errors, errors
        dropped += sync(client, store, page_size=7)["dropped"]
        # The feed as a platform reading it from the beginning now sees it: the active entries.
        server_feed, cursor = read_feed(app.test_client(), {"Authorization": "Bearer " + token})

        local = store_snapshot(store)
        assert local == feed_snapshot(server_feed)
        assert store.cursor.split(".")[0] == cursor.split(".")[0]
        assert {e["status"] for e in local.values()} == {"active"}  # tombstones deleted their entries
        assert dropped > 0
        assert any(e["disputed"] for e in local.values())
        assert syncs > 1
        # The matcher indexes exactly the active, matchable PDQ entries.
        matcher = Matcher.from_store(store.path)
        active_pdq = {i for i, e in local.items() if e["type"] == "pdq" and e["status"] == "active"}
        assert len(matcher) == len(active_pdq) and all(i in matcher.index for i in active_pdq)
        # A second sync with nothing new changes nothing.
        assert sync(client, store, page_size=7)["entries"] == 0
        assert store_snapshot(store) == local


@pytest.mark.slow
def test_kill_9_midway_then_resume(app, partner, tmp_path):
    token = add_partner(app, "killed-platform")
    client = app.test_client()
    receipts = [submit(client, media_record("k-%d" % n), media_record("k2-%d" % n)) for n in range(100)]
    for receipt in receipts[::5]:
        client.post("/api/v1/cases/%s/withdraw" % receipt["case_id"], json={}, headers={"X-Case-PIN": receipt["pin"]})
    server_feed, cursor = read_feed(client, partner)
    order = [e["id"] for e in server_feed]  # the feed's order: a page of one entry at a time
    store_path = tmp_path / "partner.sqlite"
    with serve(app) as base:
        process = cli("sync", "--server", base, "--page-size", 1, token=token, store=store_path, background=True)
        deadline = time.monotonic() + 60
        held = 0
        while time.monotonic() < deadline and process.poll() is None and held < 40:
            time.sleep(0.01)
            try:
                with sqlite3.connect(store_path) as db:
                    held = db.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
            except sqlite3.OperationalError:
                pass  # the store is being created
        assert process.poll() is None, "sync finished before it could be killed: %s" % (process.communicate(),)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        assert process.returncode == -signal.SIGKILL

        store = LocalStore(store_path)
        killed = store_snapshot(store)
        assert 40 <= len(killed) < len(order)
        # What the store holds is exactly the first pages of the feed, up to its cursor.
        assert set(killed) == set(order[: len(killed)])
        assert killed == {i: e for i, e in feed_snapshot(server_feed).items() if i in killed}
        store.close()

        resumed = cli("sync", "--server", base, "--page-size", 50, token=token, store=store_path)
        assert resumed.returncode == 0, resumed.stderr
        # The resumed run fetched only what was missing: nothing twice.
        assert "%d changes" % (len(order) - len(killed)) in resumed.stderr
    store = LocalStore(store_path)
    assert store_snapshot(store) == feed_snapshot(server_feed)
    assert store.cursor == cursor


def test_withdrawn_entries_leave_the_matcher_and_feedback_shows_in_evidence(app, partner, tmp_path):
    token = add_partner(app, "withdrawing-platform")
    client = app.test_client()
    kept = media_record("kept", quality=95)
    gone = media_record("gone", quality=95)
    receipt = submit(client, kept, gone)
    with serve(app) as base:
        api = PartnerClient(base, token)
        store = LocalStore(tmp_path / "partner.sqlite")
        sync(api, store)
        matcher = Matcher.from_store(store.path)
        query = [kept["hashes"][0], gone["hashes"][0]]
        assert [len(found) for found in matcher.match_records(query)] == [1, 1]
        gone_id = [e["id"] for e in store.entries() if e["value"] == gone["hashes"][0]["value"]][0]

        response = client.post("/api/v1/cases/%s/withdraw" % receipt["case_id"], json={"items": [2]},
                               headers={"X-Case-PIN": receipt["pin"]})
        assert response.status_code == 200
        (kept_match,), _ = matcher.match_records(query)
        report = {"id": kept_match.entry["id"], "value": kept_match.entry["value"], "outcome": "not_violating"}
        assert client.post("/api/v1/partner/feedback", headers=partner, json={"feedback": [report]}).status_code == 200
        assert api.feedback([dict(report, outcome="removed")]) == 1  # its own report is no dispute
        assert sync(api, store)["dropped"] == 3
        # Withdrawn: the store forgets the entry (its hash too), the matcher at once and its index on refresh.
        assert store.entry(gone_id) is None
        assert gone["hashes"][0]["value"] not in {e["value"] for e in store.entries()}
        found = matcher.match_records(query)
        assert len(found[0]) == 1 and found[1] == []
        assert matcher.refresh() > 0
        assert gone_id not in matcher.index
        assert Matcher.from_store(store.path).match_records(query)[1] == []
        # Another platform finding no violation is shown, not hidden.
        (match,), _ = matcher.match_records(query)
        assert match.to_json()["disputed"] is True
        # Digests match by equality; so does the whole record through match_media.
        result = matcher.match_media(kept)
        assert sorted(m.entry["type"] for m in result.matches) == ["md5", "pdq", "sha256"]
        assert all(m.distance == 0 for m in result.matches)


def test_wrong_revoked_and_missing_tokens_are_clear_errors(app, partner, tmp_path):
    token = add_partner(app, "revoked-platform")
    submit(app.test_client(), media_record("t"))
    store = tmp_path / "partner.sqlite"
    with serve(app) as base:
        wrong = cli("sync", "--server", base, token="tb_not-a-real-token", store=store, subprocess_=True)
        assert wrong.returncode == 2
        assert "the server refused the token (wrong or revoked)" in wrong.stderr
        assert "tb_not-a-real-token" not in wrong.stderr + wrong.stdout

        missing = cli("sync", "--server", base, store=store)
        assert missing.returncode == 2 and "set TAKEBACK_TOKEN" in missing.stderr

        good = cli("sync", "--server", base, token=token, store=store)
        assert good.returncode == 0, good.stderr
        with app.app_context():
            assert storage.revoke_partner("revoked-platform")
        revoked = cli("sync", "--server", base, token=token, store=store)
        assert revoked.returncode == 2 and "refused the token (wrong or revoked)" in revoked.stderr
        held = next(LocalStore(store).entries())["id"]
        report = cli("report", held, "removed", token=token, store=store)  # server taken from the store
        assert report.returncode == 2 and "refused the token" in report.stderr

        with pytest.raises(StoreError, match="holds the feed of"):
            sync(PartnerClient(base + "/other", token), LocalStore(store))


def test_report_single_and_batch(app, partner, tmp_path):
    token = add_partner(app, "reporting-platform")
    client = app.test_client()
    receipt = submit(client, media_record("r1"), media_record("r2"))
    entries, _ = read_feed(client, partner)
    values = {h["value"] for h in media_record("r1")["hashes"]}
    first = [e for e in entries if e["value"] in values]
    second = [e for e in entries if e["value"] not in values]
    store = tmp_path / "partner.sqlite"
    with serve(app) as base:
        unsynced = cli("report", first[0]["id"], "pending_review", "--server", base, token=token, store=store)
        assert unsynced.returncode == 2 and "not in the local store" in unsynced.stderr
        assert cli("sync", "--server", base, token=token, store=store).returncode == 0
        one = cli("report", first[0]["id"], "pending_review", token=token, store=store)  # the value from the store
        assert one.returncode == 0, one.stderr
        assert one.stdout.strip() == '{"recorded": 1}'
        match_lines = ", ".join('{"entry": %d, "value": "%s"}' % (e["id"], e["value"]) for e in second[:2])
        lines = "\n".join(['{"id": %d, "outcome": "removed"}' % first[0]["id"],
                           '{"path": "a.jpg", "media": "image", "matches": [%s]}' % match_lines])
        batch = cli("report", "--batch", "-", "--outcome", "not_violating", "--server", base, token=token,
                    store=store, input=lines)
        assert batch.returncode == 0, batch.stderr
        assert batch.stdout.strip() == '{"recorded": 3}'
        bad = cli("report", "999999", "removed", "--server", base, token=token, store=store)
        assert bad.returncode == 2 and "not in the local store" in bad.stderr
        forged = cli("report", "--batch", "-", "--server", base, token=token, store=store,
                     input='{"id": %d, "value": "%s", "outcome": "removed"}' % (first[1]["id"], "0" * 32))
        assert forged.returncode == 2 and "403" in forged.stderr and "never given to you" in forged.stderr
        nonsense = cli("report", "--batch", "-", "--server", base, token=token, store=store, input='{"id": 1}')
        assert nonsense.returncode == 2 and "outcome" in nonsense.stderr
    response = client.get("/api/v1/cases/%s" % receipt["case_id"], headers={"X-Case-PIN": receipt["pin"]})
    reports = [item["reports"] for item in response.get_json()["items"]]
    assert reports[0]["removed"] == 1
    assert reports[1]["not_removed"] == 1


def test_a_store_from_before_the_renumbering_is_emptied_and_read_again(app, partner, tmp_path):
    token = add_partner(app, "old-platform")
    submit(app.test_client(), media_record("o"))
    path = tmp_path / "partner.sqlite"
    with sqlite3.connect(path) as old:  # the schema before migration 0004, with an old-style cursor
        old.executescript("""
            CREATE TABLE entries (id INTEGER PRIMARY KEY, type TEXT NOT NULL, value TEXT NOT NULL, quality INTEGER,
                media TEXT NOT NULL, status TEXT NOT NULL, updated TEXT NOT NULL,
                not_violating INTEGER NOT NULL DEFAULT 0, seq INTEGER NOT NULL);
            CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            INSERT INTO entries VALUES (1, 'md5', '%s', NULL, 'image', 'active', '2026-01-02', 0, 1);
            INSERT INTO state VALUES ('cursor', '1');
        """ % ("0" * 32))
    with serve(app) as base:
        with sqlite3.connect(path) as old:
            old.execute("INSERT INTO state VALUES ('server', ?)", (base,))
        store = LocalStore(path)
        assert store.cursor == "" and list(store.entries()) == [] and store.server == base
        sync(PartnerClient(base, token), store)
        assert {e["value"] for e in store.entries()} == {h["value"] for h in media_record("o")["hashes"]}


def test_a_tombstone_of_an_entry_never_held_changes_nothing(tmp_path):
    store = LocalStore(tmp_path / "partner.sqlite")
    active = {"id": 7, "type": "md5", "value": "1" * 32, "quality": None, "media": "image", "status": "active",
              "updated": "2026-01-02", "disputed": False}
    assert store.apply_page([active, {"id": 8, "status": "withdrawn", "updated": "2026-01-02"}], "5.0") == 0
    assert [e["id"] for e in store.entries()] == [7] and store.cursor == "5.0"
    assert store.apply_page([{"id": 7, "status": "withdrawn", "updated": "2026-01-03"}], "6.0") == 1
    assert list(store.entries()) == []
    assert store.db.execute("SELECT id, type, seq FROM dropped").fetchall() == [(7, "md5", 6)]
    assert store.apply_page([active], "9.0") == 0  # enrolled again
    assert [e["id"] for e in store.entries()] == [7]
    assert store.db.execute("SELECT COUNT(*) FROM dropped").fetchone()[0] == 0


def test_client_retries_server_errors_and_honours_retry_after(tmp_path):
    import http.server
    import json

    answers = [(503, {}), (429, {"Retry-After": "3"}), (200, {})]
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.headers.get("Authorization"))
            status, headers = answers[min(len(seen), len(answers)) - 1]
            body = json.dumps({"entries": [], "next_cursor": "0"} if status == 200 else
                              {"error": "x", "detail": "busy"}).encode()
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        waits = []
        client = PartnerClient("http://127.0.0.1:%d" % httpd.server_port, "tb_x", sleep=waits.append, backoff=0.5)
        assert client.feed() == {"entries": [], "next_cursor": "0"}
        assert waits == [0.5, 3.0] and seen == ["Bearer tb_x"] * 3
        answers[:] = [(500, {})]
        with pytest.raises(PartnerError, match="failed with 500 after 6 attempts"):
            client.feed()
    finally:
        httpd.shutdown()
        httpd.server_close()
    port = httpd.server_port
    with pytest.raises(PartnerError, match="cannot reach the server"):
        PartnerClient("http://127.0.0.1:%d" % port, "tb_x", sleep=lambda s: None, retries=1).feed()
    with pytest.raises(PartnerError, match="must be an http"):
        PartnerClient("ftp://example", "tb_x")
