"""O*NET related occupations.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "occupation_relations",
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("related_code", sa.String(length=12), nullable=False),
        sa.Column("tier", sa.String(length=40), nullable=True),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["code"], ["occupations.code"]),
        sa.ForeignKeyConstraint(["related_code"], ["occupations.code"]),
        sa.PrimaryKeyConstraint("code", "related_code"),
    )


def downgrade() -> None:
    op.drop_table("occupation_relations")
