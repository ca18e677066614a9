"""supervisor: alerts and their rules, watched phrases, live transcript lines, monitor sessions,
credit reviews

Revision ID: 0006
Revises: 0005
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

#: What supervisors start with (they edit the list on the floor page).
STARTING_PHRASES = {
    "en": ["cancel", "lawyer", "complaint", "refund", "close my account", "ombudsman"],
    "it": ["disdetta", "avvocato", "reclamo", "rimborso", "chiudere il conto"],
    "ko": ["해지", "변호사", "민원", "환불", "고소"],
}


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("words", sa.JSON(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("worker", sa.String(length=64), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(), nullable=True),
        sa.Column("acknowledged_by", sa.Integer(), nullable=True),
        _fk("alerts", "agent_id", "agents"),
        _fk("alerts", "acknowledged_by", "agents"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    for column in ("call_id", "queue", "at"):
        op.create_index(op.f(f"ix_alerts_{column}"), "alerts", [column])
    op.create_table(
        "alert_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_rules")),
        sa.UniqueConstraint("queue", "rule", name="uq_alert_rules_queue_rule"),
    )
    op.create_table(
        "watched_phrases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("phrase", sa.String(length=120), nullable=False),
        sa.Column("added_by", sa.Integer(), nullable=True),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        _fk("watched_phrases", "added_by", "agents"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watched_phrases")),
        sa.UniqueConstraint("locale", "phrase", name="uq_watched_phrases_locale_phrase"),
    )
    op.create_index(op.f("ix_watched_phrases_locale"), "watched_phrases", ["locale"])
    phrases = sa.table(
        "watched_phrases",
        sa.column("locale", sa.String),
        sa.column("phrase", sa.String),
        sa.column("added_at", sa.DateTime),
    )
    seeded = datetime.now(UTC).replace(tzinfo=None)
    op.bulk_insert(
        phrases,
        [
            {"locale": locale, "phrase": phrase, "added_at": seeded}
            for locale, words in STARTING_PHRASES.items()
            for phrase in words
        ],
    )
    op.create_table(
        "transcript_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("speaker", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("mood", sa.String(length=16), nullable=True),
        sa.Column("mood_score", sa.Float(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transcript_lines")),
    )
    op.create_index(op.f("ix_transcript_lines_call_id"), "transcript_lines", ["call_id"])
    op.create_index(op.f("ix_transcript_lines_at"), "transcript_lines", ["at"])
    op.create_table(
        "monitor_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("supervisor_id", sa.Integer(), nullable=False),
        sa.Column("extension", sa.String(length=32), nullable=False),
        sa.Column("worker", sa.String(length=64), nullable=True),
        sa.Column("modes", sa.JSON(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("end_reason", sa.String(length=64), nullable=True),
        _fk("monitor_sessions", "supervisor_id", "agents"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitor_sessions")),
    )
    op.create_index(op.f("ix_monitor_sessions_call_id"), "monitor_sessions", ["call_id"])
    op.create_table(
        "credit_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("credit_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("reversal_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        _fk("credit_reviews", "credit_id", "credits"),
        _fk("credit_reviews", "reviewer_id", "agents"),
        _fk("credit_reviews", "reversal_id", "credits"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_reviews")),
        sa.UniqueConstraint("credit_id", name=op.f("uq_credit_reviews_credit_id")),
    )


def downgrade() -> None:
    for table in (
        "credit_reviews",
        "monitor_sessions",
        "transcript_lines",
        "watched_phrases",
        "alert_rules",
        "alerts",
    ):
        op.drop_table(table)
