"""The machine a figure was measured on: CPU, cores, memory, load, date, versions, commit, and the model served.

Every benchmark's JSON (``bench/``) and the soak's (``tests/soak.py``) start with it.
"""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from app.settings import Settings, resolve

REPO = Path(__file__).resolve().parent.parent
NO_GPU = "none lent to this task (the device tool's status says can_start_another=false); CPU only"


def machine() -> dict:
    """CPU model, cores, memory, load average now, date (UTC), versions, git commit."""
    model = platform.processor() or "unknown"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    mem_kb = next(int(l.split()[1]) for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal"))
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "app", "gunicorn.conf.py"], cwd=REPO,
                           capture_output=True, text=True).stdout.strip()
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 2**20, 1),
        "gpu": NO_GPU,
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "commit": commit + ("+uncommitted app changes" if dirty else ""),
        "model": _model_card_summary(),
    }


def _model_card_summary() -> dict:
    """Which LSTM the figures are for: its path, card id and sha256."""
    from app.core.card import ModelCard
    from app.core.model_file import ModelFileError

    # the shipped model, or where BRIEF_MODEL_PATH / BRIEF_CARD_PATH point (as for the service)
    settings = Settings.load()
    model_path, card_path = resolve(settings.MODEL_PATH), resolve(settings.CARD_PATH)
    try:
        card = ModelCard.read(card_path)
    except ModelFileError:
        return {"path": str(model_path), "card": "missing"}
    return {"path": str(model_path), "id": card.id, "sha256": card.model_sha256,
            "hyperparameters": card.hyperparameters}
