"""drop ix_certificate_owner: the unique (owner, idempotency_key) index already leads with the owner

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 18:00:00

Lookups by owner (a holder's certificates) use uq_certificate_idempotency's leading column; the separate index
cost every issued certificate an index entry (store size and insert time, issue 18).
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_certificate_owner", table_name="certificate")


def downgrade() -> None:
    op.create_index("ix_certificate_owner", "certificate", ["owner"])
