"""busy-lamp fields: Kamailio's pua table (the presence user agent that publishes the line state
of the dialogs the edge relays; it keeps publications in memory but checks this table)

Revision ID: 0013
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

from store.kamailio_tables import PRESENCE_TABLE_VERSIONS

revision = "0013"
down_revision = "0008"
branch_labels = None
depends_on = None

_version = sa.table(
    "version", sa.column("table_name", sa.String), sa.column("table_version", sa.Integer)
)


def upgrade() -> None:
    op.create_table(
        "pua",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pres_uri", sa.String(length=255), nullable=False),
        sa.Column("pres_id", sa.String(length=255), nullable=False),
        sa.Column("event", sa.Integer(), nullable=False),
        sa.Column("expires", sa.Integer(), nullable=False),
        sa.Column("desired_expires", sa.Integer(), nullable=False),
        sa.Column("flag", sa.Integer(), nullable=False),
        sa.Column("etag", sa.String(length=128), nullable=False),
        sa.Column("tuple_id", sa.String(length=64), nullable=True),
        sa.Column("watcher_uri", sa.String(length=255), nullable=False),
        sa.Column("call_id", sa.String(length=255), nullable=False),
        sa.Column("to_tag", sa.String(length=128), nullable=False),
        sa.Column("from_tag", sa.String(length=128), nullable=False),
        sa.Column("cseq", sa.Integer(), nullable=False),
        sa.Column("record_route", sa.Text(), nullable=True),
        sa.Column("contact", sa.String(length=255), nullable=False),
        sa.Column("remote_contact", sa.String(length=255), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("extra_headers", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pua")),
        sa.UniqueConstraint("etag", "tuple_id", "call_id", "from_tag", name="pua_pua_idx"),
    )
    op.create_index("pua_expires_idx", "pua", ["expires"])
    op.create_index("pua_dialog1_idx", "pua", ["pres_id", "pres_uri"])
    op.create_index("pua_dialog2_idx", "pua", ["call_id", "from_tag"])
    op.create_index("pua_record_idx", "pua", ["pres_id"])
    op.bulk_insert(
        _version,
        [{"table_name": name, "table_version": v} for name, v in PRESENCE_TABLE_VERSIONS.items()],
    )


def downgrade() -> None:
    op.execute(_version.delete().where(_version.c.table_name.in_(list(PRESENCE_TABLE_VERSIONS))))
    op.drop_index("pua_record_idx", table_name="pua")
    op.drop_index("pua_dialog2_idx", table_name="pua")
    op.drop_index("pua_dialog1_idx", table_name="pua")
    op.drop_index("pua_expires_idx", table_name="pua")
    op.drop_table("pua")
