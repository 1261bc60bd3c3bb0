"""runs found by their hire (an index on runs.hire_id); each run's appraisal pass mark

Every link a hire opens asks whether the person has a run (`tasks.permissions.grants_of`),
and the employee report and the training record read a person's runs; without an index each
is a scan of every run (12,000 in benchmarks/reports.py's two years).

The dashboard's pass rate compares each appraised run's lowest score with the pass mark of
the run's plan. Read out of the plan's JSON, that was half of the dashboard's second on
PostgreSQL (each plan a TOASTed 5 KB `json` value); the pass mark is now a column of its own,
copied from the plan when the run is made (`Run.plan` sets it), filled here for the runs
there are.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28 15:00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: Union[str, Sequence[str], None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_index(op.f("ix_runs_hire_id"), "runs", ["hire_id"], unique=False)
    op.add_column("runs", sa.Column("appraisal_pass_mark", sa.Integer(), nullable=True))
    mark = ("(plan #>> '{position,appraisal,pass_mark}')::int"
            if op.get_bind().dialect.name == "postgresql"
            else "json_extract(plan, '$.position.appraisal.pass_mark')")
    op.execute(f"UPDATE runs SET appraisal_pass_mark = {mark}")
    with op.batch_alter_table("runs") as batch_op:
        batch_op.alter_column("appraisal_pass_mark", existing_type=sa.Integer(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch_op:
        batch_op.drop_column("appraisal_pass_mark")
    op.drop_index(op.f("ix_runs_hire_id"), table_name="runs")
