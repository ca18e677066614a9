"""console security: session versions, profile grants, logged searches and openings, flag reasons

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE ADD COLUMN (no batch copy): on SQLite a batch would rebuild `credits`
    # and lose the triggers that keep the ledger append-only.
    op.add_column(
        "agents",
        sa.Column("session_version", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column("credits", sa.Column("flag_reason", sa.String(length=200), nullable=True))
    op.create_table(
        "profile_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=True),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.Column("granted_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_profile_grants_agent_id_agents")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_profile_grants_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_profile_grants")),
    )
    op.create_index(
        op.f("ix_profile_grants_agent_id"),
        "profile_grants",
        ["agent_id", "customer_id"],
        unique=False,
    )
    op.create_table(
        "customer_searches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("field", sa.String(length=16), nullable=False),
        sa.Column("query", sa.String(length=200), nullable=False),
        sa.Column("result_ids", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_customer_searches_agent_id_agents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_searches")),
    )
    op.create_index(
        op.f("ix_customer_searches_agent_id"), "customer_searches", ["agent_id"], unique=False
    )
    op.create_table(
        "profile_openings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=True),
        sa.Column("search_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_profile_openings_agent_id_agents")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_profile_openings_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["search_id"],
            ["customer_searches.id"],
            name=op.f("fk_profile_openings_search_id_customer_searches"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_profile_openings")),
    )
    op.create_index(
        op.f("ix_profile_openings_agent_id"), "profile_openings", ["agent_id"], unique=False
    )
    op.create_index(
        op.f("ix_profile_openings_customer_id"), "profile_openings", ["customer_id"], unique=False
    )


def downgrade() -> None:
    op.drop_table("profile_openings")
    op.drop_table("customer_searches")
    op.drop_table("profile_grants")
    # SQLite (3.35+) and PostgreSQL both drop a column in place; no table rebuild.
    op.execute("ALTER TABLE credits DROP COLUMN flag_reason")
    op.execute("ALTER TABLE agents DROP COLUMN session_version")
