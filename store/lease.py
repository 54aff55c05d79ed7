"""Leases in the store: which one worker process may do a job (anchoring a table's batches) for the next seconds.

A lease is one `worker_lease` row: its name, its holder and when it expires. Taking and renewing it is one
conditional UPDATE (`holder = me OR expires_at < now`), or the INSERT of a missing row whose primary key makes a
concurrent second INSERT fail. On PostgreSQL two racing UPDATEs serialize on the row lock and the second, seeing
the first's committed row, matches nothing; SQLite serializes writers on the database lock. So at most one holder
has an unexpired lease at any time. A holder that dies stops renewing, and after `ttl` seconds another takes over.

Time is the workers' clocks (UTC): they must agree to well within the TTL (NTP does), as they do for `issued_at`.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from store.models import WorkerLease


def new_holder() -> str:
    """A holder id naming this process (host and pid, for an operator reading the table) and unique."""
    return f"{socket.gethostname()[:64]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


class Lease:
    """One named lease as seen by one holder."""

    def __init__(
        self, sessions: sessionmaker[Session], name: str, ttl: float = 30.0, holder: str | None = None
    ) -> None:
        self.sessions, self.name, self.ttl = sessions, name, ttl
        self.holder = holder or new_holder()

    def acquire(self) -> bool:
        """Take or renew the lease for `ttl` seconds from now; False while another holder's is unexpired."""
        now = datetime.now(UTC)
        expires = now + timedelta(seconds=self.ttl)
        with self.sessions() as s, s.begin():
            taken = s.execute(
                update(WorkerLease)
                .where(
                    WorkerLease.name == self.name,
                    or_(WorkerLease.holder == self.holder, WorkerLease.expires_at < now),
                )
                .values(holder=self.holder, expires_at=expires)
                .execution_options(synchronize_session=False)
            )
            if taken.rowcount == 1:  # type: ignore[attr-defined]  # a CursorResult
                return True
            if s.scalar(select(WorkerLease.name).where(WorkerLease.name == self.name)) is not None:
                return False  # held by another, unexpired
        try:
            with self.sessions() as s, s.begin():
                s.add(WorkerLease(name=self.name, holder=self.holder, expires_at=expires))
        except IntegrityError:  # another worker inserted it first: it holds the lease
            return False
        return True

    def held(self) -> bool:
        """Whether this holder's lease is unexpired now (as the store says)."""
        with self.sessions() as s:
            row = s.get(WorkerLease, self.name)
            return row is not None and row.holder == self.holder and row.expires_at > datetime.now(UTC)

    def release(self) -> None:
        """Give the lease up at once (a clean stop), so that another worker need not wait for it to expire."""
        with self.sessions() as s, s.begin():
            s.execute(
                delete(WorkerLease)
                .where(WorkerLease.name == self.name, WorkerLease.holder == self.holder)
                .execution_options(synchronize_session=False)
            )

    def current_holder(self) -> str | None:
        """Who holds the lease now (None if nobody's is unexpired)."""
        with self.sessions() as s:
            row = s.get(WorkerLease, self.name)
            return row.holder if row is not None and row.expires_at > datetime.now(UTC) else None
