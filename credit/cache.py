"""Recently computed standings, so that an inspector's scan or a public profile costs a dict lookup instead of
five queries while a visit is under way (the same enterprise is scanned again and again).

A write made through this process's sessions to anything a standing shows (records, grades, lists, repairs,
inspections, triggers, ratings, objections, alerts, the enterprise; not scans) drops that enterprise's entries
when its transaction commits. Writes made by other processes (the `zel` CLI, a separate `zel anchor run`) show
within `ttl` seconds; entries also end with the day, because records leave public display by date.

Several replicas tell each other at once: the composition root hands in `publish`, which announces the enterprises
a commit touched (`api.shared_state` sends them over Redis), and calls `invalidate` for what other processes
announce. This package knows nothing of the transport; when it is down, other processes' writes show within `ttl`.
"""

from __future__ import annotations

import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from credit.ledger import CreditLedger
from credit.profile import Audience, standing
from store.models import (
    CreditGrade,
    CreditRecord,
    Enterprise,
    Inspection,
    InspectionTrigger,
    ListEntry,
    RepairApplication,
    TaxCreditGrade,
)

# Every table with a `uscc` whose rows a standing shows or may show
SHOWN = (
    CreditRecord,
    CreditGrade,
    ListEntry,
    RepairApplication,
    Inspection,
    Enterprise,
    InspectionTrigger,
    TaxCreditGrade,
)  # not ratings, objections or visit alerts: no standing shows them (and a rating's enterprise is announced nowhere)
TOUCHED = "credit_touched"  # session.info key: the enterprises written in the session's transaction


class StandingCache:
    """At most `size` standings, each for `ttl` seconds, keyed by (USCC, audience, day)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        ttl: float = 5.0,
        size: int = 4096,
        publish: Callable[[set[str]], None] | None = None,
    ) -> None:
        self.ttl, self.size = ttl, size
        self.publish = publish  # tells the other processes which enterprises a commit here touched
        # (computed at, the share of the TTL it lives, standing)
        self._entries: OrderedDict[tuple[str, str, date], tuple[float, float, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()
        self._generation = 0  # bumped by every invalidation: a standing computed across one is not kept
        event.listen(sessions, "after_flush", _collect)
        event.listen(sessions, "after_commit", self._after_commit)
        event.listen(sessions, "after_rollback", lambda session: session.info.pop(TOUCHED, None))

    def standing(
        self,
        credit: CreditLedger,
        session: Session,
        uscc: str,
        audience: Audience,
        on: date | None = None,
        department: str | None = None,
    ) -> dict[str, Any] | None:
        """`credit.profile.standing`, from the cache when it is fresh (None: no such enterprise)."""
        on = on or date.today()
        # a department's view differs by department (its own repaired records): kept apart
        seen_by = f"{audience}:{department}" if audience == "department" else audience
        return self._get(uscc, seen_by, on, lambda: standing(credit, session, uscc, audience, on, department))

    def _get(
        self, uscc: str, audience: str, on: date, compute: Callable[[], dict[str, Any] | None]
    ) -> dict[str, Any] | None:
        key = (uscc, audience, on)
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None and now - hit[0] < self.ttl * hit[1]:
                self._entries.move_to_end(key)
                return hit[2]
            generation = self._generation
        value = compute()
        if value is not None and self.ttl > 0:
            with self._lock:
                if generation == self._generation:
                    # each entry lives between half the TTL and the TTL: standings computed together (a burst of
                    # scans, a restart) do not all expire together and get recomputed in one burst
                    self._entries[key] = (now, 0.5 + 0.5 * random.random(), value)
                    self._entries.move_to_end(key)
                    while len(self._entries) > self.size:
                        self._entries.popitem(last=False)
        return value

    def invalidate(self, usccs: set[str]) -> None:
        """Drop these enterprises' standings (a write here, or one another process announced)."""
        with self._lock:
            self._generation += 1
            for key in [k for k in self._entries if k[0] in usccs]:
                del self._entries[key]

    def clear(self) -> None:
        """Drop every standing: announcements from other processes may have been missed (a reconnect)."""
        with self._lock:
            self._generation += 1
            self._entries.clear()

    def _after_commit(self, session: Session) -> None:
        touched = session.info.pop(TOUCHED, None)
        if touched:
            self.invalidate(touched)
            if self.publish is not None:
                self.publish(touched)


def _collect(session: Session, _context: Any) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        # A scan (扫码入企) changes no standing: every scan of an enterprise dropping its standing would make each
        # scan recompute it, which is what the cache is for.
        if isinstance(obj, SHOWN) and not (isinstance(obj, Inspection) and obj.kind == "scan"):
            session.info.setdefault(TOUCHED, set()).add(obj.uscc)
