"""digests, signers, signatures and audit hashes stored as bytes; the audit log's unused indexes and copied hash go

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 23:00:00

Issue 18 holds a certificate to 1 KB of store. The hex text of a certificate's digest (66 characters, in the row
and again in its unique index), signer (42) and signature (132) becomes 32, 20 and 65 bytes (store.models.HexBytes,
so the code still reads and writes hex). Every certificate also appends an audit entry: its hash becomes 32 bytes,
its copy of the previous entry's hash goes (that entry holds it; store.audit.verify recomputes the chain), and the
indexes on its hash and action go (the log is only ever read in sequence).

Values are converted in chunks through the columns' types, the way 0009 converted the JSON columns.
"""

import sqlalchemy as sa
from alembic import op

from store.models import HexBytes

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

CHUNK = 5000
CERTIFICATE = {
    "digest": (66, HexBytes(32)),
    "signer": (42, HexBytes(20, address=True)),
    "signature": (132, HexBytes(65)),
}
AUDIT = {"hash": (64, HexBytes(32, prefix=""))}


def _copy(table_name: str, key: str, columns: dict[str, tuple[sa.types.TypeEngine, sa.types.TypeEngine]]) -> None:
    """Copy each `column` (read as its first type) into `column`_new (written as its second), chunk by chunk."""
    bind = op.get_bind()
    source = sa.table(table_name, sa.column(key, sa.Integer), *(sa.column(c, t) for c, (t, _) in columns.items()))
    target = sa.table(
        table_name, sa.column(key, sa.Integer), *(sa.column(c + "_new", t) for c, (_, t) in columns.items())
    )
    update = (
        sa.update(target)
        .where(target.c[key] == sa.bindparam("_key"))
        .values({c + "_new": sa.bindparam("_" + c) for c in columns})
    )
    last = None
    while True:
        query = sa.select(source.c[key], *(source.c[c] for c in columns)).order_by(source.c[key]).limit(CHUNK)
        rows = bind.execute(query if last is None else query.where(source.c[key] > last)).all()
        if not rows:
            return
        bind.execute(
            update, [{"_key": row[0], **{"_" + c: v for c, v in zip(columns, row[1:], strict=True)}} for row in rows]
        )
        last = rows[-1][0]


def _swap(table_name: str, key: str, columns: dict[str, tuple[int, HexBytes]], to_bytes: bool) -> None:
    """Replace `columns` by copies in the other representation (bytes, or hex text of the given length)."""
    text = {c: sa.String(length=n) for c, (n, _) in columns.items()}
    binary = {c: sa.LargeBinary() for c in columns}
    with op.batch_alter_table(table_name) as batch:
        for c in columns:
            batch.add_column(sa.Column(c + "_new", (binary if to_bytes else text)[c], nullable=True))
    # Bytes are read and written through HexBytes (hex text in, bytes out); text as plain strings.
    pairs = {c: ((sa.String(), kind) if to_bytes else (kind, sa.String())) for c, (_, kind) in columns.items()}
    _copy(table_name, key, pairs)
    with op.batch_alter_table(table_name) as batch:
        for c in columns:
            batch.drop_column(c)
    with op.batch_alter_table(table_name) as batch:
        for c in columns:
            batch.alter_column(
                c + "_new", new_column_name=c, existing_type=(binary if to_bytes else text)[c], nullable=False
            )


def upgrade() -> None:
    with op.batch_alter_table("audit_entry") as batch:
        batch.drop_index("ix_audit_entry_action")
        batch.drop_column("prev_hash")
    _swap("audit_entry", "seq", AUDIT, to_bytes=True)  # dropping the text column drops its unique constraint
    op.drop_index("ix_certificate_digest", table_name="certificate")
    _swap("certificate", "id", CERTIFICATE, to_bytes=True)
    op.create_index("ix_certificate_digest", "certificate", ["digest"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_certificate_digest", table_name="certificate")
    _swap("certificate", "id", CERTIFICATE, to_bytes=False)
    op.create_index("ix_certificate_digest", "certificate", ["digest"], unique=True)
    _swap("audit_entry", "seq", AUDIT, to_bytes=False)
    with op.batch_alter_table("audit_entry") as batch:
        batch.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch.create_unique_constraint("uq_audit_entry_hash", ["hash"])
    bind = op.get_bind()  # each entry's copy of its predecessor's hash, from the predecessor
    entries = sa.table("audit_entry", sa.column("seq", sa.Integer), sa.column("hash"), sa.column("prev_hash"))
    hashes = dict(bind.execute(sa.select(entries.c.seq, entries.c.hash)).tuples().all())
    if hashes:
        bind.execute(
            sa.update(entries).where(entries.c.seq == sa.bindparam("_seq")).values(prev_hash=sa.bindparam("_prev")),
            [{"_seq": seq, "_prev": hashes.get(seq - 1, "0" * 64)} for seq in hashes],
        )
    with op.batch_alter_table("audit_entry") as batch:
        batch.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch.create_index("ix_audit_entry_action", ["action"])
