"""Group commit: requests that arrive together are written together, in one transaction.

Each request on its own is a transaction: the store's write lock, a commit (an fsync). Under concurrent callers on
SQLite the writers queue on the database's lock, and SQLite's busy handler polls it with sleeps of up to 100 ms, so
50 callers get a few dozen writes a second between them. Here the callers queue in the process instead: one writing
thread takes every request waiting (up to `most`) and hands them to `issue_batch` in one transaction, while the
next requests queue for the next one. A request is answered once the transaction that holds its write has
committed, exactly as if it had been alone; a request refused on its own merits is refused alone. If a batch's
transaction fails as a whole (a database error, or one request's refusal), each of its requests is retried in a
transaction of its own, so only the request that caused it sees the error.

Callers get a `concurrent.futures.Future`: a thread waits on it (`issue`), the event loop awaits it
(`asyncio.wrap_future`) without holding a thread of the pool. The writing thread starts with the first request and
ends after `idle` seconds without one. Certificates are issued this way (zero_errand.group), and inspectors' scans
are recorded this way (credit.inspections).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Generic, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from store.db import transaction

T = TypeVar("T")  # a request
R = TypeVar("R")  # its outcome


class GroupCommit(Generic[T, R]):
    """Write single requests from many callers in shared transactions (see the module's docstring)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        issue_batch: Callable[[Session, list[T]], list[R]],
        most: int = 64,
        idle: float = 5.0,
        name: str = "group-commit",
    ) -> None:
        self.sessions, self.issue_batch, self.most, self.idle = sessions, issue_batch, most, idle
        self.name = name  # the writing thread's
        self._changed = threading.Condition()
        self._waiting: list[tuple[T, Future[R]]] = []
        self._thread: threading.Thread | None = None
        self.batches = 0  # transactions run and the most requests in one (the tests read them)
        self.largest = 0

    def submit(self, request: T) -> Future[R]:
        """Queue `request`; its future gives the outcome once its certificate (if any) is committed, or raises
        what its transaction raised when issuing it alone failed too."""
        future: Future[R] = Future()
        with self._changed:
            self._waiting.append((request, future))
            if self._thread is None:
                self._thread = threading.Thread(target=self._issue_forever, name=self.name, daemon=True)
                self._thread.start()
            self._changed.notify()
        return future

    def issue(self, request: T) -> R:
        """`submit`, waiting for the outcome in this thread."""
        return self.submit(request).result()

    def _issue_forever(self) -> None:
        while True:
            with self._changed:
                if not self._waiting:
                    self._changed.wait(self.idle)
                if not self._waiting:  # idle: the next submit starts a new thread
                    self._thread = None
                    return
                batch, self._waiting = self._waiting[: self.most], self._waiting[self.most :]
            # a caller that gave up before its turn (a dropped connection cancels the awaited future) is left out;
            # a request taken is running, so its caller can no longer cancel it and it is answered as committed
            batch = [(request, future) for request, future in batch if future.set_running_or_notify_cancel()]
            if batch:
                self._run(batch)

    def _run(self, batch: list[tuple[T, Future[R]]]) -> None:
        """Issue `batch` in one transaction, or each alone if that fails. Every future is resolved when this
        returns, with an outcome or an exception."""
        self.batches += 1
        self.largest = max(self.largest, len(batch))
        try:
            try:
                self._issue(batch)
            except Exception as exc:  # the whole transaction failed: find out whose request it was
                if len(batch) == 1:
                    if not batch[0][1].done():
                        batch[0][1].set_exception(exc)
                else:
                    for member in batch:
                        try:
                            self._issue([member])
                        except Exception as alone:  # noqa: BLE001 - raised to the caller whose request it was
                            member[1].set_exception(alone)
        finally:
            for _, future in batch:
                if not future.done():  # interrupted before its turn
                    future.set_exception(RuntimeError("the batch holding this request was interrupted; retry"))

    def _issue(self, members: list[tuple[T, Future[R]]]) -> None:
        with transaction(self.sessions) as session:
            outcomes = self.issue_batch(session, [request for request, _ in members])
        for (_, future), outcome in zip(members, outcomes, strict=True):  # committed: now they may be answered
            future.set_result(outcome)
