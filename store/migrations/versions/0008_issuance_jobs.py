"""bulk issuance jobs (零申请推送) and their chunks

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 17:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "issuance_job",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("uid", sa.String(36), nullable=False, unique=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("department", sa.String(32), nullable=False),
        sa.Column("period_from", sa.String(7), nullable=False),
        sa.Column("period_to", sa.String(7), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("subjects", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "issuance_chunk",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("job_id", sa.Integer(), sa.ForeignKey("issuance_job.id"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("subjects", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("worker", sa.String(64), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("issued", sa.Integer(), nullable=False),
        sa.Column("existing", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("job_id", "seq", name="uq_issuance_chunk_position"),
    )
    op.create_index("ix_issuance_job_department", "issuance_job", ["department"])
    op.create_index("ix_issuance_job_state", "issuance_job", ["state"])
    op.create_index("ix_issuance_chunk_job_id", "issuance_chunk", ["job_id"])
    op.create_index("ix_issuance_chunk_state", "issuance_chunk", ["state"])


def downgrade() -> None:
    op.drop_table("issuance_chunk")
    op.drop_table("issuance_job")
