"""Every setting of Brief in one place: the service's, gunicorn's and the command line's, and the default paths.

Each field of ``Settings`` can be set by an environment variable of its name with the ``BRIEF_``
prefix (``BRIEF_MAX_ARTICLES=32``, ``BRIEF_FETCH_URLS=1``). ``Settings.load`` reads and checks them
all at start: a value that is not of its setting's type, or out of its range, stops the start with
a message that names the variable. gunicorn reads them in ``gunicorn.conf.py``, the app in
``create_app``, the ``brief`` command in ``app/cli.py``: the same class, the same checks.

This module imports nothing else of Brief: every layer may read it.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

ROOT = Path(__file__).resolve().parent.parent  # the repository: relative paths in the settings are from here
PREFIX = "BRIEF_"

# Default paths, relative to the repository root: the shipped model, its card, the Punkt parameters;
# training's vector cache and run folders (relative to where training runs, the repository root).
MODEL_FILE = "models/brief.h5"
CARD_FILE = "models/brief.json"
NLTK_DATA = "models/nltk_data"
VECTOR_CACHE = "cache/vectors.h5"
ENCODER_CACHE = "models/encoder"  # the encoder converted for OpenVINO, one folder per weights/version/precision (gitignored)
RUNS = "runs"
DATA_ROOT = ROOT.parent / "shared" / "data"  # the data sets (read only, never in the repository)


class SettingsError(ValueError):
    """A ``BRIEF_`` variable (or an override) that is not a valid value for its setting."""


def setting(default: Any, minimum: float | None = None, choices: tuple = ()) -> Any:
    return field(default=default, metadata={"minimum": minimum, "choices": choices})


@dataclass(frozen=True)
class Settings:
    # --- the model ---
    MODEL_PATH: str = MODEL_FILE  # the trained LSTM
    CARD_PATH: str = CARD_FILE  # its model card (app/core/card.py): id, sha256, features, validation score distribution
    NLTK_DATA: str = NLTK_DATA  # the Punkt parameters
    # --- the encoder (app/core/encoder_runtime.py; training and the benchmarks read these too) ---
    ENCODER_PRECISION: str = setting("auto", choices=("auto", "float32", "bfloat16"))  # auto: bfloat16 where the CPU has AMX or AVX512_BF16, else float32
    ENCODER_CACHE: str = ENCODER_CACHE  # folder of the converted encoder: built at the first start, read by every later one
    # --- requests ---
    MAX_CONTENT_LENGTH: int = setting(1 << 20, minimum=1)  # bytes of request body; larger is refused (413) before it is read
    BODY_TIMEOUT: float = setting(10, minimum=0)  # seconds a client may take to send its whole body (408 beyond): slow clients hold no thread
    MAX_ARTICLES: int = setting(16, minimum=1)  # articles in one batch request (413 beyond)
    MAX_SENTENCES: int = setting(1000, minimum=1)  # sentences in one request, all articles together (413 beyond)
    DEFAULT_TOP: int = setting(5, minimum=1)  # highlights when the request names no "top" (Brief's "Top Highlights")
    LOAD_IN_BACKGROUND: bool = False  # True: load in a thread and answer 503 meanwhile; False: a gunicorn worker takes no request before it is ready
    WORKERS_DIR: str = ""  # folder where each worker records the model it serves (GET /api/model); gunicorn.conf.py sets one
    # --- drift ---
    DRIFT_MIN_SAMPLES: int = setting(200, minimum=1)  # live sentence scores needed before /api/drift gives a verdict
    DRIFT_PSI_WARN: float = setting(0.1, minimum=0)  # population stability index from which the drift status is "warn"
    DRIFT_PSI_ALERT: float = setting(0.25, minimum=0)  # ... and "alert"
    LOG_LEVEL: str = setting("INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"))
    # --- URLs ---
    FETCH_URLS: bool = False  # fetch pages for {"url": ...} requests (off: 422 url_fetching_off)
    FETCH_ALLOW: str = ""  # comma-separated addresses or networks fetched although not public ("127.0.0.1,10.0.0.0/8")
    FETCH_MAX_BYTES: int = setting(2 << 20, minimum=1)  # bytes of a fetched page; larger is refused (413 page_too_large)
    FETCH_CONNECT_TIMEOUT: float = setting(5, minimum=0)  # seconds to connect to a page's server (504 fetch_timeout beyond)
    FETCH_TIMEOUT: float = setting(15, minimum=0)  # seconds for a whole fetch, redirects included (504 fetch_timeout beyond)
    # --- on the internet ---
    API_KEYS_FILE: str = ""  # file of key hashes and client names (`brief keys new NAME`); empty: no keys needed
    PROTECT_OPS: bool = False  # with keys on, /metrics, /api/model and /api/drift need a key too
    RATE_LIMIT: str = ""  # per client, e.g. "60 requests/minute, 20000 sentences/minute"; empty: no limit
    RATE_LIMIT_STORAGE: str = "memory://"  # where counts live: memory:// is this process only; redis://host:6379/0 is shared
    PROXIES: int = setting(0, minimum=0)  # reverse proxies in front whose X-Forwarded-For is trusted (0: the peer is the client)
    CORS_ORIGINS: str = ""  # origins whose pages may read API answers, comma-separated ("*": any); empty: none
    # --- brief batch (app/batch/): Ray actors, each a loaded model ---
    BATCH_ACTORS: int = setting(0, minimum=0)  # actors scoring at once (0: one per BATCH_ACTOR_CPUS cores of the Ray cluster)
    BATCH_ACTOR_CPUS: int = setting(1, minimum=1)  # cores (TensorFlow threads) of each actor
    BATCH_ROWS: int = setting(16, minimum=1)  # input rows handed to an actor at a time
    BATCH_ROWS_IN_FLIGHT: int = setting(4, minimum=1)  # rows an actor scores at once, sharing encoder batches (as a worker's THREADS)
    # --- gunicorn (gunicorn.conf.py) ---
    BIND: str = "127.0.0.1:8000"
    WORKERS: int = setting(2, minimum=1)
    THREADS: int = setting(4, minimum=1)  # request threads per worker (gthread)
    TIMEOUT: int = setting(120, minimum=1)  # a worker silent this long is restarted
    GRACEFUL_TIMEOUT: int = setting(30, minimum=0)  # a stopping worker's time to finish its requests
    MAX_REQUESTS: int = setting(0, minimum=0)  # recycle each worker after this many requests (0: never)...
    MAX_REQUESTS_JITTER: int | None = setting(None, minimum=0)  # ...plus a random 0 to this (default: a fifth of MAX_REQUESTS)
    LOAD_TIMEOUT: float = setting(600, minimum=1)  # seconds a worker may take to load its model before it is restarted
    ACCESS_LOG: str = ""  # gunicorn's access log ("-": stderr); off by default, as it would log query strings
    TF_THREADS: int = setting(0, minimum=0)  # TensorFlow threads per worker (0: the cores shared between the workers)

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None) -> "Settings":
        """The defaults, then ``BRIEF_`` variables of ``environ`` (``os.environ``), then ``overrides``; all checked."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if PREFIX + f.name in environ:
                values[f.name] = _parse(f, environ[PREFIX + f.name], PREFIX + f.name)
        for name, value in (overrides or {}).items():
            f = _FIELDS.get(name)
            if f is not None:
                values[name] = _parse(f, value, name)
        return cls(**values)

    def as_config(self) -> dict[str, Any]:
        """The settings as a mapping (the Flask app's config)."""
        return dataclasses.asdict(self)

    @property
    def max_requests_jitter(self) -> int:
        return self.MAX_REQUESTS // 5 if self.MAX_REQUESTS_JITTER is None else self.MAX_REQUESTS_JITTER


_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


def _parse(f: dataclasses.Field, value: Any, name: str) -> Any:
    """``value`` (text from the environment, or a Python value) as the setting's type, checked."""
    kind = f.type.replace(" | None", "")
    if value is None and f.type.endswith("| None"):
        return None
    try:
        if kind == "bool":
            if isinstance(value, bool):
                parsed = value
            elif str(value).strip().lower() in _TRUE + _FALSE:
                parsed = str(value).strip().lower() in _TRUE
            else:
                raise ValueError
        elif kind == "int":
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            parsed = int(str(value).strip()) if isinstance(value, str) else int(value)
        elif kind == "float":
            parsed = float(value)
        else:
            parsed = str(value)
    except (TypeError, ValueError):
        expected = {"bool": "true or false (1, 0, yes, no, on, off)", "int": "a whole number", "float": "a number"}[kind]
        raise SettingsError(f"{name} must be {expected}, not {value!r}") from None
    minimum, choices = f.metadata.get("minimum"), f.metadata.get("choices")
    if minimum is not None and parsed < minimum:
        raise SettingsError(f"{name} must be at least {minimum:g}, not {value!r}")
    if choices and str(parsed).upper() not in [c.upper() for c in choices]:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return parsed


def resolve(path: str | Path) -> Path:
    """A setting's path: absolute as given, or relative to the repository root (not the working directory)."""
    path = Path(path)
    return path if path.is_absolute() else ROOT / path
