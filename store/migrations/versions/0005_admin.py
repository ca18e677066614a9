"""admin: audit log (append-only), API tokens, one-time password links, disabling people and
devices, flow versions and a version pinned per support number

Revision ID: 0005
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0009"
branch_labels = None
depends_on = None

_SQLITE_GUARDS = [
    "CREATE TRIGGER admin_audit_no_update BEFORE UPDATE ON admin_audit "
    "BEGIN SELECT RAISE(ABORT, 'admin audit log is append-only'); END",
    "CREATE TRIGGER admin_audit_no_delete BEFORE DELETE ON admin_audit "
    "BEGIN SELECT RAISE(ABORT, 'admin audit log is append-only'); END",
]
_POSTGRES_GUARDS = [
    "CREATE FUNCTION admin_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'admin audit log is append-only'; END $$",
    "CREATE TRIGGER admin_audit_no_change BEFORE UPDATE OR DELETE ON admin_audit "
    "FOR EACH ROW EXECUTE FUNCTION admin_audit_append_only()",
]


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy of agents/devices on SQLite).
    op.add_column("agents", sa.Column("disabled_at", sa.DateTime(), nullable=True))
    op.add_column("devices", sa.Column("disabled_at", sa.DateTime(), nullable=True))
    op.create_table(
        "admin_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("via", sa.String(length=8), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target_kind", sa.String(length=32), nullable=False),
        sa.Column("target_id", sa.String(length=64), nullable=False),
        sa.Column("target_name", sa.String(length=200), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["agents.id"], name=op.f("fk_admin_audit_actor_id_agents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_audit")),
    )
    op.create_index(op.f("ix_admin_audit_at"), "admin_audit", ["at"])
    op.create_index(op.f("ix_admin_audit_actor_id"), "admin_audit", ["actor_id"])
    op.create_index(op.f("ix_admin_audit_action"), "admin_audit", ["action"])
    op.create_index(op.f("ix_admin_audit_target_kind"), "admin_audit", ["target_kind"])
    op.create_table(
        "admin_api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=120), nullable=False),
        sa.Column("secret_sha256", sa.String(length=64), nullable=False),
        sa.Column("hint", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_admin_api_tokens_agent_id_agents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_api_tokens")),
        sa.UniqueConstraint("secret_sha256", name=op.f("uq_admin_api_tokens_secret_sha256")),
    )
    op.create_index(op.f("ix_admin_api_tokens_agent_id"), "admin_api_tokens", ["agent_id"])
    op.create_table(
        "password_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("secret_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_password_links_agent_id_agents")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["agents.id"], name=op.f("fk_password_links_created_by_agents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_links")),
        sa.UniqueConstraint("secret_sha256", name=op.f("uq_password_links_secret_sha256")),
    )
    op.create_index(op.f("ix_password_links_agent_id"), "password_links", ["agent_id"])
    op.add_column("support_numbers", sa.Column("flow_version", sa.Integer(), nullable=True))
    op.create_table(
        "flow_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flow_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["flow_id"], ["flows.id"], name=op.f("fk_flow_versions_flow_id_flows")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flow_versions")),
        sa.UniqueConstraint("flow_id", "version", name=op.f("uq_flow_versions_flow_id")),
    )
    op.create_index(op.f("ix_flow_versions_flow_id"), "flow_versions", ["flow_id"])
    dialect = op.get_bind().dialect.name
    guards = {"sqlite": _SQLITE_GUARDS, "postgresql": _POSTGRES_GUARDS}.get(dialect, [])
    for statement in guards:
        op.execute(statement)


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite >= 3.35 has it): a batch rebuild of devices would drop the
    # table that later revisions' rows (device_provisioning, phone_commands) point at.
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS admin_audit_no_update")
        op.execute("DROP TRIGGER IF EXISTS admin_audit_no_delete")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS admin_audit_no_change ON admin_audit")
        op.execute("DROP FUNCTION IF EXISTS admin_audit_append_only()")
    op.drop_table("flow_versions")
    op.drop_column("support_numbers", "flow_version")
    op.drop_table("password_links")
    op.drop_table("admin_api_tokens")
    op.drop_table("admin_audit")
    op.drop_column("devices", "disabled_at")
    op.drop_column("agents", "disabled_at")
