"""survey: the post-call survey per queue (on, frequency cap), answers per call, coaching marks

Revision ID: 0010
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("queues") as batch:
        batch.add_column(
            sa.Column("survey_enabled", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("survey_cap_days", sa.Integer(), nullable=False, server_default="7")
        )
    op.create_table(
        "call_surveys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("caller", sa.String(length=200), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("csat", sa.Integer(), nullable=True),
        sa.Column("solved", sa.Boolean(), nullable=True),
        sa.Column("channel", sa.String(length=8), nullable=True),
        sa.Column("asked_at", sa.DateTime(), nullable=False),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_call_surveys_call_id_calls")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_call_surveys_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_call_surveys_agent_id_agents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_surveys")),
        sa.UniqueConstraint("call_id", name=op.f("uq_call_surveys_call_id")),
    )
    for column in ("customer_id", "caller", "agent_id", "asked_at"):
        op.create_index(op.f(f"ix_call_surveys_{column}"), "call_surveys", [column])
    op.create_table(
        "coaching_marks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("supervisor_id", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("speaker", sa.String(length=16), nullable=False),
        sa.Column("words", sa.String(length=2000), nullable=False),
        sa.Column("note", sa.String(length=2000), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_coaching_marks_call_id_calls")
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_coaching_marks_agent_id_agents")
        ),
        sa.ForeignKeyConstraint(
            ["supervisor_id"], ["agents.id"], name=op.f("fk_coaching_marks_supervisor_id_agents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coaching_marks")),
    )
    for column in ("call_id", "agent_id"):
        op.create_index(op.f(f"ix_coaching_marks_{column}"), "coaching_marks", [column])


def downgrade() -> None:
    for column in ("call_id", "agent_id"):
        op.drop_index(op.f(f"ix_coaching_marks_{column}"), table_name="coaching_marks")
    op.drop_table("coaching_marks")
    for column in ("customer_id", "caller", "agent_id", "asked_at"):
        op.drop_index(op.f(f"ix_call_surveys_{column}"), table_name="call_surveys")
    op.drop_table("call_surveys")
    with op.batch_alter_table("queues") as batch:
        batch.drop_column("survey_cap_days")
        batch.drop_column("survey_enabled")
