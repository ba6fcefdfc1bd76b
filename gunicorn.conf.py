"""gunicorn settings for Brief: ``gunicorn -c gunicorn.conf.py 'app:create_app()'``.

Each worker builds the app itself after the fork (no ``preload_app``): the encoder's runtime starts
threads, which do not survive a fork, so the model, encoder and Punkt parameters are loaded once per
worker, in the worker, and before it accepts its first connection (``create_app`` loads them): no
request ever reaches a worker that is still loading. The app's code is imported here, in the master,
before the fork (``PRELOADED``): the workers share those pages instead of each importing it again.
The application's own settings are read in ``app.create_app``; these are the server's.

Workers are replaced without a failed request: a recycled worker (``max_requests``) or an old one
at a reload finishes the requests it holds (``graceful_timeout``), and at a reload (``kill -HUP``
of the master, the way to roll out a new model) the old workers keep serving until the new ones
are ready (``app.server.handover``).
"""

import ctypes
import ctypes.util
import gc
import importlib
import os
import random
import shutil
import tempfile
import threading
import time
from pathlib import Path

from app.settings import Settings

# Every BRIEF_ variable is read and checked here, before any worker starts: a bad value stops the
# server with a message naming it. The app's settings are the same class's (app/settings.py).
settings = Settings.load()
bind = settings.BIND
workers = settings.WORKERS
worker_class = "gthread"  # the main thread keeps the heartbeat going while request threads score
threads = settings.THREADS
timeout = settings.TIMEOUT  # a worker silent this long is restarted
graceful_timeout = settings.GRACEFUL_TIMEOUT  # a stopping worker's time to finish its requests
# Recycle each worker after this many requests (0: never), plus a random 0 to jitter more, so that
# the workers of one server are not all due at once. Not gunicorn's own max_requests, which stops
# a worker before its replacement has loaded: here the worker serves until that one is ready.
recycle_after = settings.MAX_REQUESTS
recycle_jitter = settings.max_requests_jitter
# A worker loads its model before it takes a request and beats its heartbeat meanwhile: a loading
# worker is restarted after this many seconds (then after ``timeout`` of silence as usual).
load_timeout = settings.LOAD_TIMEOUT
keepalive = 5
preload_app = False
control_socket_disable = True  # no gunicornc; and two servers on one machine would share its path
# Request line and headers; the body limit is the app's MAX_CONTENT_LENGTH.
limit_request_line = 4094
limit_request_fields = 50
limit_request_field_size = 8190
# The app logs one JSON line per request itself (app/server/request_log.py); BRIEF_ACCESS_LOG=- adds gunicorn's.
accesslog = settings.ACCESS_LOG or None
errorlog = "-"
loglevel = settings.LOG_LEVEL.lower()

# At most two malloc arenas per process (glibc's default is 8 per core): the request threads of a worker
# would otherwise each grow an arena of their own, and its RSS with them (docs/startup.md). mallopt, not
# MALLOC_ARENA_MAX, because glibc read the environment before this file ran; the workers inherit it.
M_ARENA_MAX = -8
try:
    ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt(M_ARENA_MAX, 2)
except (OSError, AttributeError):  # not glibc
    pass

# TensorFlow's C++ start-up chatter; set before any worker imports it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Threads each worker's TensorFlow computes with. Workers already run in parallel, so by default
# they split the cores between them (2 workers on 2 cores: 1 each); more only adds contention.
# TensorFlow reads these variables when a worker first uses it, after the fork.
tf_threads = settings.TF_THREADS or max(1, (os.cpu_count() or 1) // workers)
os.environ["TF_NUM_INTRAOP_THREADS"] = str(tf_threads)
os.environ["TF_NUM_INTEROP_THREADS"] = str(tf_threads)
os.environ["OMP_NUM_THREADS"] = str(tf_threads)
# Prometheus multiprocess mode: every worker writes its metrics under this folder and /metrics
# sums them. It must be in the environment before prometheus_client is imported anywhere.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="brief-metrics-")
# Each worker records there which model it serves (app.server.workers, GET /api/model).
if not settings.WORKERS_DIR:
    os.environ["BRIEF_WORKERS_DIR"] = tempfile.mkdtemp(prefix="brief-workers-")
SHARED_FOLDERS = ("PROMETHEUS_MULTIPROC_DIR", "BRIEF_WORKERS_DIR")
# The metrics module below makes its files there as it is imported (the container names a folder that
# does not exist yet): on_starting empties them before any worker starts.
for name in SHARED_FOLDERS:
    os.makedirs(os.environ[name], exist_ok=True)

# The app's code, imported once in the master (after the variables above, which some of it reads at
# import). It starts no thread and loads no model: each worker still loads its own after the fork.
# So a reload (kill -HUP) loads a new model and new settings, not new code: restart for that.
PRELOADED = ("app.server.routes", "app.server.error_handlers", "app.server.openapi", "app.server.auth",
             "app.server.headers", "app.server.proxy", "app.server.rate_limits", "app.server.request_log",
             "app.core.numpy_lstm", "h5py")
for module in PRELOADED:
    importlib.import_module(module)


def on_starting(server):
    """Start from empty shared folders: values left by an earlier run would be counted again.

    gunicorn calls this at a reload too, when the workers are still using them: then it keeps them.
    """
    if server.WORKERS:
        return
    for name in SHARED_FOLDERS:
        shutil.rmtree(os.environ[name], ignore_errors=True)  # (a mount point itself stays)
        os.makedirs(os.environ[name], exist_ok=True)


def when_ready(server):
    from app.server.handover import supervise

    supervise(server, workers_dir())


def on_reload(server):
    from app.server.handover import supervisor

    supervisor().retire_all()


def pre_fork(server, worker):
    """Keep the preloaded objects out of the collector's reach: its passes would write to (and so copy)
    every page they sit on in each worker."""
    gc.freeze()


def post_fork(server, worker):
    worker.brief_recycle_at = recycle_after + random.randint(0, recycle_jitter) if recycle_after else 0
    worker.brief_retiring = False
    threading.Thread(target=beat_while_loading, args=(worker,), name="brief-boot-heartbeat", daemon=True).start()


def beat_while_loading(worker):
    """While ``create_app`` loads the model: tell the master this worker lives (the load may take
    longer than ``timeout``), and if it is told to stop meanwhile, stop at once rather than finish
    a load nobody needs (it has accepted nothing, and with ``alive`` false it never will)."""
    deadline = time.monotonic() + load_timeout
    while not worker.booted and time.monotonic() < deadline:
        if not worker.alive:
            os._exit(0)
        worker.notify()
        time.sleep(0.5)


def post_request(worker, req, environ, resp):
    """Past its share of requests, a worker asks the master for a replacement (and serves until it is ready)."""
    if worker.brief_recycle_at and worker.nr >= worker.brief_recycle_at and not worker.brief_retiring:
        from app.server.workers import ask_to_retire

        worker.brief_retiring = True
        ask_to_retire(workers_dir(), worker.pid)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    from app.server.handover import supervisor
    from app.server.workers import forget_worker

    multiprocess.mark_process_dead(worker.pid)
    if supervisor() is not None:
        supervisor().forget(worker.pid)
    forget_worker(workers_dir(), worker.pid)


def workers_dir():
    return Path(os.environ["BRIEF_WORKERS_DIR"])


def on_exit(server):
    for name in SHARED_FOLDERS:
        shutil.rmtree(os.environ[name], ignore_errors=True)
