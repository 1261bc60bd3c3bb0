"""what the old system's spreadsheets held: employees, training history, metrics, rewards

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 10:10:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _source() -> list[sa.Column]:
    return [sa.Column("source_file", sa.String(length=300), nullable=False),
            sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False)]


def _employee(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["employee_id"], ["imported_employees.employee_id"],
                                   name=op.f(f"fk_{table}_employee_id_imported_employees"))


def upgrade() -> None:
    op.create_table(
        "imported_employees",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("employee_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("position", sa.String(length=64), nullable=False),
        sa.Column("hired_on", sa.Date(), nullable=False),
        *_source(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imported_employees")),
        sa.UniqueConstraint("employee_id", name=op.f("uq_imported_employees_employee_id")),
    )
    op.create_index(op.f("ix_imported_employees_email"), "imported_employees", ["email"],
                    unique=False)
    op.create_table(
        "imported_training",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("employee_id", sa.String(length=64), nullable=False),
        sa.Column("module_code", sa.String(length=64), nullable=False),
        sa.Column("completed_on", sa.Date(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        *_source(),
        _employee("imported_training"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imported_training")),
        sa.UniqueConstraint(
            "employee_id", "module_code", "completed_on",
            name=op.f("uq_imported_training_employee_id_module_code_completed_on")),
    )
    op.create_table(
        "imported_metrics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("employee_id", sa.String(length=64), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("metric", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        *_source(),
        _employee("imported_metrics"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imported_metrics")),
        sa.UniqueConstraint("employee_id", "month", "metric",
                            name=op.f("uq_imported_metrics_employee_id_month_metric")),
    )
    op.create_table(
        "imported_rewards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("employee_id", sa.String(length=64), nullable=False),
        sa.Column("happened_on", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        *_source(),
        _employee("imported_rewards"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imported_rewards")),
        sa.UniqueConstraint("content_hash", name=op.f("uq_imported_rewards_content_hash")),
    )
    op.create_index(op.f("ix_imported_rewards_employee_id"), "imported_rewards",
                    ["employee_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_imported_rewards_employee_id"), table_name="imported_rewards")
    op.drop_table("imported_rewards")
    op.drop_table("imported_metrics")
    op.drop_table("imported_training")
    op.drop_index(op.f("ix_imported_employees_email"), table_name="imported_employees")
    op.drop_table("imported_employees")
