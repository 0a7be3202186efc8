"""A rule for every test, in tests/ and e2e/ alike."""
import os

import pytest


@pytest.fixture(autouse=True)
def scheduling_stays_normal():
    """No test may leave this process in real-time scheduling. Some encoders switch their
    caller to SCHED_FIFO when run as root (SVT-AV1 does); every thread and process started
    afterwards inherits it, and on a 2-core machine Chromium and Playwright's driver then spun
    at real-time priority and starved everything else, pytest included: CI hung for an hour."""
    before = os.sched_getscheduler(0)
    yield
    after = os.sched_getscheduler(0)
    if after != before:
        os.sched_setscheduler(0, before, os.sched_param(0))
        pytest.fail("this test switched pytest's scheduling policy from %d to %d (real-time?): "
                    "run such code in a child process" % (before, after))
