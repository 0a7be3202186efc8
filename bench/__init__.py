"""Figures, not pass/fail: benchmarks and evaluations, each run by a `make bench*` or
`make eval-robustness` command that prints what it measured (docs/BENCHMARKS.md). They reuse the
tests' helpers (tests.corpus, tests.transforms) but are never collected by pytest."""
import argparse
import datetime
import os
import platform
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def measured_on():
    """The line each command prints before its tables: when, on what, and which commit."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO, capture_output=True,
                           text=True).stdout.strip()
    return "Measured %s on %s (%d cores), Python %s, commit %s%s." % (
        datetime.date.today().isoformat(), cpu, os.cpu_count() or 0, platform.python_version(), commit or "unknown",
        " with uncommitted changes" if dirty else "")


def searched_distance(doc):
    """The --distance option of the index benchmarks (bench.match, bench.index)."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--distance", type=int, default=31, help="the distance searched (default 31)")
    return parser.parse_args().distance
