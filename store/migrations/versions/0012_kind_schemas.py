"""attestation kinds' schema files as registered (issue 19); a certificate's kind holds an attestation's tag

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 23:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kind_schema",
        sa.Column("digest", sa.LargeBinary(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("department", sa.String(length=32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("chain_index", sa.Integer(), nullable=True),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("digest"),
    )
    op.create_index("ix_kind_schema_slug", "kind_schema", ["slug"])
    with op.batch_alter_table("certificate") as batch:  # `<slug>.v<version>`: a slug has up to 48 characters
        batch.alter_column("kind", existing_type=sa.String(length=32), type_=sa.String(length=64))


def downgrade() -> None:
    with op.batch_alter_table("certificate") as batch:
        batch.alter_column("kind", existing_type=sa.String(length=64), type_=sa.String(length=32))
    op.drop_index("ix_kind_schema_slug", table_name="kind_schema")
    op.drop_table("kind_schema")
