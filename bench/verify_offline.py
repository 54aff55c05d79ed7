"""Offline verification throughput: payloads verified per second in one process with a signed trust list.

    .venv/bin/python bench/verify_offline.py [--payloads 5000] [--runs 5]

Builds `--payloads` signed certificates of all four kinds (citizen and enterprise subjects, Chinese names),
then times `qr.verify.verify_offline` over all of them (decode, digest, signer recovery, authority, revocation
list, expiry). Floor (issue 5): 3,000 a second. Prints one JSON object; the figure is the median of the runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eth_account import Account  # noqa: E402

from qr.payload import encode, to_digits  # noqa: E402
from qr.signed import Content, Domain, sign  # noqa: E402
from qr.trustlist import FORMAT, TrustList, sign_list  # noqa: E402
from qr.verify import verify_offline  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payloads", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    admin, tax, si = Account.create(), Account.create(), Account.create()
    domain = Domain(131277322940537, "0x4DFD345E54a21Ecbf5b9287f8F17B173b02031Ab")
    body = {
        "format": FORMAT,
        "issued_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "chain_id": domain.chain_id,
        "verifying_contract": domain.verifying_contract,
        "departments": [
            {"id": "tax.440604", "name": "税务局", "retired_at": 0},
            {"id": "si.440604", "name": "社保局", "retired_at": 0},
        ],
        "keys": [
            {"address": tax.address, "department": "tax.440604", "kinds": 0b101, "valid_from": 0, "revoked_at": 0},
            {"address": si.address, "department": "si.440604", "kinds": 0b110, "valid_from": 0, "revoked_at": 0},
        ],
        "revoked": ["0x" + os.urandom(32).hex() for _ in range(1000)],
        "suspended": [],
    }
    trust = TrustList.load(json.dumps(sign_list(body, admin)))
    texts = []
    for i in range(args.payloads):
        kind = 1 + i % 4
        citizen = kind in (1, 3)
        c = Content(
            kind=kind,
            version=1,
            number=f"{20261124000000000 + i:017d}",
            subject=f"4406**********{i % 1000:03d}X" if citizen else "91440604MA4UABCD1X",
            subjectName="陈志明" if citizen else "佛山市禅城区智慧城市建设运营服务有限公司",
            periodFrom=20089,
            periodTo=20453,
            totalFen=1_000_00 * i,
            monthsPaid=12,
            monthsInArrears=0,
            detailHash="0x" + os.urandom(32).hex(),
            issuedAt=1_795_400_000,
            expiresOn=30000,
            department="tax.440604" if kind in (1, 2) else "si.440604",
        )
        texts.append(
            "https://zwfw.chancheng.gov.cn/verify#" + to_digits(encode(c, sign(c, domain, tax if kind < 3 else si)[1]))
        )
    rates = []
    for _ in range(args.runs):
        started = time.perf_counter()
        statuses = {verify_offline(t, trust, trust_anchor=admin.address).status for t in texts}
        rates.append(len(texts) / (time.perf_counter() - started))
        assert statuses == {"VALID"}, statuses
    median = statistics.median(rates)
    print(
        json.dumps(
            {
                "payloads": args.payloads,
                "runs": args.runs,
                "per_second_median": round(median),
                "per_second_runs": [round(r) for r in rates],
                "floor": 3000,
                "ok": median >= 3000,
                "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
