"""gunicorn's settings for Takeback in production (`make serve`; docs/OPERATE.md):

    gunicorn -c deploy/gunicorn.conf.py 'backend:create_app()'

From the environment: TAKEBACK_BIND (127.0.0.1:8000), TAKEBACK_WORKERS (2 processes),
TAKEBACK_THREADS (16 per process); DATABASE_URL and the app's own settings (backend/__init__.py).

Threaded workers (gthread). A connection holds one thread from its first byte until it has its
answer, and gunicorn never times out a request that is still arriving: a slow client (a byte
every few seconds) holds its thread as long as it likes. TAKEBACK_THREADS slow clients that land
on one worker stall the requests that worker accepts after them (it keeps accepting, and they
wait), whatever the other workers do. So production puts a buffering reverse proxy in front
(nginx, docs/OPERATE.md), which passes on only complete requests; tests/test_serve.py shows both.

Logs: gunicorn's own access log is off; the app writes its own, without addresses or ids
(backend/ops.py). gunicorn's error log goes to stderr, with client addresses and case ids
taken out of its lines (PrivateServerLog below).
"""
import glob
import logging
import os
import re
import shutil
import tempfile

bind = os.environ.get("TAKEBACK_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("TAKEBACK_WORKERS", "2"))
# Threads are cheap; each concurrent PIN check takes 16 MiB (scrypt), so 16 threads ~256 MiB at most.
threads = int(os.environ.get("TAKEBACK_THREADS", "16"))
accesslog = None  # the app logs each request itself (backend/ops.py)
errorlog = "-"
loglevel = "info"
proc_name = "takeback"

# /metrics sums the workers' counts through files in this folder (prometheus_client's
# multiprocess mode). It must be set before a worker imports prometheus_client, so here, in the
# arbiter that forks them. A folder of our own unless the operator names one. (gunicorn reads
# this file again on SIGHUP: the folder set the first time stays.)
_OWN_PREFIX = os.path.join(tempfile.gettempdir(), "takeback-metrics-")
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix=os.path.basename(_OWN_PREFIX))
os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)


class PrivateServerLog(logging.Filter):
    """gunicorn's own lines: "Invalid request from ip=203.0.113.7: ..." loses the address, and a
    case id in a logged path ("Error handling request /api/v1/cases/<id>") becomes <case>."""

    _ADDRESS = re.compile(r"ip=.*?: ")  # an IPv6 address has colons, never ": "
    _CASE = re.compile(r"/cases/[^/\s\"'?]+")

    def filter(self, record):
        message = record.getMessage()
        private = self._CASE.sub("/cases/<case>", self._ADDRESS.sub("ip=<hidden>: ", message))
        if private != message:
            record.msg, record.args = private, ()
        return True


logging.getLogger("gunicorn.error").addFilter(PrivateServerLog())


def on_starting(server):
    # Counts of an earlier run would be added to this one's.
    for path in glob.glob(os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], "*.db")):
        os.remove(path)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    if folder.startswith(_OWN_PREFIX):  # ours, not one the operator named
        shutil.rmtree(folder, ignore_errors=True)
