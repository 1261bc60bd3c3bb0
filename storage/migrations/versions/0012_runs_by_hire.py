"""runs found by their hire: an index on runs.hire_id

Every link a hire opens asks whether the person has a run (`tasks.permissions.grants_of`),
and the employee report and the training record read a person's runs; without an index each
is a scan of every run (12,000 in benchmarks/reports.py's two years).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28 15:00:00

"""
from typing import Sequence, Union

from alembic import op

revision: str = '0012'
down_revision: Union[str, Sequence[str], None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_index(op.f("ix_runs_hire_id"), "runs", ["hire_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_runs_hire_id"), table_name="runs")
