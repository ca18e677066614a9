"""routing: agents' queues, callback policy per queue, callback tries, negative affinity

Revision ID: 0007
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.add_column(sa.Column("queues", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("queues") as batch:
        batch.add_column(
            sa.Column("skill_wait_seconds", sa.Integer(), nullable=False, server_default="60")
        )
        batch.add_column(
            sa.Column(
                "callback_mode", sa.String(length=16), nullable=False, server_default="agent_first"
            )
        )
        batch.add_column(
            sa.Column("callback_attempts", sa.Integer(), nullable=False, server_default="3")
        )
        batch.add_column(
            sa.Column("callback_retry_seconds", sa.Integer(), nullable=False, server_default="120")
        )
        batch.add_column(
            sa.Column(
                "identify_by_caller_id", sa.Boolean(), nullable=False, server_default=sa.true()
            )
        )
    with op.batch_alter_table("queue_entries") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("next_attempt_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("outcome", sa.String(length=64), nullable=True))
    op.create_table(
        "routing_blocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_routing_blocks_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_routing_blocks_agent_id_agents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_blocks")),
        sa.UniqueConstraint("customer_id", "agent_id", name=op.f("uq_routing_blocks_customer_id")),
    )
    op.create_index(
        op.f("ix_routing_blocks_customer_id"), "routing_blocks", ["customer_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_routing_blocks_customer_id"), table_name="routing_blocks")
    op.drop_table("routing_blocks")
    with op.batch_alter_table("queue_entries") as batch:
        batch.drop_column("outcome")
        batch.drop_column("next_attempt_at")
        batch.drop_column("attempts")
    with op.batch_alter_table("queues") as batch:
        batch.drop_column("identify_by_caller_id")
        batch.drop_column("callback_retry_seconds")
        batch.drop_column("callback_attempts")
        batch.drop_column("callback_mode")
        batch.drop_column("skill_wait_seconds")
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("queues")
