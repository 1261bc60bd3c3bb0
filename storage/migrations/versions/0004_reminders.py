"""reminders; runs that wake on a date and have a uid

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 16:40:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("gate_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("to_email", sa.String(length=320), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=True),
        sa.Column("about", sa.String(length=64), nullable=False),
        sa.Column("day_no", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["gate_id"], ["gates.id"],
                                name=op.f("fk_reminders_gate_id_gates")),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_reminders_run_id_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminders")),
        sa.UniqueConstraint("gate_id", "to_email", "day_no",
                            name=op.f("uq_reminders_gate_id_to_email_day_no")),
    )
    op.create_index(op.f("ix_reminders_run_id"), "reminders", ["run_id"], unique=False)
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("wake_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("uid", sa.String(length=32), nullable=True))
        batch.create_unique_constraint(op.f("uq_runs_uid"), ["uid"])


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_constraint(op.f("uq_runs_uid"), type_="unique")
        batch.drop_column("uid")
        batch.drop_column("wake_at")
    op.drop_index(op.f("ix_reminders_run_id"), table_name="reminders")
    op.drop_table("reminders")
