"""departments keep their modules: quiz versions, what each attempt studied, added materials

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 09:00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: Union[str, Sequence[str], None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "quiz_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("module_code", sa.String(length=64), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("quiz", sa.JSON(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["module_code"], ["modules.code"],
                                name=op.f("fk_quiz_versions_module_code_modules")),
        sa.ForeignKeyConstraint(["created_by_id"], ["people.id"],
                                name=op.f("fk_quiz_versions_created_by_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quiz_versions")),
        sa.UniqueConstraint("module_code", "number",
                            name=op.f("uq_quiz_versions_module_code_number")),
    )
    with op.batch_alter_table("quiz_attempts") as batch:
        batch.add_column(sa.Column("delivery_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("quiz_version", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_quiz_attempts_delivery_id_deliveries"), "deliveries",
                                 ["delivery_id"], ["id"])
    with op.batch_alter_table("delivered_materials") as batch:
        batch.add_column(sa.Column("title", sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("delivered_materials") as batch:
        batch.drop_column("title")
    with op.batch_alter_table("quiz_attempts") as batch:
        batch.drop_constraint(op.f("fk_quiz_attempts_delivery_id_deliveries"),
                              type_="foreignkey")
        batch.drop_column("quiz_version")
        batch.drop_column("delivery_id")
    op.drop_table("quiz_versions")
