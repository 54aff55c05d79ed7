"""certificate content and breakdown stored deflated (store.models.CompressedJSON)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 18:00:00

Each row's JSON is read, deflated and written back in chunks; the JSON columns then go. Certificates that carry a
proof from before proofs were derived (ledger.proofs) keep it.
"""

import sqlalchemy as sa
from alembic import op

from store.models import CompressedJSON

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

CHUNK = 2000


def _convert(source: tuple[str, str], target: tuple[str, str], source_type, target_type) -> None:  # noqa: ANN001
    """Copy the two source columns into the two target columns, row by row, through the columns' types."""
    bind = op.get_bind()
    table = sa.table(
        "certificate",
        sa.column("id", sa.Integer),
        sa.column(source[0], source_type),
        sa.column(source[1], source_type),
        sa.column(target[0], target_type),
        sa.column(target[1], target_type),
    )
    last = 0
    while True:
        rows = bind.execute(
            sa.select(table.c.id, table.c[source[0]], table.c[source[1]])
            .where(table.c.id > last)
            .order_by(table.c.id)
            .limit(CHUNK)
        ).all()
        if not rows:
            return
        for row_id, first, second in rows:
            bind.execute(sa.update(table).where(table.c.id == row_id).values({target[0]: first, target[1]: second}))
        last = rows[-1][0]


def upgrade() -> None:
    with op.batch_alter_table("certificate") as batch:
        batch.add_column(sa.Column("content_z", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("detail_z", sa.LargeBinary(), nullable=True))
    _convert(("content", "detail"), ("content_z", "detail_z"), sa.JSON(), CompressedJSON())
    with op.batch_alter_table("certificate") as batch:
        batch.drop_column("content")
        batch.drop_column("detail")
    with op.batch_alter_table("certificate") as batch:
        batch.alter_column("content_z", new_column_name="content", existing_type=sa.LargeBinary(), nullable=False)
        batch.alter_column("detail_z", new_column_name="detail", existing_type=sa.LargeBinary(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("certificate") as batch:
        batch.add_column(sa.Column("content_j", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("detail_j", sa.JSON(), nullable=True))
    _convert(("content", "detail"), ("content_j", "detail_j"), CompressedJSON(), sa.JSON())
    with op.batch_alter_table("certificate") as batch:
        batch.drop_column("content")
        batch.drop_column("detail")
    with op.batch_alter_table("certificate") as batch:
        batch.alter_column("content_j", new_column_name="content", existing_type=sa.JSON(), nullable=False)
        batch.alter_column("detail_j", new_column_name="detail", existing_type=sa.JSON(), nullable=False)
