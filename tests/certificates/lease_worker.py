"""An anchor worker process for test_anchor_lease.py: runs one certificate `Anchorer.run_forever` on the store and
chain named by the `ZEL_*` environment, with the lease TTL of `LEASE_TTL`, and prints one JSON line per event.

Fault injection: once the file named by the first argument exists, the worker hangs right after its next root
is on chain (`anchor_root` or `anchor_schema_root`) and before the store records it ANCHORED (the moment a
`kill -9` hurts most), printing the root.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
from typing import Any

from api.context import build_context
from api.settings import Settings


def emit(name: str, event: str, **fields: Any) -> None:
    print(json.dumps({"worker": name, "event": event, "t": time.time(), **fields}), flush=True)


def main() -> None:
    trigger, name = sys.argv[1], sys.argv[2]
    ctx = build_context(Settings())
    anchorer = ctx.require_certificates().anchorer(batch_size=2, max_wait=0)
    anchorer.lease_ttl = float(os.environ["LEASE_TTL"])

    class Lines(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            fields = record.__dict__
            emit(name, "anchored", batch=fields["batch"], root=fields["root"], gas=fields["gas"])

    logging.getLogger("zel.anchor").addHandler(Lines())

    def hanging(send: Any) -> Any:
        def anchor(*args: Any, **kwargs: Any) -> Any:
            result = send(*args, **kwargs)
            if os.path.exists(trigger):
                emit(name, "sent", root="0x" + bytes(args[1]).hex())
                time.sleep(3600)
            return result

        return anchor

    # certificates are anchored by their kind's schema (anchorSchemaRoot); a batch of format-1 ones the same way
    anchorer.ledger.anchor_root = hanging(anchorer.ledger.anchor_root)  # type: ignore[method-assign]
    anchorer.ledger.anchor_schema_root = hanging(anchorer.ledger.anchor_schema_root)  # type: ignore[method-assign]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    emit(name, "ready", holder=anchorer.lease.holder)
    anchorer.run_forever(stop, poll=0.1)
    emit(name, "stopped")


if __name__ == "__main__":
    main()
