"""bulk issuance of attestation kinds: a job's kind holds an attestation's tag, a chunk its subjects' field values

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 03:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("issuance_job") as batch:  # `<slug>.v<version>`, as certificate.kind (0012)
        batch.alter_column("kind", existing_type=sa.String(length=32), type_=sa.String(length=64))
    with op.batch_alter_table("issuance_chunk") as batch:
        batch.add_column(sa.Column("fields", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("issuance_chunk") as batch:
        batch.drop_column("fields")
    with op.batch_alter_table("issuance_job") as batch:
        batch.alter_column("kind", existing_type=sa.String(length=64), type_=sa.String(length=32))
