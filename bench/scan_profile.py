"""Inspector scan to profile (一码检查) under 100 concurrent loopback clients, against `zel serve`.

    .venv/bin/python bench/scan_profile.py [--clients 100] [--rate 200] [--seconds 10] [--runs 3] [--enterprises 40]
                                           [--no-cache]

What an inspector's phone sends after reading an enterprise's one code: `POST /v1/inspector/scan` with the
code's URL and the inspector's bearer token; the server checks the code's signature and key, and answers the
enterprise's standing (grade with its explanation, list flags, records on display, recent inspections, whether
an inspection is due). The public profile the same code opens (`GET /v1/public/enterprises/{uscc}/standing`) is
measured beside it. Enterprises carry a few credit records and inspections each (each opened by a scan), so the
profile is not empty. Every scan is recorded (扫码入企: a signed scan event, one INSERT), so the scan route writes.
Same loads and client as bench/verify_load.py; prints one JSON object; floor: scan p99 under 50 ms (bounded).

The bounded load defaults to 200 scans/s in all, two a second from each of 100 inspectors' phones, far above
a district's real rate (an inspection takes minutes); `--rate 500` matches bench/verify_load.py. Standings are
cached for a few seconds (credit/cache.py), so repeated scans of one enterprise cost a dict lookup;
`--no-cache` measures every scan computing the standing from the store.
"""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from verify_load import arguments, measure, start_server

RECORDS = ("tax_arrears", "si_arrears", "penalty_minor", "penalty_general", "commendation")


def prepare(data_dir: Path, base: str, enterprises: int) -> tuple[list[str], list[str], str]:
    """Seed enterprises with credit records and inspections; their one-code URLs, USCCs and an inspector token."""
    from api.provisioning import provisioned_context
    from api.security import Principal
    from api.services import add_user
    from api.settings import Settings
    from credit import inspections, workflows
    from credit.codes_qr import enterprise_code
    from store.db import transaction
    from store.models import Role
    from zero_errand.seed import seed_data

    ctx = provisioned_context(Settings(mode="development", data_dir=data_dir, public_url=base))
    rng, today, now = random.Random(11), date.today(), datetime.now(UTC)
    with transaction(ctx.sessions) as session:
        usccs = seed_data(session, ctx.pii, people=2, enterprises=enterprises, seed=11).enterprises
        # the inspector whose token scans: tokens are checked against their account on every request
        add_user(
            session,
            ctx.pii,
            Principal("system:bench", Role.ADMIN),
            username="inspector1",
            role=Role.INSPECTOR,
            department="amr.440604",
        )
        for uscc in usccs:
            for _ in range(rng.randint(0, 4)):
                kind = rng.choice(RECORDS)  # each kind from the department that owns it
                workflows.record(
                    ctx.credit,
                    session,
                    uscc=uscc,
                    type=kind,
                    department={"tax_arrears": "tax.440604", "si_arrears": "si.440604"}.get(kind, "amr.440604"),
                    decided_on=today - timedelta(days=rng.randint(1, 700)),
                    summary="bench record",
                    reference="",
                    actor="bench",
                )
            for _ in range(rng.randint(0, 3)):
                # scan to enter (扫码入企) first; a visit the schedule did not make due gives a reason
                began = now - timedelta(days=rng.randint(1, 900))
                entered = inspections.record_scan(
                    ctx.credit,
                    session,
                    uscc=uscc,
                    inspector="inspector1",
                    department="amr.440604",
                    at=began - timedelta(minutes=5),
                    actor="bench",
                )
                inspections.record_inspection(
                    ctx.credit,
                    session,
                    uscc=uscc,
                    departments=["amr.440604"],
                    inspectors=["inspector1"],
                    items=[{"item": "营业执照", "ok": True}],
                    findings="",
                    result=rng.choice(["pass", "issues"]),
                    evidence=[],
                    started_at=began,
                    ended_at=began + timedelta(hours=1),
                    scan=entered.uid,
                    reason="referral",  # a visit the schedule did not make due, on a referral (转办)
                    actor="bench",
                )
    ctx.credit.sync(force=True)
    key = ctx.credit.keys["amr.440604"]
    codes = [enterprise_code(ctx.ledger, key, base, uscc) for uscc in usccs]
    token = ctx.tokens.issue(Principal("user:inspector1", Role.INSPECTOR, department="amr.440604"))[0]
    ctx.ledger.close()
    ctx.engine.dispose()
    return codes, usccs, token


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=40)
    parser.add_argument("--no-cache", action="store_true", help="serve with ZEL_STANDING_CACHE_SECONDS=0")
    parser.set_defaults(rate=200.0)
    args = parser.parse_args()
    port = 19000 + os.getpid() % 1000
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        codes, usccs, token = prepare(data_dir, base, args.enterprises)
        auth = f"Authorization: Bearer {token}\r\n"
        server = start_server(data_dir, port, **({"ZEL_STANDING_CACHE_SECONDS": "0"} if args.no_cache else {}))
        try:
            results = measure(
                port,
                {
                    "scan": lambda rng: ("POST", "/v1/inspector/scan", {"text": rng.choice(codes)}, auth),
                    "public_profile": lambda rng: ("GET", f"/v1/public/enterprises/{rng.choice(usccs)}/standing", None),
                },
                args,
            )
        finally:
            server.terminate()
            server.wait(timeout=30)
    scan_p99 = results["scan"]["bounded"]["p99_ms"]
    print(
        json.dumps(
            {
                "clients": args.clients,
                "bounded_rate_per_second": args.rate,
                "seconds": args.seconds,
                "runs": args.runs,
                "enterprises": args.enterprises,
                "standing_cache": not args.no_cache,
                "routes": results,
                "floor": {"scan_p99_ms_below": 50, "ok": scan_p99 < 50 and results["scan"]["bounded"]["errors"] == 0},
                "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
