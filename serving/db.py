"""The service database: SQLAlchemy tables, the engine, and Alembic migrations run at start-up.

SQLite in the project directory by default (no setup); PostgreSQL or any SQLAlchemy URL by setting.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timezone
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import JSON, Boolean, DateTime, Engine, Float, ForeignKey, Integer, String, Text, create_engine, event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, sessionmaker

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class ApiKey(Base):
    """An API key. Only the SHA-256 of the key is kept: keys are long random strings, so a slow
    password hash would add latency to every request without adding safety."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True, index=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class Complaint(Base):
    """A complaint the API answered, with what the model suggested and what staff decided.

    The text is stored as received: reviewers must read it. It leaves the service only masked (exports)."""

    __tablename__ = "complaints"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[str] = mapped_column(String(80), unique=True)  # request id, or request id/index in a batch
    external_id: Mapped[str | None] = mapped_column(String(200), index=True)
    channel: Mapped[str | None] = mapped_column(String(50))
    text: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    model_version: Mapped[str | None] = mapped_column(String(50), index=True)
    model_run_id: Mapped[str | None] = mapped_column(String(64))
    opd: Mapped[str] = mapped_column(String(50), index=True)
    opd_probability: Mapped[float] = mapped_column(Float)
    opd_top3: Mapped[list] = mapped_column(JSON)  # [{"code", "name", "probability"}, ...]
    urgency: Mapped[str] = mapped_column(String(20), index=True)
    urgency_rank: Mapped[int] = mapped_column(Integer)  # 0 = darurat: lets the queue sort by urgency
    urgency_probability: Mapped[float] = mapped_column(Float)
    urgency_rules: Mapped[list] = mapped_column(JSON)
    needs_review: Mapped[bool] = mapped_column(Boolean, index=True)
    review_reasons: Mapped[list] = mapped_column(JSON)
    explanation: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="baru", index=True)  # baru | ditinjau
    final_opd: Mapped[str | None] = mapped_column(String(50))
    final_urgency: Mapped[str | None] = mapped_column(String(20))
    accepted: Mapped[bool | None] = mapped_column(Boolean)  # suggestion kept unchanged
    reviewed_by: Mapped[str | None] = mapped_column(String(100))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    note: Mapped[str | None] = mapped_column(Text)

    events: Mapped[list[AuditEvent]] = relationship(
        back_populates="complaint", order_by="AuditEvent.id", cascade="all, delete-orphan"
    )


class AuditEvent(Base):
    """One change to a complaint's review: who, when, what it was and what it became. Never updated."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    username: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(20))  # terima | koreksi | buka-ulang
    before: Mapped[dict] = mapped_column(JSON)
    after: Mapped[dict] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)

    complaint: Mapped[Complaint] = relationship(back_populates="events")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))  # reviewer | admin
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ServiceSecret(Base):
    """Secrets every worker must share (the session-signing key), made once on first start."""

    __tablename__ = "service_secrets"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


class Database:
    """Engine and session factory for one database URL."""

    def __init__(self, url: str):
        self.url = url
        self.engine: Engine = create_engine(url, pool_pre_ping=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.session = sessionmaker(self.engine, expire_on_commit=False)

    def migrate(self) -> None:
        """Bring the schema to the newest migration (a no-op when it is there already)."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def shared_secret(self, name: str) -> str:
        """A random secret shared by every worker using this database, created on first use."""
        with self.session() as session:
            row = session.get(ServiceSecret, name)
            if row is not None:
                return row.value
        try:
            with self.session.begin() as session:
                session.add(ServiceSecret(name=name, value=secrets.token_urlsafe(48)))
        except IntegrityError:
            pass  # another worker made it first: use theirs
        with self.session() as session:
            return session.get(ServiceSecret, name).value

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets readers (every authenticated request) run while a writer commits; the busy timeout makes
    # several workers wait for each other instead of failing with "database is locked".
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
