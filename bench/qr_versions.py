"""The QR version of every certificate kind, at error-correction levels M and Q, for the longest realistic
content: enterprise names of 20 Chinese characters, citizen names of 4, eight-figure totals. Beside them
(`schema_kinds`), every kind given as a schema file (issue 19): the certificate kinds' own (kinds/standard/) and the
departments' (kinds/files/), each field at its longest (`kinds.values.widest`), in the format-2 payload
(`qr.attestation.longest_payload`, secp256k1) and the format-3 one (`longest_sm2_payload`, SM2: 4 bytes of key id
more, issue 20).

    .venv/bin/python bench/qr_versions.py [--url https://zwfw.chancheng.gov.cn]

The floor (issue 5): a standard certificate fits version 13 at level Q. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eth_account import Account  # noqa: E402

from kinds.schema import load  # noqa: E402
from qr import attestation  # noqa: E402
from qr.payload import encode, verify_url  # noqa: E402
from qr.render import version_of  # noqa: E402
from qr.signed import Content, Domain, sign  # noqa: E402

KINDS = {
    1: ("tax-individual", "tax.440604"),
    2: ("tax-enterprise", "tax.440604"),
    3: ("si-individual", "si.440604"),
    4: ("si-enterprise", "si.440604"),
    5: ("credit-report", "amr.440604"),
}
ENTERPRISE = "佛山市禅城区智慧城市建设运营服务有限公司"  # 20 characters
CITIZEN = "欧阳志明"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="https://zwfw.chancheng.gov.cn", help="the deployment's public URL")
    args = parser.parse_args()
    assert len(ENTERPRISE) == 20
    key = Account.from_key(os.urandom(32))
    domain = Domain(131277322940537, "0x4DFD345E54a21Ecbf5b9287f8F17B173b02031Ab")
    kinds = {}
    for code, (slug, department) in KINDS.items():
        citizen = code in (1, 3)
        # a credit report carries its score, record count and class where certificates carry money and months
        total, months, arrears = (100, 255, 4) if code == 5 else (99_999_999_99, 12, 1)
        content = Content(
            kind=code,
            version=1,
            number=f"{code}2026112400012345",
            subject="4406**********123X" if citizen else "91440604MA4UABCD1X",
            subjectName=CITIZEN if citizen else ENTERPRISE,
            periodFrom=18500 if code == 5 else 20089,
            periodTo=20453,
            totalFen=total,
            monthsPaid=months,
            monthsInArrears=arrears,
            detailHash="0x" + "ab" * 32,
            issuedAt=1795500000,
            expiresOn=20600,
            department=department,
        )
        payload = encode(content, sign(content, domain, key)[1])
        url = verify_url(args.url, payload)
        kinds[slug] = {
            "payload_bytes": len(payload),
            "url_chars": len(url),
            "version_M": version_of(url, "M"),
            "version_Q": version_of(url, "Q"),
        }
    schema_kinds = {}
    root = Path(__file__).resolve().parent.parent
    for path in sorted([*(root / "kinds" / "standard").glob("*.json"), *(root / "kinds" / "files").glob("*.json")]):
        kind = load(path.read_bytes())
        payload = attestation.longest_payload(kind)
        url = verify_url(args.url, payload)
        sm2_url = verify_url(args.url, attestation.longest_sm2_payload(kind))
        schema_kinds[f"{kind.slug}.v{kind.version}"] = {  # every version of a kind, not the last read
            "payload_bytes": len(payload),
            "url_chars": len(url),
            "version_M": version_of(url, "M"),
            "version_Q": version_of(url, "Q"),
            "sm2": {
                "payload_bytes": len(payload) + 4,
                "version_M": version_of(sm2_url, "M"),
                "version_Q": version_of(sm2_url, "Q"),
            },
            "qr_fields": sum(f.in_qr for f in kind.fields),
            "from": str(path.relative_to(root)),
        }
    worst = max(
        k["version_Q"] for k in [*kinds.values(), *schema_kinds.values(), *(k["sm2"] for k in schema_kinds.values())]
    )
    print(
        json.dumps(
            {
                "url": args.url,
                "kinds": kinds,
                "schema_kinds": schema_kinds,
                "floor": {"version_Q_at_most": 13, "ok": worst <= 13},
                "reference": "EU Digital COVID Certificate median: version 18",
            },
            indent=1,
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
