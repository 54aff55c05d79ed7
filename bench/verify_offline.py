"""Offline verification throughput: payloads verified per second in one process with a signed trust list.

    .venv/bin/python bench/verify_offline.py [--payloads 5000] [--runs 5]

Builds four sets of `--payloads` signed payloads: certificates of the five certificate kinds as they are issued
today (under their schemas, kinds/standard/), signed with secp256k1 (EIP-712), and the same kinds signed with SM2
over SM3 (payload format 3, issue 20); attestations of the departments' kinds (kinds/files/), all with every
field at its widest and their schemas in the trust list as `zel trustlist export` writes them; and certificates in
the earlier format 1 (which still verify). Then times `qr.verify.verify_offline` over each set in one process (decode,
digest, signer recovery or SM2 verification, authority, revocation list, expiry): floor 3,000 a second for each
secp256k1 set (issues 5 and 19).

`suites` puts the two suites side by side (issue 20): the certificate kinds signed with secp256k1 and with SM2, each
verified as `zel verify --batch --offline` verifies a batch, on every core of the machine (`qr.batch.verify_many`,
one worker per core): `secp256k1_per_second` and `sm2_per_second`, floor 2,000 for SM2 on this 2-core machine; and
the same two in one process (`one_process`), for comparison. Prints one JSON object; each figure is the median of
the runs.
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

from kinds import eip712  # noqa: E402
from kinds.schema import KindSchema, canonical, load  # noqa: E402
from kinds.values import widest  # noqa: E402
from ledger import sm2  # noqa: E402
from ledger.kinds import Kind  # noqa: E402
from qr import attestation  # noqa: E402
from qr.batch import verify_many  # noqa: E402
from qr.payload import encode, to_digits  # noqa: E402
from qr.signed import Content, Domain, domain_separator, sign  # noqa: E402
from qr.trustlist import FORMAT, TrustList, anchor_from, sign_list  # noqa: E402
from qr.verify import verify_offline  # noqa: E402
from zero_errand.certificates import CertKind  # noqa: E402
from zero_errand.standard_kinds import standard_kind  # noqa: E402

URL = "https://zwfw.chancheng.gov.cn/verify#"
FLOOR, SM2_FLOOR = 3000, 2000
FILES = Path(__file__).resolve().parent.parent / "kinds" / "files"


def attestations(kinds: list[KindSchema], keys: dict, domain: Domain, count: int) -> list[str]:
    """`count` signed attestations, the kinds in turn, each field at its widest; SM2 where the department's key in
    `keys` is an `sm2.PrivateKey`."""
    separator = domain_separator(domain.chain_id, domain.verifying_contract)
    out = []
    for i in range(count):
        kind = kinds[i % len(kinds)]
        header = {
            "number": f"9{20261205_0000000 + i:016d}",
            "subject": "4406" + "*" * 14 if kind.subject == "person" else "91440604MA4UABCD1X",
            "subjectName": "" if kind.subject == "person" else "佛山市禅城区智慧城市建设运营服务有限公司",
            "issuedAt": 1_795_400_000 + i,
            "expiresOn": 30000,
            "department": kind.department,
            "detailHash": "0x" + (os.urandom(32).hex() if eip712.has_detail(kind) else eip712.NO_DETAIL.hex()),
        }
        values = widest(kind)
        key = keys[kind.department]
        if isinstance(key, sm2.PrivateKey):
            unsigned = attestation.unsigned(kind, header, values, key.public.key_id)
            payload = unsigned + key.sign(attestation.sm2_message(separator, unsigned))
        else:
            digest = eip712.digest(kind, separator, eip712.message(kind, header, values))
            payload = attestation.encode(kind, header, values, bytes(key.unsafe_sign_hash(digest).signature))
        out.append(URL + to_digits(payload))
    return out


def rate(texts: list[str], trust: TrustList, anchor: str) -> float:
    started = time.perf_counter()
    statuses = {verify_offline(t, trust, trust_anchor=anchor).status for t in texts}
    elapsed = time.perf_counter() - started
    assert statuses == {"VALID"}, statuses
    return len(texts) / elapsed


def batch_rate(texts: list[str], trust: TrustList, anchor: str) -> float:
    """Payloads a second through `verify_many` on every core (the pool's start included)."""
    started = time.perf_counter()
    verdicts = verify_many(texts, trust, anchor_from(anchor, None, None, None))
    elapsed = time.perf_counter() - started
    assert {v.status for v in verdicts} == {"VALID"}, {v.status for v in verdicts}
    return len(texts) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payloads", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    admin, tax, si, amr, ps, edu = (Account.create() for _ in range(6))
    sm2_keys = {d: sm2.PrivateKey.generate() for d in ("tax.440604", "si.440604", "amr.440604")}
    # the kinds as the store and the trust list hold them: their canonical JSON
    kinds = [load(canonical(load(p.read_bytes()).source)) for p in sorted(FILES.glob("*.json"))]
    certificate_kinds = [standard_kind(k) for k in CertKind]  # what every certificate is issued under today
    attest = 1 << Kind.ATTESTATION
    domain = Domain(131277322940537, "0x4DFD345E54a21Ecbf5b9287f8F17B173b02031Ab")
    body = {
        "format": FORMAT,
        "issued_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "chain_id": domain.chain_id,
        "verifying_contract": domain.verifying_contract,
        "departments": [
            {"id": "tax.440604", "name": "税务局", "retired_at": 0},
            {"id": "si.440604", "name": "社保局", "retired_at": 0},
            {"id": "amr.440604", "name": "市场监管局", "retired_at": 0},
            {"id": "ps.440604", "name": "公安分局", "retired_at": 0},
            {"id": "edu.440604", "name": "教育局", "retired_at": 0},
        ],
        "keys": [
            {
                "address": tax.address,
                "department": "tax.440604",
                "kinds": 0b101 | attest,
                "valid_from": 0,
                "revoked_at": 0,
            },
            {
                "address": si.address,
                "department": "si.440604",
                "kinds": 0b110 | attest,
                "valid_from": 0,
                "revoked_at": 0,
            },
            {"address": amr.address, "department": "amr.440604", "kinds": attest, "valid_from": 0, "revoked_at": 0},
            {"address": ps.address, "department": "ps.440604", "kinds": attest, "valid_from": 0, "revoked_at": 0},
            {"address": edu.address, "department": "edu.440604", "kinds": attest, "valid_from": 0, "revoked_at": 0},
            *(
                {
                    "address": key.public.address,
                    "department": department,
                    "kinds": attest,
                    "valid_from": 0,
                    "revoked_at": 0,
                    "suite": "sm2",
                    "public_key": "0x" + key.public.raw.hex(),
                }
                for department, key in sm2_keys.items()
            ),
        ],
        "kinds": [
            {"index": i, "digest": "0x" + k.digest.hex(), "department": k.department, "schema": k.source}
            for i, k in enumerate([*certificate_kinds, *kinds], 1)
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
        texts.append(URL + to_digits(encode(c, sign(c, domain, tax if kind < 3 else si)[1])))
    keys = {"ps.440604": ps, "edu.440604": edu, "tax.440604": tax, "si.440604": si, "amr.440604": amr}
    sets = {
        "certificates": attestations(certificate_kinds, keys, domain, args.payloads),
        "sm2_certificates": attestations(certificate_kinds, sm2_keys, domain, args.payloads),
        "attestations": attestations(kinds, keys, domain, args.payloads),
        "format_1_certificates": texts,
    }
    rates: dict[str, list[float]] = {name: [] for name in sets}
    suites = {"secp256k1": "certificates", "sm2": "sm2_certificates"}
    batches: dict[str, list[float]] = {suite: [] for suite in suites}
    for _ in range(args.runs):
        for name, payloads in sets.items():
            rates[name].append(rate(payloads, trust, admin.address))
        for suite, name in suites.items():
            batches[suite].append(batch_rate(sets[name], trust, admin.address))
    figures = {
        name: {"per_second_median": round(statistics.median(r)), "per_second_runs": [round(x) for x in r]}
        for name, r in rates.items()
    }
    print(
        json.dumps(
            {
                "payloads_per_set": args.payloads,
                "runs": args.runs,
                "kinds": [f"{k.slug}.v{k.version}" for k in [*certificate_kinds, *kinds]],
                **figures,
                "suites": {
                    "secp256k1_per_second": round(statistics.median(batches["secp256k1"])),
                    "sm2_per_second": round(statistics.median(batches["sm2"])),
                    "runs": {suite: [round(x) for x in r] for suite, r in batches.items()},
                    "workers": len(os.sched_getaffinity(0)),
                    "one_process": {suite: figures[name]["per_second_median"] for suite, name in suites.items()},
                    "sm2_floor": SM2_FLOOR,
                },
                "floor": FLOOR,
                "ok": all(f["per_second_median"] >= FLOOR for name, f in figures.items() if name != "sm2_certificates")
                and statistics.median(batches["sm2"]) >= SM2_FLOOR,
                "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
