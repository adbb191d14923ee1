"""Staff accounts for the review pages (`triase user create|disable`). Passwords are hashed with Argon2."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from serving.db import Database, User

ROLES = ("reviewer", "admin")
MIN_PASSWORD = 8
_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Checked when the user does not exist, so a wrong name takes as long as a wrong password. Made on first
    use, not at import: an Argon2 hash is deliberately slow, and every service start would pay for it."""
    return _hasher.hash("no such user, no such password")


class UserError(ValueError):
    pass


@dataclass(frozen=True)
class Staff:
    username: str
    role: str
    active: bool

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class Users:
    def __init__(self, db: Database):
        self.db = db

    def create(self, username: str, password: str, role: str = "reviewer") -> Staff:
        username = username.strip()
        if role not in ROLES:
            raise UserError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        if not username or len(username) > 100:
            raise UserError("a username needs 1 to 100 characters")
        if len(password) < MIN_PASSWORD:
            raise UserError(f"a password needs at least {MIN_PASSWORD} characters")
        try:
            with self.db.session.begin() as session:
                session.add(User(username=username, password_hash=_hasher.hash(password), role=role, active=True))
        except IntegrityError:
            raise UserError(f"user {username!r} already exists") from None
        return Staff(username, role, True)

    def disable(self, username: str) -> Staff:
        with self.db.session.begin() as session:
            user = session.scalar(select(User).where(User.username == username))
            if user is None:
                raise UserError(f"no user {username!r}")
            user.active = False
            return Staff(user.username, user.role, False)

    def get(self, username: str) -> Staff | None:
        with self.db.session() as session:
            user = session.scalar(select(User).where(User.username == username))
            return Staff(user.username, user.role, user.active) if user else None

    def authenticate(self, username: str, password: str) -> Staff | None:
        """The user if the password is right and the account active, else None."""
        with self.db.session() as session:
            user = session.scalar(select(User).where(User.username == username.strip()))
        try:
            _hasher.verify(user.password_hash if user else _dummy_hash(), password)
        except (VerificationError, InvalidHashError):
            return None
        if user is None or not user.active:
            return None
        return Staff(user.username, user.role, user.active)
