"""Group commit: certificate requests that arrive together are issued together, in one transaction.

Each request on its own is a transaction: the store's write lock, an audit-chain head, a commit (an fsync). Under
concurrent callers on SQLite the writers queue on the database's lock, and SQLite's busy handler polls it with
sleeps of up to 100 ms, so 50 callers get a few dozen certificates a second between them. Here the callers queue
in the process instead: whoever finds no batch running takes every request waiting (up to `most`) and issues them
with `zero_errand.issuance.issue_many` in one transaction; the others wait for their outcome, and the next of them
still waiting leads the next batch. A request is answered once the transaction that holds its certificate has
committed, exactly as before; a request refused on its own merits (no records, an idempotency key reused) is
refused alone. If a batch's transaction fails as a whole (a database error), each of its requests is retried in a
transaction of its own, so only the request that caused it sees the error.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from store.db import transaction
from zero_errand.issuance import Outcome, Request

IssueBatch = Callable[[Session, list[Request], datetime | None], list[Outcome]]


@dataclass
class _Slot:
    request: Request
    now: datetime | None
    outcome: Outcome | None = None
    failure: BaseException | None = None
    done: bool = field(default=False)


class GroupCommit:
    """Issue single requests from many threads in shared transactions (see the module's docstring)."""

    def __init__(self, sessions: sessionmaker[Session], issue_batch: IssueBatch, most: int = 64) -> None:
        self.sessions, self.issue_batch, self.most = sessions, issue_batch, most
        self._changed = threading.Condition()
        self._waiting: list[_Slot] = []
        self._leading = False
        self.batches = 0  # transactions run, for tests and metrics
        self.largest = 0

    def submit(self, request: Request, now: datetime | None = None) -> Outcome:
        """The outcome of `request`, once its certificate (if any) is committed. Raises what its transaction
        raised when issuing it alone failed too."""
        slot = _Slot(request, now)
        with self._changed:
            self._waiting.append(slot)
            while not slot.done:
                if self._leading:
                    self._changed.wait()
                    continue
                self._leading = True
                batch, self._waiting = self._waiting[: self.most], self._waiting[self.most :]
                self._changed.release()
                try:
                    self._run(batch)
                finally:
                    self._changed.acquire()
                    self._leading = False
                    self._changed.notify_all()
        if slot.failure is not None:
            raise slot.failure
        assert slot.outcome is not None
        return slot.outcome

    def _run(self, batch: list[_Slot]) -> None:
        """Issue `batch` in one transaction (in groups of equal `now`), or each alone if that fails. Every slot is
        done when this returns, with an outcome or a failure."""
        self.batches += 1
        self.largest = max(self.largest, len(batch))
        groups: dict[datetime | None, list[_Slot]] = {}
        for slot in batch:
            groups.setdefault(slot.now, []).append(slot)
        try:
            for now, slots in groups.items():
                try:
                    self._issue(slots, now)
                except Exception as exc:  # the whole transaction failed: find out whose request it was
                    if len(slots) == 1:
                        slots[0].failure = exc
                        continue
                    for slot in slots:
                        try:
                            self._issue([slot], now)
                        except Exception as alone:  # noqa: BLE001 - raised to the caller whose request it was
                            slot.failure = alone
        finally:
            for slot in batch:
                if slot.outcome is None and slot.failure is None:  # interrupted before its turn
                    slot.failure = RuntimeError("the batch holding this request was interrupted; retry")
                slot.done = True

    def _issue(self, slots: list[_Slot], now: datetime | None) -> None:
        with transaction(self.sessions) as session:
            outcomes = self.issue_batch(session, [s.request for s in slots], now)
        for slot, outcome in zip(slots, outcomes, strict=True):  # committed: now they may be answered
            slot.outcome = outcome
