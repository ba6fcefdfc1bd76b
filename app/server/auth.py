"""API keys: the keys file, making a key, and the check in front of every request that needs one.

Off by default. With ``API_KEYS_FILE`` set, every request except the open ones (the page, its
static files and samples, ``/api/health``, ``/api/ready``, ``/openapi.json``) needs a key, sent as
``Authorization: Bearer KEY`` or ``X-API-Key: KEY``. With ``PROTECT_OPS`` false, ``/metrics``,
``/api/model`` and ``/api/drift`` stay open too.

The file holds one key per line as ``sha256:HEX NAME`` (``#`` starts a comment): only the SHA-256
of each key, never the key itself, and the client's name for the logs and the rate limits.
``brief keys new NAME`` makes a key and prints that line. The file is read again when it changes,
so a key is added or revoked without a restart.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask, Request, g, request

from app.errors import APIError

log = logging.getLogger(__name__)

KEY_PREFIX = "brief_"  # makes a leaked key easy to recognise (and to grep for)
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
LINE = re.compile(r"sha256:([0-9a-f]{64})\s+(\S+)")
OPEN_ENDPOINTS = {"brief.index", "static", "brief.samples", "brief.health", "brief.ready", "brief.openapi"}
OPS_ENDPOINTS = {"brief.prometheus_metrics", "brief.model_card", "brief.drift"}
CHALLENGE = 'Bearer realm="brief"'


class KeysFileError(ValueError):
    """The keys file cannot be read, or a line in it is not ``sha256:HEX NAME``."""


def new_key(name: str) -> tuple[str, str]:
    """A new random key and the line that lets it in (for the keys file)."""
    if not NAME.fullmatch(name):
        raise ValueError(f"a client name is 1 to 64 letters, digits or . _ @ - (starting with a letter or digit), not {name!r}")
    key = KEY_PREFIX + secrets.token_urlsafe(32)  # 256 random bits
    return key, f"sha256:{hash_key(key)} {name}"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def parse_keys(text: str, source: str = "the keys file") -> list[tuple[bytes, str]]:
    """``(sha256 digest, client name)`` for every key line; blank lines and ``#`` comments are skipped."""
    keys = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = LINE.fullmatch(line)
        if not match or not NAME.fullmatch(match[2]):
            raise KeysFileError(f"{source}, line {number}: expected 'sha256:<64 hex digits> NAME'")
        keys.append((bytes.fromhex(match[1]), match[2]))
    return keys


@dataclass
class KeyRing:
    """The keys of one keys file, read again whenever the file changes."""

    path: Path
    keys: list[tuple[bytes, str]]
    stamp: tuple[int, int]  # (mtime in ns, size) of the version read
    lock: threading.Lock = field(default_factory=threading.Lock)  # one request thread re-reads at a time

    @classmethod
    def load(cls, path: Path) -> "KeyRing":
        ring = cls(path, [], (0, 0))
        ring.reload()
        return ring

    def reload(self) -> None:
        try:
            stat = self.path.stat()
            self.keys = parse_keys(self.path.read_text(encoding="utf-8"), str(self.path))
        except (OSError, UnicodeDecodeError) as e:
            raise KeysFileError(f"cannot read the keys file {self.path}: {e}") from e
        self.stamp = (stat.st_mtime_ns, stat.st_size)

    def refresh(self) -> None:
        """Read the file again if it changed; a broken new version leaves the old keys in force (logged once)."""
        try:
            stat = self.path.stat()
        except OSError as e:
            log.error("keeping the previous keys: %s", e)
            return
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp == self.stamp:
            return
        with self.lock:
            if stamp == self.stamp:
                return
            try:
                self.reload()
                log.info("keys file %s read again: %d keys", self.path, len(self.keys))
            except KeysFileError as e:
                self.stamp = stamp
                log.error("keeping the previous keys: %s", e)

    def identify(self, key: str) -> str | None:
        """The client name of ``key``, or None. Its time depends on the number of keys, not on ``key``.

        Only digests are compared, each with ``hmac.compare_digest``, and every stored key is compared
        (no early exit), so neither how much of a key is right nor which key matched shows in the time.
        """
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
        found = None
        for stored, name in self.keys:
            if hmac.compare_digest(digest, stored):
                found = name
        return found


def presented_key(req: Request) -> str | None:
    """The key sent as ``Authorization: Bearer KEY`` or ``X-API-Key: KEY``, if any."""
    scheme, _, credentials = req.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return req.headers.get("X-API-Key", "").strip() or None


def needs_key(endpoint: str | None, protect_ops: bool) -> bool:
    """Whether a request to this endpoint must carry a key (when keys are on). Unrouted paths get their 404/405."""
    if endpoint is None or endpoint in OPEN_ENDPOINTS:
        return False
    return protect_ops or endpoint not in OPS_ENDPOINTS


def authenticate(ring: KeyRing, protect_ops: bool) -> None:
    """Sets ``g.client`` to the key's client name, or refuses the request with 401."""
    if request.method == "OPTIONS" or not needs_key(request.endpoint, protect_ops):
        return  # a CORS preflight never carries credentials
    key = presented_key(request)
    if key is None:
        raise APIError(401, "unauthorized", "this endpoint needs an API key: send 'Authorization: Bearer KEY' "
                                            "or 'X-API-Key: KEY'", {"WWW-Authenticate": CHALLENGE})
    ring.refresh()
    name = ring.identify(key)
    if name is None:
        raise APIError(401, "unauthorized", "the API key is not valid",
                       {"WWW-Authenticate": CHALLENGE + ', error="invalid_token"'})
    g.client = name


def install(app: Flask) -> None:
    """Check keys before every request, if ``API_KEYS_FILE`` names a keys file (a broken file stops the start)."""
    path = app.config["API_KEYS_FILE"]
    if not path:
        return
    ring = KeyRing.load(Path(path))
    if not ring.keys:
        log.warning("the keys file %s holds no key: every request that needs one will be refused", path)
    app.extensions["api_keys"] = ring
    protect_ops = bool(app.config["PROTECT_OPS"])

    @app.before_request
    def check_key() -> None:
        authenticate(ring, protect_ops)
