"""The status route and POST /v1/verify under 100 concurrent loopback clients, against `zel serve`.

    .venv/bin/python bench/verify_load.py [--clients 100] [--rate 500] [--seconds 10] [--runs 3]

Two loads per route: a bounded one (`--clients` clients together offering `--rate` requests per second, each
waiting for its answer before the next: phones scanning) and a saturating one (every client fires as soon as
its last answer arrives: the throughput ceiling). Prints one JSON object with p50/p99 latency in ms and
throughput per route and load, each the median over `--runs` runs. The server runs in its own process
(`zel serve`, one worker, embedded chain, SQLite) on a data directory seeded here; the client is a minimal
keep-alive HTTP/1.1 client in one asyncio process (see `Connection`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ZEL_KDF_N", "1024")


def prepare(data_dir: Path, base: str, certificates: int) -> tuple[list[str], list[str]]:
    """Seed the store, issue and anchor `certificates` certificates; their digests and verify URLs."""
    from sqlalchemy import select

    from api.provisioning import provisioned_context
    from api.settings import Settings
    from store.db import transaction
    from store.models import Certificate
    from zero_errand.certificates import CertKind
    from zero_errand.issuance import Subject
    from zero_errand.seed import seed_data
    from zero_errand.verification import url_of

    ctx = provisioned_context(Settings(mode="development", data_dir=data_dir, public_url=base))
    with transaction(ctx.sessions) as session:
        data = seed_data(session, ctx.pii, people=4, enterprises=8, seed=7)
    for i in range(certificates):
        with transaction(ctx.sessions) as session:
            ctx.certificates.request(
                session,
                kind=CertKind.TAX_ENTERPRISE,
                subject=Subject(uscc=data.enterprises[i % len(data.enterprises)]),
                period_from=f"2025-{1 + i // len(data.enterprises) % 12:02d}",
                period_to="2025-12",
                actor="bench",
                actor_role="enterprise",
            )
    ctx.certificates.anchorer(max_wait=0).run_once(force=True)
    with ctx.sessions() as session:
        certs = list(session.scalars(select(Certificate)))
        out = [c.digest for c in certs], [url_of(c, base) for c in certs]
    ctx.ledger.close()
    ctx.engine.dispose()
    return out


class Connection:
    """A minimal HTTP/1.1 keep-alive client. httpx's pool spends more CPU than the server beyond ~20
    connections, so with it the bench would measure the client; this one costs a few microseconds a request."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def request(self, method: str, path: str, body: dict | None, headers: str = "") -> int:
        data = json.dumps(body).encode() if body is not None else b""
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(data)}\r\n{headers}"
        if body is not None:
            head += "Content-Type: application/json\r\n"
        self.writer.write(head.encode() + b"\r\n" + data)
        headers = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
        length = int(headers.split("content-length:", 1)[1].split("\r\n", 1)[0])
        await self.reader.readexactly(length)
        return int(headers.split(" ", 2)[1])

    def close(self) -> None:
        self.writer.close()


async def load(port: int, make, clients: int, seconds: float, rate: float | None) -> dict[str, float]:
    """`clients` concurrent clients for `seconds`; with `rate`, each paces itself to rate/clients per second."""
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def client(n: int) -> None:  # make(rng) -> (method, path, body[, extra header lines])
        nonlocal errors
        rng = random.Random(n)
        conn = await Connection.open(port)
        interval = clients / rate if rate else 0.0
        next_at = time.perf_counter() + rng.random() * interval
        try:
            while True:
                if interval:
                    await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
                    next_at += interval
                if time.perf_counter() > deadline:
                    return
                method, path, body, *headers = make(rng)
                started = time.perf_counter()
                status = await conn.request(method, path, body, *headers)
                latencies.append(time.perf_counter() - started)
                errors += status != 200
        finally:
            conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    return {
        "requests": len(latencies),
        "errors": errors,
        "per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(pick(0.50), 2),
        "p99_ms": round(pick(0.99), 2),
    }


def start_server(data_dir: Path, port: int, **env_extra: str) -> subprocess.Popen:
    """`zel serve` on `data_dir` in its own process, once it answers /healthz."""
    # The bench is one caller from one address: lift the per-caller limit on expensive routes.
    env = {**os.environ, "ZEL_DATA_DIR": str(data_dir), "ZEL_EXPENSIVE_RATE_PER_MINUTE": "100000000", **env_extra}
    # The log goes to a file: a pipe nobody reads would block the server once it filled up.
    log = open(data_dir / "server.log", "wb")
    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "zel"), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return server
        except OSError:
            if server.poll() is not None:
                sys.exit((data_dir / "server.log").read_text())
            time.sleep(0.2)
    server.kill()
    sys.exit("zel serve did not answer /healthz within a minute")


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]} | {"runs": runs}


def measure(port: int, routes: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """Per route: the bounded and the saturating load, each the median of `args.runs` runs."""
    results = {}
    for name, make in routes.items():
        # Warm up, and let start-up work (the event index's replay, the credit worker's first daily pass) finish:
        # the figures are for a running service.
        asyncio.run(load(port, make, 10, 5.0, 200.0))
        results[name] = {
            "bounded": median_of(
                [asyncio.run(load(port, make, args.clients, args.seconds, args.rate)) for _ in range(args.runs)]
            ),
            "saturating": median_of(
                [asyncio.run(load(port, make, args.clients, args.seconds, None)) for _ in range(args.runs)]
            ),
        }
    return results


def arguments(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--rate", type=float, default=500.0, help="offered requests/s of the bounded load")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=3)
    return parser


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--certificates", type=int, default=64)
    args = parser.parse_args()
    port = 18000 + os.getpid() % 1000
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        digests, urls = prepare(data_dir, base, args.certificates)
        server = start_server(data_dir, port)
        try:
            routes = {
                "status": lambda rng: ("GET", f"/v1/verify/status/{rng.choice(digests)}", None),
                "verify": lambda rng: ("POST", "/v1/verify", {"text": rng.choice(urls)}),
            }
            results = measure(port, routes, args)
        finally:
            server.terminate()
            server.wait(timeout=30)
    status_p99 = results["status"]["bounded"]["p99_ms"]
    print(
        json.dumps(
            {
                "clients": args.clients,
                "bounded_rate_per_second": args.rate,
                "seconds": args.seconds,
                "runs": args.runs,
                "routes": results,
                "floor": {"status_p99_ms_below": 50, "ok": status_p99 < 50},
                "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
