"""Scanning a platform's media: hash files in worker processes, match in this one."""
import collections
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from takeback.media import HASH_ERRORS as UNHASHABLE, query_record

HASH_ERRORS = UNHASHABLE + (OSError,)


def media_files(paths):
    """Files under `paths` (files as given; folders walked, sorted, hidden entries skipped)."""
    for path in paths:
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if not name.startswith("."):
                        yield os.path.join(root, name)
        else:
            yield path


def hash_media(path, source=None):
    """(path, MediaRecord JSON or None, error text or None) of one file, read from `source` (a
    binary file object with its bytes: a Spark executor's) when given. Never raises for a bad file."""
    try:
        return path, query_record(path if source is None else source).to_json(), None
    except HASH_ERRORS as e:
        return path, None, str(e) or type(e).__name__
    except Exception as e:  # a decoder crash on a hostile file must not stop the scan
        return path, None, "%s: %s" % (type(e).__name__, e)


def _hash_one(path):
    """Worker: hash_media(path)."""
    return hash_media(path)


def hashed(paths, workers=1):
    """(path, record JSON, error) for every path, in order, hashed by `workers` processes.

    A worker that dies (a decoder crashing on a hostile file) does not stop the scan: the
    files that were in flight are hashed again one process each, and the one that kills its
    process again is reported as an error.
    """
    if workers <= 1:
        for path in paths:
            yield _hash_one(path)
        return
    context = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    paths = iter(paths)
    pending = collections.deque()
    executor = ProcessPoolExecutor(workers, mp_context=context)
    try:
        while True:
            while len(pending) < 4 * workers:  # a bounded window keeps memory flat on huge folders
                path = next(paths, None)
                if path is None:
                    break
                try:
                    future = executor.submit(_hash_one, path)
                except BrokenProcessPool:  # a worker died since the last result; handled below
                    future = None
                pending.append((path, future))
            if not pending:
                return
            path, future = pending.popleft()
            try:
                if future is None:
                    raise BrokenProcessPool("the pool broke before this file was handed to it")
                result = future.result()
            except BrokenProcessPool:
                executor.shutdown(wait=True, cancel_futures=True)
                suspects = [path] + [p for p, _ in pending]
                pending.clear()
                for suspect in suspects:
                    yield _hash_alone(suspect, context)
                executor = ProcessPoolExecutor(workers, mp_context=context)
                continue
            yield result
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def _hash_alone(path, context):
    with ProcessPoolExecutor(1, mp_context=context) as alone:
        try:
            return alone.submit(_hash_one, path).result()
        except BrokenProcessPool:
            return path, None, "the decoder crashed on this file (its worker process died)"


class Progress:
    """A one-line progress bar on stderr, only when stderr is a terminal."""

    def __init__(self, total, stream=sys.stderr, enabled=None):
        self.total, self.stream = total, stream
        self.enabled = stream.isatty() if enabled is None else enabled
        self.done = self.matched = self.failed = 0
        self.started = time.monotonic()
        self._last = 0.0

    def update(self, matched, failed):
        self.done += 1
        self.matched += matched
        self.failed += failed
        now = time.monotonic()
        if self.enabled and (now - self._last > 0.1 or self.done == self.total):
            self._last = now
            width = 30
            filled = int(width * self.done / max(self.total, 1))
            rate = self.done / max(now - self.started, 1e-9)
            self.stream.write("\r[%s%s] %d/%d files, %d matched, %d failed, %.1f files/s "
                              % ("#" * filled, "." * (width - filled), self.done, self.total, self.matched,
                                 self.failed, rate))
            self.stream.flush()

    def close(self):
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def scan(matcher, paths, workers=1, on_result=None, on_error=None, progress=None):
    """Hash and match every media file under `paths`; returns (files, matched, failed) counts.

    on_result(FileResult) for every file hashed; on_error(path, text) for a file that could
    not be decoded (it is skipped).
    """
    files = list(media_files(paths))
    progress = progress or Progress(len(files), enabled=False)
    matched = failed = 0
    for path, record, error in hashed(files, workers):
        if error is not None:
            failed += 1
            if on_error:
                on_error(path, error)
            progress.update(0, 1)
            continue
        result = matcher.match_media(record, path)
        matched += bool(result.matches)
        if on_result:
            on_result(result)
        progress.update(bool(result.matches), 0)
    progress.close()
    return len(files), matched, failed
