"""takeback.threatexchange against the real threatexchange package and a live Takeback server.

The extension's parts one by one (signal strings, the index against the shared rule, HMA's
storage round-trips, the feed as deltas, retries, auth), then the threatexchange CLI itself in
subprocesses with HOME in a temporary directory: add the extension, configure the collab,
fetch (again; killed midway), match corpus photos and edited copies, label.
"""
import io
import json
import os
import pathlib
import pickle
import random
import signal
import subprocess
import sys
import time

import pytest
from PIL import Image
from threatexchange.exchanges import auth
from threatexchange.exchanges.fetch_state import AggregateSignalOpinionCategory as Aggregate
from threatexchange.exchanges.fetch_state import SignalOpinion, SignalOpinionCategory
from threatexchange.signal_type.md5 import VideoMD5Signal
from threatexchange.signal_type.pdq.signal import PdqSignal
from threatexchange.signal_type.sha256 import VideoSHA256Signal
from threatexchange.utils import dataclass_json

from hashing import HashRecord, record_distance
from hashing.match import BLOCKS_MATCH_DISTANCE, PAIR_BLOCKS_MATCH_DISTANCE, WINDOW_MATCH_DISTANCE
from takeback.media import file_record
from takeback.partner import PartnerClient
from takeback.threatexchange import (
    TX_MANIFEST, TakebackBlocksSignal, TakebackCheckpoint, TakebackCollabConfig, TakebackCredentials, TakebackIndex,
    TakebackSignalExchangeAPI, TakebackSignalMetadata, TakebackWindowSignal,
)

from .conftest import flip_bits, make_app, media_record, pdq_hex, read_feed, submit
from .corpus import CORPUS
from .partner_support import REPO, add_partner, serve


def entry(id_, type_, value, quality=90, media="image", disputed=False):
    return {"id": id_, "type": type_, "value": value, "quality": quality, "media": media, "status": "active",
            "updated": "2026-12-07", "disputed": disputed}


def collab(server="http://127.0.0.1:1", **fields):
    return TakebackCollabConfig(name="tb", server=server, **fields)


# -- signal types and their index ------------------------------------------------------------------


def test_the_manifest_names_the_exchange_and_the_signal_types():
    assert [a.get_name() for a in TX_MANIFEST.apis] == ["takeback"]
    assert [s.get_name() for s in TX_MANIFEST.signal_types] == ["takeback_window", "takeback_blocks"]
    assert TakebackWindowSignal.query_types() == ("pdq-window",)
    assert set(TakebackBlocksSignal.query_types()) == {"pdq-blocks", "pdq-pair-blocks"}


def test_signal_strings_and_compare_apply_the_rules():
    rng = random.Random(1)
    window, blocks = pdq_hex(rng), pdq_hex(rng)
    enrolled = "pdq-window:" + window
    assert TakebackWindowSignal.validate_signal_str(" PDQ-WINDOW:" + window.upper() + " ") == enrolled
    for bad in ("", "pdq-window", "pdq-window:" + window[:-1], "pdq:" + window, "pdq-blocks:" + window,
                "md5:" + "ab" * 16, enrolled + ",", "pdq-window=" + window):
        with pytest.raises(ValueError):
            TakebackWindowSignal.validate_signal_str(bad)
    near, far = flip_bits(window, WINDOW_MATCH_DISTANCE, rng), flip_bits(window, WINDOW_MATCH_DISTANCE + 1, rng)
    query = "pdq-window:%s,pdq-window:%s" % (far, near)
    result = TakebackWindowSignal.compare_hash(enrolled, query)
    assert result.match and result.distance.distance == WINDOW_MATCH_DISTANCE
    assert not TakebackWindowSignal.compare_hash(enrolled, "pdq-window:" + far).match
    assert TakebackWindowSignal.compare_hash("pdq-dihedral:" + window, "pdq-window:" + near).match
    # Block hashes: 40 bits between two pictures' block hashes, 34 when a keypoint pair's is involved.
    b40, b34 = flip_bits(blocks, BLOCKS_MATCH_DISTANCE, rng), flip_bits(blocks, PAIR_BLOCKS_MATCH_DISTANCE + 1, rng)
    assert TakebackBlocksSignal.compare_hash("pdq-blocks:" + blocks, "pdq-blocks:" + b40).match
    assert not TakebackBlocksSignal.compare_hash("pdq-pair-blocks:" + blocks, "pdq-blocks:" + b34).match
    assert TakebackBlocksSignal.compare_hash("pdq-blocks:" + blocks, "pdq-pair-blocks:" + b34[:-1] + blocks[-1]).match \
        == (record_distance(HashRecord("pdq-blocks", blocks, 100), HashRecord("pdq-pair-blocks", b34[:-1] + blocks[-1], 100))
            is not None)


def test_the_index_agrees_with_the_rule_pair_by_pair_and_survives_pickling():
    rng = random.Random(2)
    types = ["pdq-window", "pdq-dihedral", "pdq-blocks", "pdq-pair-blocks"]
    enrolled = [(types[n % 4], pdq_hex(rng)) for n in range(40)]
    indexes = {s: TakebackIndex.build(
        ("%s:%s" % e, ("tb", n)) for n, e in enumerate(enrolled) if e[0] in s.ENROLLED)
        for s in (TakebackWindowSignal, TakebackBlocksSignal)}
    for s, idx in indexes.items():
        restored = TakebackIndex.deserialize(io.BytesIO(_serialized(idx)))
        for _ in range(30):
            t, value = rng.choice(enrolled)
            qtype = rng.choice(s.query_types())
            query = "%s:%s,%s:%s" % (qtype, flip_bits(value, rng.randrange(0, 60), rng), qtype, pdq_hex(rng))
            expected = sorted((s.compare_hash("%s:%s" % enrolled[n], query).distance.distance, n)
                              for n, e in enumerate(enrolled)
                              if e[0] in s.ENROLLED and s.compare_hash("%s:%s" % e, query).match)
            for index in (idx, restored):
                assert sorted((m.similarity_info.distance, m.metadata[1]) for m in index.query(query)) == expected
    one = TakebackIndex.build([("pdq-window:" + enrolled[0][1], ("tb", 0))])
    one = pickle.loads(pickle.dumps(one))
    assert [m.metadata for m in one.query("pdq-window:" + enrolled[0][1])] == [("tb", 0)]
    assert one.query("pdq-window:" + pdq_hex(rng)) == [] and one.query("") == []
    with pytest.raises(ValueError):
        one.add("pdq-window:%s,pdq-window:%s" % (enrolled[0][1], enrolled[1][1]), ("tb", 1))  # an entry is one hash


def _serialized(index):
    out = io.BytesIO()
    index.serialize(out)
    return out.getvalue()


def test_feed_entries_become_signals_and_opinions():
    rng = random.Random(3)
    values = [pdq_hex(rng) for _ in range(8)]
    fetched = {n: TakebackSignalMetadata.from_entry(e) for n, e in enumerate([
        entry(0, "pdq", values[0]), entry(1, "pdq", values[1], quality=49), entry(2, "pdq-window", values[2]),
        entry(3, "pdq-dihedral", values[3]), entry(4, "pdq-blocks", values[4]), entry(5, "pdq-pair-blocks", values[5]),
        entry(6, "md5", "ab" * 16, quality=None), entry(7, "md5", "cd" * 16, quality=None, media="video"),
        entry(8, "sha256", "ef" * 32, quality=None, media="video"), entry(9, "pdq", values[6], media="video"),
        entry(10, "pdq-blocks", values[7], media="video", disputed=True)])}
    all_types = [PdqSignal, VideoMD5Signal, VideoSHA256Signal, TakebackWindowSignal, TakebackBlocksSignal]

    def converted(include, types=all_types):
        out = TakebackSignalExchangeAPI.naive_convert_to_signal_type(types, collab(include_video_frames=include), fetched)
        return {s.get_name(): {sig: m.entry_id for sig, m in found.items()} for s, found in out.items()}

    assert converted(False) == {
        "pdq": {values[0]: 0}, "video_md5": {"cd" * 16: 7}, "video_sha256": {"ef" * 32: 8},
        "takeback_window": {"pdq-window:" + values[2]: 2, "pdq-dihedral:" + values[3]: 3},
        "takeback_blocks": {"pdq-blocks:" + values[4]: 4, "pdq-pair-blocks:" + values[5]: 5}}
    frames = converted(True)
    assert frames["pdq"] == {values[0]: 0, values[6]: 9} and frames["takeback_blocks"]["pdq-blocks:" + values[7]] == 10
    assert converted(True, [PdqSignal]) == {"pdq": {values[0]: 0, values[6]: 9}}
    assert fetched[0].get_as_aggregate_opinion().category == Aggregate.INVESTIGATION_SEED
    assert fetched[10].get_as_aggregate_opinion().category == Aggregate.DISPUTED


def test_config_checkpoint_metadata_and_credentials_round_trip_as_hma_stores_them():
    config = collab("https://takeback.example", page_size=50, include_video_frames=True)
    assert config.api == "takeback"
    for obj in (config, TakebackCheckpoint("12.3.00ff00ff00ff00ff"), TakebackCheckpoint(), TakebackCredentials("tb_x"),
                TakebackSignalMetadata.from_entry(entry(7, "pdq-window", "5a" * 32, disputed=True))):
        text = dataclass_json.dataclass_dumps(obj)
        assert dataclass_json.dataclass_loads(text, type(obj)) == obj
        assert pickle.loads(pickle.dumps(obj)) == obj


# -- the exchange against a live server ----------------------------------------------------------


@pytest.fixture
def server(tmp_path):
    """A live Takeback server (SQLite) with a partner: (app, base URL, token, requests seen)."""
    app = make_app("sqlite:///%s" % (tmp_path / "takeback.sqlite"))
    token = add_partner(app, "hma-platform")
    seen = []  # (path, query) of every partner request; `faults` answers some of them instead
    faults = []
    inner = app.wsgi_app

    def watched(environ, start_response):
        seen.append((environ["PATH_INFO"], environ.get("QUERY_STRING", "")))
        if faults and environ["PATH_INFO"].startswith("/api/v1/partner/"):
            status, headers, delay = faults.pop(0)
            time.sleep(delay)
            if status:
                start_response(status, headers + [("Content-Type", "application/json")])
                return [b'{"error": "unavailable", "detail": "try later"}']
        return inner(environ, start_response)

    app.wsgi_app = watched
    with serve(app) as base:
        yield app, base, token, seen, faults


def cursors(seen):
    return [q.split("cursor=")[1].split("&")[0] for p, q in seen if p == "/api/v1/partner/hashes"]


def test_fetch_pages_the_feed_with_deletes_and_resumes_from_its_checkpoint(server):
    app, base, token, seen, faults = server
    client = app.test_client()
    receipts = [submit(client, media_record(n)) for n in range(4)]
    api = TakebackSignalExchangeAPI(collab(base, page_size=5), PartnerClient(base, token))
    deltas = list(api.fetch_iter(TX_MANIFEST.signal_types, None))
    feed, cursor = read_feed(client, {"Authorization": "Bearer " + token})
    assert [len(d.updates) for d in deltas] == [5, 5, 2] and deltas[-1].checkpoint.cursor == cursor
    merged: dict = {}
    for d in deltas:
        TakebackSignalExchangeAPI.naive_fetch_merge(merged, d.updates)
    assert {k: (m.type, m.value) for k, m in merged.items()} == {e["id"]: (e["type"], e["value"]) for e in feed}
    assert list(api.fetch_iter([], deltas[-1].checkpoint)) == []  # up to date: one request, from the cursor
    assert cursors(seen)[-1] == cursor

    response = client.post("/api/v1/cases/%s/withdraw" % receipts[1]["case_id"], json={},
                           headers={"X-Case-PIN": receipts[1]["pin"]})
    assert response.status_code == 200
    (delta,) = api.fetch_iter([], deltas[-1].checkpoint)
    gone = {e["id"] for e in feed if e["value"] in {h["value"] for h in media_record(1)["hashes"]}}
    assert delta.updates == {key: None for key in gone}
    TakebackSignalExchangeAPI.naive_fetch_merge(merged, delta.updates)
    assert len(merged) == 9 and not gone & set(merged)


def test_fetch_retries_429_and_5xx_honouring_retry_after_and_a_bad_token_fails_at_once(server):
    app, base, token, seen, faults = server
    submit(app.test_client(), media_record(1))
    waits = []
    api = TakebackSignalExchangeAPI(collab(base), PartnerClient(base, token, sleep=waits.append))
    faults += [("429 Too Many Requests", [("Retry-After", "7")], 0), ("503 Service Unavailable", [("Retry-After", "3")], 0),
               ("500 Internal Server Error", [], 0)]
    (delta,) = api.fetch_iter([], None)
    assert len(delta.updates) == 3 and waits == [7.0, 3.0, 4.0]  # the third: backoff 1 s, 2 s, 4 s
    before = len(seen)
    bad = TakebackSignalExchangeAPI(collab(base), PartnerClient(base, "not-a-token", sleep=waits.append))
    with pytest.raises(auth.SignalExchangeAPIInvalidAuthException) as refused:
        list(bad.fetch_iter([], None))
    assert "refused the token" in refused.value.message and len(seen) == before + 1 and len(waits) == 3


def test_credentials_come_from_the_environment_or_a_file(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("TAKEBACK_TOKEN", raising=False)
    with pytest.raises(auth.SignalExchangeAPIMissingAuthException) as missing:
        TakebackSignalExchangeAPI.for_collab(collab())
    assert "TAKEBACK_TOKEN" in missing.value.pretty_str() and ".takeback_token" in missing.value.pretty_str()
    (tmp_path / ".takeback_token").write_text("from-a-file\n")
    assert TakebackSignalExchangeAPI.for_collab(collab()).client._token == "from-a-file"
    monkeypatch.setenv("TAKEBACK_TOKEN", "from-the-environment")
    assert TakebackSignalExchangeAPI.for_collab(collab()).client._token == "from-the-environment"
    with pytest.raises(ValueError, match="--server must be an http"):  # a collab made without --server
        TakebackSignalExchangeAPI.for_collab(TakebackCollabConfig(name="tb"))
    monkeypatch.setenv("TAKEBACK_TOKEN", "two words")
    with pytest.raises(auth.SignalExchangeAPIInvalidAuthException):
        TakebackSignalExchangeAPI.for_collab(collab())


def test_report_opinion_sends_feedback_by_hash(server):
    app, base, token, seen, faults = server
    client = app.test_client()
    receipt = submit(client, media_record(1))
    api = TakebackSignalExchangeAPI(collab(base), PartnerClient(base, token))
    pdq = media_record(1)["hashes"][0]["value"]

    def reports():
        status = client.get("/api/v1/cases/" + receipt["case_id"], headers={"X-Case-PIN": receipt["pin"]}).get_json()
        return status["items"][0]["reports"]

    api.report_opinion(PdqSignal, pdq, SignalOpinion(True, SignalOpinionCategory.INVESTIGATION_SEED, set()))
    assert reports() == {"matched": 1, "removed": 0, "not_removed": 0}
    api.report_opinion(PdqSignal, pdq, SignalOpinion(True, SignalOpinionCategory.POSITIVE_CLASS, set()))
    assert reports() == {"matched": 1, "removed": 1, "not_removed": 0}
    api.report_opinion(PdqSignal, pdq, SignalOpinion(True, SignalOpinionCategory.NEGATIVE_CLASS, set()))
    assert reports() == {"matched": 1, "removed": 0, "not_removed": 1}
    with pytest.raises(Exception, match="404"):
        api.report_opinion(PdqSignal, pdq_hex(random.Random(9)), SignalOpinion(True, SignalOpinionCategory.POSITIVE_CLASS, set()))
    with pytest.raises(ValueError):
        api.report_opinion(TakebackWindowSignal, "pdq-window:%s,pdq-window:%s" % (pdq, pdq),
                           SignalOpinion(True, SignalOpinionCategory.POSITIVE_CLASS, set()))
    assert reports() == {"matched": 1, "removed": 0, "not_removed": 1}


def test_importing_the_extension_does_not_load_the_server():
    script = ("import sys, takeback.threatexchange\n"
              "print(sorted({m.split('.')[0] for m in sys.modules} & {'backend', 'flask', 'sqlalchemy', 'psycopg'}))")
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "[]", done.stderr


# -- the threatexchange CLI --------------------------------------------------------------------------


class TxCli:
    """`threatexchange ...` in a subprocess, its state (and ~) in a temporary home."""

    def __init__(self, home, token=None):
        self.home = pathlib.Path(home)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("TX_", "TAKEBACK_"))}
        self.env["HOME"] = str(self.home)
        if token is not None:
            self.env["TAKEBACK_TOKEN"] = token

    def command(self, *args):
        return [sys.executable, "-m", "threatexchange", *map(str, args)]

    def __call__(self, *args, ok=True):
        done = subprocess.run(self.command(*args), env=self.env, cwd=self.home, capture_output=True, text=True, timeout=300)
        if ok:
            assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done

    def background(self, *args):
        return subprocess.Popen(self.command(*args), env=self.env, cwd=self.home, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def matches(self, path):
        """{signal type name: [aggregate opinion, ...]} of `threatexchange match photo PATH`."""
        out = {}
        for line in self("match", "--all", "photo", path).stdout.splitlines():
            name, distance, collab_name, opinion = line.split(" ", 3)
            assert collab_name == "(tb)"
            out.setdefault(name, []).append(opinion)
        return out

    def state(self):
        """{entry id: metadata} the CLI stored for the collab."""
        (path,) = (self.home / ".threatexchange").rglob("tb.state.pickle")
        with open(path, "rb") as f:
            return pickle.load(f).updates

    def setup(self, base, page_size=1000):
        self("config", "extensions", "add", "takeback.threatexchange")
        self("config", "collab", "edit", "takeback", "tb", "--create", "--server", base, "--page-size", page_size)


OTHER_PHOTO = "tuxpaint__lighthouse.jpg"


def caption(path, out):
    from .transforms import caption_bars

    with Image.open(path) as im:
        caption_bars(im.convert("RGB"), random.Random("caption"), None).save(out)
    return out


@pytest.mark.slow
def test_the_threatexchange_cli_fetches_matches_and_labels(server, robust_photos, tmp_path):
    app, base, token, seen, faults = server
    client = app.test_client()
    receipt = submit(client, robust_photos.enrolled.to_json())
    # A second photo: threatexchange 1.2.17's own PDQ index of exactly one hash finds nothing once
    # stored (facebook/ThreatExchange#1318; docs/PARTNER.md), so the PDQ index here holds two.
    other = submit(client, file_record(CORPUS / "photos" / OTHER_PHOTO).to_json())
    cli = TxCli(tmp_path / "home", token)
    cli.home.mkdir()
    cli.setup(base, page_size=25)
    config = json.loads(cli("config", "collab", "print", "tb").stdout)
    assert config["server"] == base and config["page_size"] == 25 and config["api"] == "takeback"

    before = len(cursors(seen))
    wrong = TxCli(cli.home, "not-the-token")
    wrong.env["TX_VERBOSE"] = "1"  # the CLI logs why a fetch failed only when verbose
    refused = wrong("fetch", ok=False)
    assert refused.returncode == 3 and "SignalExchangeAPIInvalidAuthException" in refused.stderr
    assert "refused the token" in refused.stderr and len(cursors(seen)) == before + 1  # at once: no retries

    cli("fetch")
    active, _ = read_feed(client, {"Authorization": "Bearer " + token})
    assert set(cli.state()) == {e["id"] for e in active}
    requests = len(cursors(seen))
    cli("fetch")  # again: one request, from the cursor, nothing new
    assert len(cursors(seen)) == requests + 1 and cursors(seen)[-1] != ""

    paths = dict(robust_photos.paths, captioned=caption(robust_photos.paths["same"], tmp_path / "captioned.png"))
    found = {name: cli.matches(paths[name]) for name in ("same", "cropped", "captioned", "unrelated")}
    assert "pdq" in found["same"] and found["same"]["pdq"] == ["INVESTIGATION_SEED"]
    for edited in ("cropped", "captioned"):  # plain PDQ misses these copies; Takeback's hashes do not
        assert "pdq" not in found[edited] and set(found[edited]) & {"takeback_window", "takeback_blocks"}, found
    assert "takeback_window" in found["cropped"]
    assert found["unrelated"] == {}

    # label: threatexchange reports one hash (here the photo's PDQ, from the feed) as removed.
    pdq = next(h.value for h in robust_photos.enrolled.hashes if h.type == "pdq")
    cli("label", "--as-hash", "pdq", "tb", "photo", "--", pdq)
    status = client.get("/api/v1/cases/" + receipt["case_id"], headers={"X-Case-PIN": receipt["pin"]}).get_json()
    assert status["items"][0]["reports"] == {"matched": 1, "removed": 1, "not_removed": 0}

    # Withdrawn: the next fetch deletes every entry of the case, and nothing matches any more.
    response = client.post("/api/v1/cases/%s/withdraw" % receipt["case_id"], json={}, headers={"X-Case-PIN": receipt["pin"]})
    assert response.status_code == 200
    cli("fetch")
    assert {m.value for m in cli.state().values()} == {h["value"] for h in active if h["id"] in cli.state()}
    assert not {h.value for h in robust_photos.enrolled.hashes} & {m.value for m in cli.state().values()}
    assert client.get("/api/v1/cases/" + other["case_id"], headers={"X-Case-PIN": other["pin"]}).status_code == 200
    for name in ("same", "cropped", "captioned"):
        assert cli.matches(paths[name]) == {}, name


@pytest.mark.slow
def test_a_killed_fetch_resumes_from_its_checkpoint(server, tmp_path):
    app, base, token, seen, faults = server
    client = app.test_client()
    for n in range(60):
        submit(client, media_record(n))
    feed, cursor = read_feed(client, {"Authorization": "Bearer " + token})
    cli = TxCli(tmp_path / "home")
    cli.home.mkdir()
    (cli.home / ".takeback_token").write_text(token)  # the credential file, this time
    cli.setup(base, page_size=4)
    faults += [(None, [], 0.05)] * 10_000  # each request a little slow, so the fetch can be caught midway
    process = cli.background("fetch", "--checkpoint-every", "1")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None and not list((cli.home / ".threatexchange").rglob("tb.state.pickle")):
        time.sleep(0.05)
    time.sleep(0.3)
    assert process.poll() is None, "the fetch finished before it could be killed: %s" % (process.communicate(),)
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    held = cli.state()
    assert 0 < len(held) < len(feed)
    assert set(held) == {e["id"] for e in feed[: len(held)]}  # the first pages, up to the checkpoint
    started = len(cursors(seen))
    faults.clear()
    cli("fetch")
    resumed = cursors(seen)[started:]
    assert resumed[0] != "" and len(resumed) == -(-(len(feed) - len(held)) // 4) + 1  # only what was missing
    assert {k: v.value for k, v in cli.state().items()} == {e["id"]: e["value"] for e in feed}
