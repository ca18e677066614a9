"""hardware: desk-phone provisioning state, the provisioning fetch log, headset state

Revision ID: 0004
Revises: 0002 (re-chained onto 0003 when both branches meet)
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "device_provisioning",
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("vendor", sa.String(length=32), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("pending_ha1", sa.String(length=128), nullable=True),
        sa.Column("pending_ha1b", sa.String(length=128), nullable=True),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("line_keys", sa.JSON(), nullable=False),
        sa.Column("config_version", sa.Integer(), nullable=False),
        sa.Column("config_changed_at", sa.DateTime(), nullable=False),
        sa.Column("applied_version", sa.Integer(), nullable=True),
        sa.Column("applied_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_device_provisioning_device_id_devices")
        ),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_device_provisioning")),
    )
    op.create_table(
        "provisioning_fetches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mac", sa.String(length=12), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=255), nullable=False),
        sa.Column("file_name", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("config_version", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_provisioning_fetches_device_id_devices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provisioning_fetches")),
    )
    with op.batch_alter_table("provisioning_fetches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_provisioning_fetches_mac"), ["mac"], unique=False)
        batch_op.create_index(batch_op.f("ix_provisioning_fetches_at"), ["at"], unique=False)
    op.create_table(
        "headset_states",
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("sound_device", sa.String(length=120), nullable=False),
        sa.Column("hook", sa.String(length=8), nullable=False),
        sa.Column("call", sa.String(length=16), nullable=False),
        sa.Column("muted", sa.Boolean(), nullable=False),
        sa.Column("volume", sa.Integer(), nullable=False),
        sa.Column("heard_dbfs", sa.Float(), nullable=False),
        sa.Column("spoken_dbfs", sa.Float(), nullable=False),
        sa.Column("playback_ms", sa.Float(), nullable=False),
        sa.Column("capture_ms", sa.Float(), nullable=False),
        sa.Column("underruns", sa.Integer(), nullable=False),
        sa.Column("reported_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_headset_states_device_id_devices")
        ),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_headset_states")),
    )


def downgrade() -> None:
    op.drop_table("headset_states")
    with op.batch_alter_table("provisioning_fetches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provisioning_fetches_at"))
        batch_op.drop_index(batch_op.f("ix_provisioning_fetches_mac"))
    op.drop_table("provisioning_fetches")
    op.drop_table("device_provisioning")
