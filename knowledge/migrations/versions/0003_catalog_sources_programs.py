"""Catalog sources, training programs (ETPL) with offerings, occupations and ladders; provenance
and CareerOneStop facts on credentials; stated vs inferred credential occupations.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "catalog_sources",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("credit", sa.Text(), nullable=True),
        sa.Column("url", sa.String(length=500), nullable=True),
        sa.Column("as_of", sa.Date(), nullable=True),
        sa.Column("records", sa.Integer(), nullable=True),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "training_programs",
        sa.Column("id", sa.String(length=120), nullable=False),
        sa.Column("num", sa.Integer(), nullable=True),
        sa.Column("provider_id", sa.String(length=80), nullable=True),
        sa.Column("provider_type", sa.String(length=40), nullable=True),
        sa.Column("name", sa.String(length=300), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("url", sa.String(length=500), nullable=True),
        sa.Column("cip", sa.String(length=7), nullable=True),
        sa.Column("outcome", sa.String(length=40), nullable=True),
        sa.Column("credential_name", sa.String(length=300), nullable=True),
        sa.Column("credential_id", sa.String(length=120), nullable=True),
        sa.Column("credential_match_rule", sa.String(length=40), nullable=True),
        sa.Column("credential_match_score", sa.Float(), nullable=True),
        sa.Column("hours", sa.Float(), nullable=True),
        sa.Column("weeks", sa.Float(), nullable=True),
        sa.Column("tuition_fees_usd", sa.Float(), nullable=True),
        sa.Column("books_supplies_usd", sa.Float(), nullable=True),
        sa.Column("required_cost_usd", sa.Float(), nullable=True),
        sa.Column("optional_cost_usd", sa.Float(), nullable=True),
        sa.Column("out_of_district_usd", sa.Float(), nullable=True),
        sa.Column("cost_notes", sa.JSON(), nullable=True),
        sa.Column("pell_eligible", sa.Boolean(), nullable=True),
        sa.Column("prerequisites", sa.Text(), nullable=True),
        sa.Column("apprentices", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=40), nullable=True),
        sa.Column("source_url", sa.String(length=500), nullable=True),
        sa.Column("as_of", sa.Date(), nullable=True),
        sa.Column("quality_notes", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["credentials.id"],
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("training_programs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_training_programs_cip"), ["cip"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_training_programs_credential_id"), ["credential_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_training_programs_num"), ["num"], unique=True)
        batch_op.create_index(
            batch_op.f("ix_training_programs_provider_id"), ["provider_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_training_programs_source"), ["source"], unique=False)

    op.create_table(
        "program_ladders",
        sa.Column("from_program", sa.String(length=120), nullable=False),
        sa.Column("to_program", sa.String(length=120), nullable=False),
        sa.Column("rule", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["from_program"],
            ["training_programs.id"],
        ),
        sa.ForeignKeyConstraint(
            ["to_program"],
            ["training_programs.id"],
        ),
        sa.PrimaryKeyConstraint("from_program", "to_program"),
    )
    op.create_table(
        "program_occupations",
        sa.Column("program_id", sa.String(length=120), nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("rule", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(
            ["code"],
            ["occupations.code"],
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["training_programs.id"],
        ),
        sa.PrimaryKeyConstraint("program_id", "code"),
    )
    op.create_table(
        "program_offerings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("program_id", sa.String(length=120), nullable=True),
        sa.Column("campus_id", sa.String(length=40), nullable=True),
        sa.Column("campus", sa.String(length=300), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("city", sa.String(length=120), nullable=True),
        sa.Column("county", sa.String(length=120), nullable=True),
        sa.Column("state", sa.String(length=2), nullable=True),
        sa.Column("zip", sa.String(length=5), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("delivery", sa.String(length=40), nullable=True),
        sa.Column("transit", sa.Boolean(), nullable=True),
        sa.Column("childcare", sa.Boolean(), nullable=True),
        sa.Column("flexible_hours", sa.Boolean(), nullable=True),
        sa.Column("source_program_id", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["training_programs.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("program_offerings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_program_offerings_city"), ["city"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_program_offerings_program_id"), ["program_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_program_offerings_zip"), ["zip"], unique=False)

    with op.batch_alter_table("credential_occupations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stated", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("score", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("rule", sa.String(length=40), nullable=True))

    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("as_of", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("external_ids", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("cert_type", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("exam_required", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("training_required", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("renewal_years", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("ceu_required", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("exam_details", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("acronym", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("quality_notes", sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f("ix_credentials_source"), ["source"], unique=False)

    with op.batch_alter_table("providers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("acronym", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("providers", schema=None) as batch_op:
        batch_op.drop_column("acronym")
        batch_op.drop_column("source")

    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credentials_source"))
        batch_op.drop_column("quality_notes")
        batch_op.drop_column("acronym")
        batch_op.drop_column("exam_details")
        batch_op.drop_column("ceu_required")
        batch_op.drop_column("renewal_years")
        batch_op.drop_column("training_required")
        batch_op.drop_column("exam_required")
        batch_op.drop_column("cert_type")
        batch_op.drop_column("external_ids")
        batch_op.drop_column("as_of")
        batch_op.drop_column("source")

    with op.batch_alter_table("credential_occupations", schema=None) as batch_op:
        batch_op.drop_column("rule")
        batch_op.drop_column("score")
        batch_op.drop_column("stated")

    with op.batch_alter_table("program_offerings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_program_offerings_zip"))
        batch_op.drop_index(batch_op.f("ix_program_offerings_program_id"))
        batch_op.drop_index(batch_op.f("ix_program_offerings_city"))

    op.drop_table("program_offerings")
    op.drop_table("program_occupations")
    op.drop_table("program_ladders")
    with op.batch_alter_table("training_programs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_training_programs_source"))
        batch_op.drop_index(batch_op.f("ix_training_programs_provider_id"))
        batch_op.drop_index(batch_op.f("ix_training_programs_num"))
        batch_op.drop_index(batch_op.f("ix_training_programs_credential_id"))
        batch_op.drop_index(batch_op.f("ix_training_programs_cip"))

    op.drop_table("training_programs")
    op.drop_table("catalog_sources")
