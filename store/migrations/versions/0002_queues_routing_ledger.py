"""queues, queue entries, route decisions; append-only credit ledger

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_SQLITE_GUARDS = [
    "CREATE TRIGGER credits_no_update BEFORE UPDATE ON credits "
    "BEGIN SELECT RAISE(ABORT, 'credits ledger is append-only'); END",
    "CREATE TRIGGER credits_no_delete BEFORE DELETE ON credits "
    "BEGIN SELECT RAISE(ABORT, 'credits ledger is append-only'); END",
]
_POSTGRES_GUARDS = [
    "CREATE FUNCTION credits_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'credits ledger is append-only'; END $$",
    "CREATE TRIGGER credits_no_change BEFORE UPDATE OR DELETE ON credits "
    "FOR EACH ROW EXECUTE FUNCTION credits_append_only()",
]


def upgrade() -> None:
    op.create_table(
        "queues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("skill", sa.String(length=64), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("relationship_wait_seconds", sa.Integer(), nullable=False),
        sa.Column("ring_timeout_seconds", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queues")),
        sa.UniqueConstraint("name", name=op.f("uq_queues_name")),
    )
    op.create_table(
        "queue_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("skill", sa.String(length=64), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("caller", sa.String(length=200), nullable=True),
        sa.Column("callback_number", sa.String(length=64), nullable=True),
        sa.Column("relationship_agents", sa.JSON(), nullable=False),
        sa.Column("wait_until", sa.DateTime(), nullable=False),
        sa.Column("enqueued_at", sa.DateTime(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("route_reason", sa.String(length=200), nullable=True),
        sa.Column("skipped_agents", sa.JSON(), nullable=False),
        sa.Column("worker", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_queue_entries_agent_id_agents")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_queue_entries_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_entries")),
    )
    with op.batch_alter_table("queue_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_queue_entries_call_id"), ["call_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_queue_entries_queue"), ["queue"], unique=False)
        batch_op.create_index(batch_op.f("ix_queue_entries_state"), ["state"], unique=False)
    op.create_table(
        "route_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_route_decisions_agent_id_agents")
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["queue_entries.id"],
            name=op.f("fk_route_decisions_entry_id_queue_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_route_decisions")),
    )
    with op.batch_alter_table("route_decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_route_decisions_call_id"), ["call_id"], unique=False)
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": _SQLITE_GUARDS, "postgresql": _POSTGRES_GUARDS}.get(dialect, []):
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS credits_no_update")
        op.execute("DROP TRIGGER IF EXISTS credits_no_delete")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS credits_no_change ON credits")
        op.execute("DROP FUNCTION IF EXISTS credits_append_only()")
    op.drop_table("route_decisions")
    op.drop_table("queue_entries")
    op.drop_table("queues")
