"""API keys: created, listed and revoked by `triase apikey`, checked on every request.

A key looks like `tri_<prefix>_<secret>`. The prefix finds the row; the SHA-256 of the whole key is compared
in constant time, so neither a wrong prefix nor a wrong secret answers faster than the other.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from serving.db import ApiKey, Database, utcnow

ROLES = ("intake", "admin")
BOOTSTRAP_NAME = "bootstrap-admin"
_DUMMY_HASH = hashlib.sha256(b"no such key").hexdigest()


class ApiKeyError(ValueError):
    """A key operation that cannot be done (unknown role, name taken, no such key)."""


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached and nothing cached can answer instead."""


@dataclass(frozen=True)
class KeyInfo:
    name: str
    prefix: str
    role: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def _info(row: ApiKey) -> KeyInfo:
    return KeyInfo(row.name, row.prefix, row.role, row.created_at, row.revoked_at)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _prefix_of(key: str) -> str | None:
    parts = key.split("_", 2)
    return parts[1] if len(parts) == 3 and parts[0] == "tri" else None


class ApiKeys:
    """`recheck_seconds`: a key verified that recently is trusted without asking the database again, so a busy
    intake system costs one lookup every few seconds rather than one per request; a revocation takes effect
    within that time (0: every request is checked).
    `cache_seconds`: keys verified that recently keep working while the database is unreachable, so that
    predictions go on during an outage.
    """

    def __init__(self, db: Database, cache_seconds: float = 0.0, recheck_seconds: float = 0.0):
        self.db = db
        self.cache_seconds = cache_seconds
        self.recheck_seconds = recheck_seconds
        self._verified: dict[str, tuple[KeyInfo, float]] = {}  # key hash -> (record, when verified)

    def create(self, name: str, role: str) -> tuple[str, KeyInfo]:
        """A new key (returned once, in clear) and what is stored about it."""
        if role not in ROLES:
            raise ApiKeyError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        name = name.strip()
        if not name:
            raise ApiKeyError("a key needs a name")
        prefix = secrets.token_hex(4)
        key = f"tri_{prefix}_{secrets.token_urlsafe(24)}"
        row = ApiKey(name=name, prefix=prefix, key_hash=_hash(key), role=role, created_at=utcnow())
        try:
            with self.db.session.begin() as session:
                session.add(row)
        except IntegrityError:
            raise ApiKeyError(f"a key named {name!r} already exists") from None
        return key, _info(row)

    def list(self) -> list[KeyInfo]:
        with self.db.session() as session:
            return [_info(r) for r in session.scalars(select(ApiKey).order_by(ApiKey.created_at))]

    def revoke(self, name_or_prefix: str) -> KeyInfo:
        with self.db.session.begin() as session:
            row = session.scalar(
                select(ApiKey).where((ApiKey.name == name_or_prefix) | (ApiKey.prefix == name_or_prefix))
            )
            if row is None:
                raise ApiKeyError(f"no key named or prefixed {name_or_prefix!r}")
            if row.revoked_at is None:
                row.revoked_at = utcnow()
            return _info(row)

    def recently_verified(self, key: str) -> KeyInfo | None:
        """The key's record if it was verified within `recheck_seconds` (no database needed), else None."""
        return self._recent(_hash(key))

    def verify(self, key: str) -> KeyInfo | None:
        """The key's record if it is valid and not revoked, else None."""
        digest = _hash(key)
        found = self._recent(digest)
        if found is not None:
            return found
        prefix = _prefix_of(key)
        row = None
        if prefix is not None:
            try:
                with self.db.session() as session:
                    row = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
            except SQLAlchemyError:
                return self._cached(digest)
        matches = hmac.compare_digest(row.key_hash if row else _DUMMY_HASH, digest)
        if row is None or not matches or row.revoked_at is not None:
            self._verified.pop(digest, None)
            return None
        info = _info(row)
        if self.cache_seconds or self.recheck_seconds:
            self._verified[digest] = (info, time.monotonic())
        return info

    def _recent(self, digest: str) -> KeyInfo | None:
        return self._verified_within(digest, self.recheck_seconds)

    def _cached(self, digest: str) -> KeyInfo:
        info = self._verified_within(digest, self.cache_seconds)
        if info is None:
            raise DatabaseUnavailable("the key database is unreachable and this key was not verified recently")
        return info

    def _verified_within(self, digest: str, seconds: float) -> KeyInfo | None:
        info, when = self._verified.get(digest, (None, 0.0))
        return info if info is not None and time.monotonic() - when < seconds else None

    def bootstrap_admin(self) -> str | None:
        """On an empty store, create the first admin key and return it; otherwise None.

        The fixed name makes this safe when several workers start at once: only one insert can succeed.
        """
        with self.db.session() as session:
            if session.scalar(select(func.count()).select_from(ApiKey)):
                return None
        try:
            key, _ = self.create(BOOTSTRAP_NAME, "admin")
        except ApiKeyError:
            return None
        return key
