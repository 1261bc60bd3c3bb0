"""practice legs: coaching sessions and assignment submissions with their grades

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 12:10:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "coaching_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("module_code", sa.String(length=64), nullable=False),
        sa.Column("coach_id", sa.Integer(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answer", sa.String(length=20), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hire_comment", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"],
                                name=op.f("fk_coaching_sessions_run_id_runs")),
        sa.ForeignKeyConstraint(["coach_id"], ["people.id"],
                                name=op.f("fk_coaching_sessions_coach_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coaching_sessions")),
    )
    op.create_index(op.f("ix_coaching_sessions_run_id"), "coaching_sessions", ["run_id"])
    op.create_table(
        "submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("module_code", sa.String(length=64), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("link", sa.String(length=2000), nullable=True),
        sa.Column("file_name", sa.String(length=300), nullable=True),
        sa.Column("file_path", sa.String(length=1000), nullable=True),
        sa.Column("size_bytes", sa.Integer(), nullable=True),
        sa.Column("content_type", sa.String(length=100), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("graded_by_id", sa.Integer(), nullable=True),
        sa.Column("graded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("scores", sa.JSON(), nullable=True),
        sa.Column("comments", sa.JSON(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_submissions_run_id_runs")),
        sa.ForeignKeyConstraint(["graded_by_id"], ["people.id"],
                                name=op.f("fk_submissions_graded_by_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submissions")),
        sa.UniqueConstraint("run_id", "module_code", "number",
                            name=op.f("uq_submissions_run_id_module_code_number")),
    )
    op.create_index(op.f("ix_submissions_run_id"), "submissions", ["run_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_submissions_run_id"), table_name="submissions")
    op.drop_table("submissions")
    op.drop_index(op.f("ix_coaching_sessions_run_id"), table_name="coaching_sessions")
    op.drop_table("coaching_sessions")
