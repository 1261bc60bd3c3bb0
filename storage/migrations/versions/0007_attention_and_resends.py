"""runs needing attention after repeated failed passes; outbox resends of interrupted sends

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 05:40:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("failures", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("attention_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("resends", sa.Integer(), nullable=False,
                                   server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("resends")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("attention_at")
        batch.drop_column("failures")
