"""audit log heads anchored on chain

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 08:15:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_anchor",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("root", sa.String(length=66), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("anchored_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("root"),
    )
    op.create_index("ix_audit_anchor_state", "audit_anchor", ["state"])


def downgrade() -> None:
    op.drop_index("ix_audit_anchor_state", table_name="audit_anchor")
    op.drop_table("audit_anchor")
