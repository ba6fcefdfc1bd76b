"""gunicorn settings for Brief: ``gunicorn -c gunicorn.conf.py 'app:create_app()'``.

Each worker builds the app itself after the fork (no ``preload_app``): TensorFlow does not survive
a fork, so the model, encoder and Punkt parameters are loaded once per worker, in the worker.
The application's own settings are read in ``app.create_app``; these are the server's.
"""

import os
import shutil
import tempfile

bind = os.environ.get("BRIEF_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("BRIEF_WORKERS", "2"))
worker_class = "gthread"  # the main thread keeps the heartbeat going while request threads score
threads = int(os.environ.get("BRIEF_THREADS", "4"))
timeout = int(os.environ.get("BRIEF_TIMEOUT", "120"))  # a worker silent this long is restarted
graceful_timeout = int(os.environ.get("BRIEF_GRACEFUL_TIMEOUT", "30"))
keepalive = 5
preload_app = False
control_socket_disable = True  # no gunicornc; and two servers on one machine would share its path
# Request line and headers; the body limit is the app's MAX_CONTENT_LENGTH.
limit_request_line = 4094
limit_request_fields = 50
limit_request_field_size = 8190
# The app logs one JSON line per request itself (app/server/request_log.py); BRIEF_ACCESS_LOG=- adds gunicorn's.
accesslog = os.environ.get("BRIEF_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("BRIEF_LOG_LEVEL", "info")

# TensorFlow's C++ start-up chatter; set before any worker imports it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Threads each worker's TensorFlow computes with. Workers already run in parallel, so by default
# they split the cores between them (2 workers on 2 cores: 1 each); more only adds contention.
# TensorFlow reads these variables when a worker first uses it, after the fork.
tf_threads = int(os.environ.get("BRIEF_TF_THREADS", "0")) or max(1, (os.cpu_count() or 1) // workers)
os.environ["TF_NUM_INTRAOP_THREADS"] = str(tf_threads)
os.environ["TF_NUM_INTEROP_THREADS"] = str(tf_threads)
os.environ["OMP_NUM_THREADS"] = str(tf_threads)
# Prometheus multiprocess mode: every worker writes its metrics under this folder and /metrics
# sums them. It must be in the environment before prometheus_client is imported anywhere.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="brief-metrics-")


def on_starting(server):
    """Start from an empty metrics folder: values left by an earlier run would be counted again."""
    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
