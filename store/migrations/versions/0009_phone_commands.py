"""desk phones driven by the switch: the queue of NOTIFYs (check-sync, reboot, message waiting)

Revision ID: 0009
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "phone_commands",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("config_version", sa.Integer(), nullable=True),
        sa.Column("answer_code", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_phone_commands_device_id_devices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phone_commands")),
    )
    with op.batch_alter_table("phone_commands", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_phone_commands_state"), ["state"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_phone_commands_device_id"), ["device_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("phone_commands", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_phone_commands_device_id"))
        batch_op.drop_index(batch_op.f("ix_phone_commands_state"))
    op.drop_table("phone_commands")
