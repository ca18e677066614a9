"""trunks: the secret as an HA1 digest (Kamailio's uacreg auth_ha1) and the transport

Revision ID: 0011
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("trunks", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("secret_ha1", sa.String(length=64), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("transport", sa.String(length=8), nullable=False, server_default="udp")
        )


def downgrade() -> None:
    with op.batch_alter_table("trunks", schema=None) as batch_op:
        batch_op.drop_column("transport")
        batch_op.drop_column("secret_ha1")
