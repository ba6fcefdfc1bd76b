"""Which model each gunicorn worker serves: one small JSON file per worker, in a folder they all share.

Workers are processes, so none can ask another what it serves. Each worker writes its record
(``<pid>.json``) once its model is loaded (or has failed to load); ``GET /api/model`` lists the
records of the workers still alive, and the gunicorn master reads them to know when the workers of
a reload are ready (``app.server.handover``). gunicorn's ``child_exit`` hook removes a dead
worker's record.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path


def record_worker(folder: Path, pid: int, model: str | None, reason: str) -> None:
    """Write this worker's record: the model id it serves (``None`` while it cannot serve) and why."""
    folder.mkdir(parents=True, exist_ok=True)
    entry = {"pid": pid, "model": model, "ready": model is not None, "status": reason, "since": round(time.time(), 3)}
    part = folder / f".{pid}.json.part"
    part.write_text(json.dumps(entry), encoding="utf-8")
    os.replace(part, folder / f"{pid}.json")  # readers never see half a record


def forget_worker(folder: Path, pid: int) -> None:
    (folder / f"{pid}.json").unlink(missing_ok=True)
    (folder / f"{pid}.retire").unlink(missing_ok=True)


def ask_to_retire(folder: Path, pid: int) -> None:
    """This worker has served its share (``BRIEF_MAX_REQUESTS``): the master replaces it, then stops it."""
    (folder / f"{pid}.retire").touch()


def retiring(folder: Path, pid: int) -> bool:
    return (folder / f"{pid}.retire").exists()


def read_worker(folder: Path, pid: int) -> dict | None:
    """The record of worker ``pid``, or ``None`` if it has written none (it is still loading)."""
    try:
        return json.loads((folder / f"{pid}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def list_workers(folder: Path) -> list[dict]:
    """The records of the workers alive now, by pid (a record left by a killed process is skipped)."""
    entries = []
    for path in sorted(folder.glob("*.json")):
        entry = read_worker(folder, int(path.stem)) if path.stem.isdigit() else None
        if entry is not None and process_alive(entry["pid"]):
            entries.append({**entry, "retiring": retiring(folder, entry["pid"])})
    return sorted(entries, key=lambda e: e["pid"])


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
