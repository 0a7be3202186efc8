"""Generated requests against a live server: no 5xx, and every answer as /api/openapi.json says.

Schemathesis reads the served spec and, per operation, generates requests that fit it
(positive) and requests that break it (negative), sent over HTTP to a real server (werkzeug in a
thread, on an SQLite file with the migrations applied): once without credentials, once with a
valid partner token. Each answer must not be a 5xx, must have a documented status code and
content type, and its body must fit that status's schema.

Then Schemathesis' own runner (`st run`), which adds boundary values (its coverage phase) and
nearly all of its checks, among them that the server refuses what the spec refuses.
"""
import collections
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance, response_headers_conformance, response_schema_conformance, status_code_conformance,
)
from werkzeug.serving import WSGIRequestHandler

from backend import storage

from .conftest import media_record
from .test_api_admission import solved

# Per operation, per generation mode, per run: bounds the time (the test prints the counts).
EXAMPLES = int(os.environ.get("TAKEBACK_SCHEMATHESIS_EXAMPLES", 20))
# Not negative_data_rejection: it also counts requests whose flaw vanishes on the way (an extra
# query parameter with an empty list as its value is never sent) as accepted bad data.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass  # thousands of request lines would bury a failure's report


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """(base URL, partner token, a stored case's receipt) of a running server on a fresh, migrated SQLite file."""
    from flask_migrate import upgrade
    from werkzeug.serving import make_server

    from backend import create_app

    db_path = tmp_path_factory.mktemp("schemathesis") / "takeback.sqlite"
    # A cheap scrypt: wrong PINs are most of what the case endpoints get. Admission on, as in
    # production (cheap work: 8 bits); no quarantine, so the feed shows the case stored below.
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite:///%s" % db_path, "PIN_SCRYPT_N": 2**10,
                      "ADMISSION": True, "ADMISSION_BITS": 8, "QUARANTINE_SECONDS": 0})
    with app.app_context():
        upgrade()
        token = storage.add_partner("schemathesis-platform")
    httpd = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    base = "http://127.0.0.1:%d" % httpd.server_port
    # A case and its feed entries, so the feed, matching and feedback have something to find.
    with app.test_client() as client:
        body = json.dumps({"items": [media_record(n) for n in range(1, 6)]}).encode()
        created = client.post("/api/v1/cases", data=body, headers=solved(client, body), content_type="application/json")
        assert created.status_code == 201
    try:
        yield base, token, created.get_json()
    finally:
        httpd.shutdown()
        thread.join(10)


def statuses(operation, base, auth, mode, fixed):
    """Send up to EXAMPLES generated requests; {status code: answers}. Raises on the first failure."""
    sent = collections.Counter()

    @settings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode, **fixed))
    def send(case):
        response = case.call(base_url=base, headers=auth, timeout=30)
        sent[response.status_code] += 1
        case.validate_response(response, checks=CHECKS, headers=auth)

    send()
    return sent


def run(operation, base, auth, modes=(GenerationMode.POSITIVE, GenerationMode.NEGATIVE), **fixed):
    """Generated requests to one operation in each mode; returns how many were sent."""
    total = 0
    if not operation.body and not list(operation.iter_parameters()):
        modes = [m for m in modes if m != GenerationMode.NEGATIVE]  # nothing to get wrong
    for mode in modes:
        sent = statuses(operation, base, auth, mode, fixed)
        total += sum(sent.values())
        print("%s %s %s%s: %d examples, status %s" % (
            operation.method.upper(), operation.path, mode.value, " (a stored case)" if fixed else "",
            sum(sent.values()), dict(sorted(sent.items()))))
    return total


def operations_of(base):
    # Schemathesis leaves out the spec's own URL (/api/openapi.json): 8 operations.
    return [result.ok() for result in schemathesis.openapi.from_url(base + "/api/openapi.json").get_all_operations()]


@pytest.mark.slow
@pytest.mark.parametrize("who", ["anonymous", "partner"])
def test_generated_requests_get_documented_answers(live, who):
    base, token, _ = live
    headers = {"Authorization": "Bearer " + token} if who == "partner" else {}
    operations = operations_of(base)
    examples = sum(run(operation, base, headers) for operation in operations)
    print("schemathesis (%s): %d operations, %d examples" % (who, len(operations), examples))
    assert len(operations) == 8 and examples >= 6 * 2 * EXAMPLES  # every operation with parameters, both modes


@pytest.mark.slow
def test_generated_requests_to_a_stored_case(live):
    """The case endpoints with a real id and PIN: statuses and withdrawals of real items."""
    base, _, receipt = live
    fixed = {"path_parameters": {"case_id": receipt["case_id"]}, "headers": {"X-Case-PIN": receipt["pin"]}}
    # Withdrawals first, so the status then shows withdrawn items.
    operations = sorted((op for op in operations_of(base) if "{case_id}" in op.path),
                        key=lambda op: op.method != "post")
    examples = sum(run(op, base, {}, (GenerationMode.POSITIVE,), **fixed) for op in operations)
    print("schemathesis (a stored case): %d operations, %d examples" % (len(operations), examples))
    assert len(operations) == 2 and examples == EXAMPLES + 1  # the status has nothing left to generate


# Every check but two, which ask what the server rightly does not do:
# - positive_data_acceptance: a request that fits the spec may still be refused for what the
#   database holds (an unknown feed entry id, a case that does not exist) or for two hash records
#   of one type and value with different qualities, which JSON Schema cannot express;
# - missing_required_header: a case request without X-Case-PIN gets the 404 of a wrong PIN, on
#   purpose (tests/test_api_cases.py): no answer may tell a missing PIN from a wrong one.
CLI_EXCLUDED = "positive_data_acceptance,missing_required_header"


@pytest.mark.slow
@pytest.mark.parametrize("who", ["anonymous", "partner"])
def test_schemathesis_runner_with_its_checks(live, who, tmp_path):
    base, token, _ = live
    command = [str(Path(sys.executable).parent / "st"), "run", base + "/api/openapi.json", "--checks", "all",
               "--exclude-checks", CLI_EXCLUDED, "--max-examples", str(EXAMPLES // 4), "--no-color"]
    if who == "partner":
        command += ["--header", "Authorization: Bearer " + token]
    run = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    summary = re.search(r"(\d+) generated, (\d+) passed", run.stdout)
    print("st run (%s): %s" % (who, summary.group(0) if summary else "no summary"))
    assert run.returncode == 0, run.stdout[-20_000:] + run.stderr[-5_000:]
    assert summary and summary.group(1) == summary.group(2) and int(summary.group(1)) >= 6 * EXAMPLES // 4
