"""Start-up: the gunicorn master holds the app's code, and no model runtime, when it forks its workers."""

from pathlib import Path

import pytest


@pytest.mark.slow
def test_the_master_forks_its_workers_with_the_app_imported_and_no_tensorflow(server):
    # A runtime's threads do not survive a fork: the master may import code (gunicorn.conf.py
    # PRELOADED), never a model runtime. h5py's library stands for the preloaded code.
    maps = Path(f"/proc/{server.process.pid}/maps").read_text()
    assert "/h5py/" in maps
    assert "tensorflow" not in maps
