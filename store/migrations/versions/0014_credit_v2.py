"""credit v2: scan to enter (scans beside inspections), anonymous visit ratings, objections, inspection triggers
(complaints, alerts, referrals), visit alerts (无事不扰), the tax credit grade, the daily pass's cursor

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 01:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credit_pass",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("cursor", sa.String(length=18), nullable=True),
        sa.Column("regraded", sa.Integer(), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("day"),
    )
    op.create_table(
        "tax_credit_grade",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("grade", sa.String(length=1), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("department", sa.String(length=32), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["credit_record.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_tax_credit_grade_uscc"), "tax_credit_grade", ["uscc"], unique=False)
    op.create_table(
        "credit_objection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=36), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("inspection_id", sa.Integer(), nullable=True),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("department", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_by", sa.String(length=64), nullable=True),
        sa.Column("filed_record_id", sa.Integer(), nullable=True),
        sa.Column("answer_record_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["answer_record_id"],
            ["credit_record.id"],
        ),
        sa.ForeignKeyConstraint(
            ["filed_record_id"],
            ["credit_record.id"],
        ),
        sa.ForeignKeyConstraint(
            ["inspection_id"],
            ["inspection.id"],
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["credit_record.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uid"),
    )
    op.create_index(op.f("ix_credit_objection_department"), "credit_objection", ["department"], unique=False)
    op.create_index(op.f("ix_credit_objection_state"), "credit_objection", ["state"], unique=False)
    op.create_index(op.f("ix_credit_objection_uscc"), "credit_objection", ["uscc"], unique=False)
    op.create_table(
        "inspection_trigger",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=36), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("department", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("closed_by", sa.Integer(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["closed_by"],
            ["inspection.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uid"),
    )
    op.create_index(op.f("ix_inspection_trigger_uscc"), "inspection_trigger", ["uscc"], unique=False)
    op.create_table(
        "visit_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("inspection_id", sa.Integer(), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("grade", sa.String(length=1), nullable=False),
        sa.Column("visits", sa.Integer(), nullable=False),
        sa.Column("allowed", sa.Integer(), nullable=False),
        sa.Column("window_from", sa.Date(), nullable=False),
        sa.Column("rules_version", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["inspection_id"],
            ["inspection.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_visit_alert_uscc"), "visit_alert", ["uscc"], unique=False)
    op.create_table(
        "visit_rating",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inspection_id", sa.Integer(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("stars", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("rated_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["inspection_id"],
            ["inspection.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("inspection_id"),
    )
    op.create_index(op.f("ix_visit_rating_uscc"), "visit_rating", ["uscc"], unique=False)
    with op.batch_alter_table("inspection") as batch:
        batch.add_column(sa.Column("purpose", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("started_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("reason", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("emergency", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("scan_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("signature", sa.String(length=132), nullable=True))
        batch.create_foreign_key("fk_inspection_scan_id", "inspection", ["scan_id"], ["id"])
        batch.create_index("ix_inspection_scan_id", ["scan_id"], unique=True)  # one scan opens one visit


def downgrade() -> None:
    with op.batch_alter_table("inspection") as batch:
        batch.drop_index("ix_inspection_scan_id")
        batch.drop_constraint("fk_inspection_scan_id", type_="foreignkey")
        for column in ("signature", "scan_id", "emergency", "reason", "ended_at", "started_at", "purpose"):
            batch.drop_column(column)
    for table in ("visit_rating", "visit_alert", "inspection_trigger", "credit_objection", "tax_credit_grade"):
        op.drop_table(table)
    op.drop_table("credit_pass")
