"""call analytics: every ended call's measures and its extractive summary

Revision ID: 0008
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "call_analytics",
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("analysed_at", sa.DateTime(), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("handle_seconds", sa.Float(), nullable=False),
        sa.Column("caller_talk_seconds", sa.Float(), nullable=False),
        sa.Column("agent_talk_seconds", sa.Float(), nullable=False),
        sa.Column("agent_talk_ratio", sa.Float(), nullable=True),
        sa.Column("non_talk_seconds", sa.Float(), nullable=False),
        sa.Column("caller_interruptions", sa.Integer(), nullable=False),
        sa.Column("agent_interruptions", sa.Integer(), nullable=False),
        sa.Column("long_silences", sa.Integer(), nullable=False),
        sa.Column("longest_silence_seconds", sa.Float(), nullable=False),
        sa.Column("hold_seconds", sa.Float(), nullable=False),
        sa.Column("seconds_to_human", sa.Float(), nullable=True),
        sa.Column("mood_start", sa.Float(), nullable=True),
        sa.Column("mood_end", sa.Float(), nullable=True),
        sa.Column("asked_twice", sa.Integer(), nullable=False),
        sa.Column("empathy_phrases", sa.Integer(), nullable=False),
        sa.Column("courtesy_phrases", sa.Integer(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("cpu_seconds", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_call_analytics_call_id_calls")
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_call_analytics_agent_id_agents")
        ),
        sa.PrimaryKeyConstraint("call_id", name=op.f("pk_call_analytics")),
    )
    for column in ("analysed_at", "queue", "agent_id"):
        op.create_index(op.f(f"ix_call_analytics_{column}"), "call_analytics", [column])
    op.create_table(
        "call_summaries",
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("written_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_call_summaries_call_id_calls")
        ),
        sa.PrimaryKeyConstraint("call_id", name=op.f("pk_call_summaries")),
    )


def downgrade() -> None:
    op.drop_table("call_summaries")
    for column in ("analysed_at", "queue", "agent_id"):
        op.drop_index(op.f(f"ix_call_analytics_{column}"), table_name="call_analytics")
    op.drop_table("call_analytics")
