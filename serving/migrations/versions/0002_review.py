"""Prediction records, review decisions, audit trail, staff users, shared secrets.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "complaints",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("record_id", sa.String(80), nullable=False, unique=True),
        sa.Column("external_id", sa.String(200), nullable=True, index=True),
        sa.Column("channel", sa.String(50), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("model_version", sa.String(50), nullable=True, index=True),
        sa.Column("model_run_id", sa.String(64), nullable=True),
        sa.Column("opd", sa.String(50), nullable=False, index=True),
        sa.Column("opd_probability", sa.Float(), nullable=False),
        sa.Column("opd_top3", sa.JSON(), nullable=False),
        sa.Column("urgency", sa.String(20), nullable=False, index=True),
        sa.Column("urgency_rank", sa.Integer(), nullable=False),
        sa.Column("urgency_probability", sa.Float(), nullable=False),
        sa.Column("urgency_rules", sa.JSON(), nullable=False),
        sa.Column("needs_review", sa.Boolean(), nullable=False, index=True),
        sa.Column("review_reasons", sa.JSON(), nullable=False),
        sa.Column("explanation", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("final_opd", sa.String(50), nullable=True),
        sa.Column("final_urgency", sa.String(20), nullable=True),
        sa.Column("accepted", sa.Boolean(), nullable=True),
        sa.Column("reviewed_by", sa.String(100), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True, index=True),
        sa.Column("note", sa.Text(), nullable=True),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("complaint_id", sa.Integer(), sa.ForeignKey("complaints.id"), nullable=False, index=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("username", sa.String(100), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(100), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "service_secrets",
        sa.Column("name", sa.String(50), primary_key=True),
        sa.Column("value", sa.String(200), nullable=False),
    )


def downgrade() -> None:
    for table in ("service_secrets", "users", "audit_events", "complaints"):
        op.drop_table(table)
