"""Issue 15: the page's JavaScript reads the prefix-only subject (`4406**************`, tag 2) exactly as
qr/payload.py does, and still reads the earlier mask (tag 0): same subject, same digest, same verdict."""

from __future__ import annotations

import json
import random
import subprocess
from dataclasses import replace
from datetime import date

from qr.payload import encode, mask_id_number, to_digits
from qr.signed import sign
from qr.verify import verify_text
from tests.conftest import ROOT
from tests.pages.test_js_core import DOMAIN, RUNNER, SI, TAX, TRUST, TrustResolver, content


def texts() -> list[str]:
    rng = random.Random(15)
    out = []
    for i in range(24):
        kind = (1, 3)[i % 2]
        c = content(rng, kind)
        if i % 3:  # two in three with the new mask, the rest with the earlier one
            c = replace(c, subject=mask_id_number(f"{rng.randint(1100, 6599)}{rng.randint(0, 10**14 - 1):014d}"))
        payload = encode(c, sign(c, DOMAIN, TAX if kind == 1 else SI)[1])
        if i % 4 == 1:  # the subject prefix altered after signing
            payload = payload[:11] + bytes([payload[11] ^ 1]) + payload[12:]
        out.append(f"https://zel.example.cn/verify#{to_digits(payload)}")
    # a tag-2 payload cut inside its prefix
    return out + ["https://zel.example.cn/verify#" + to_digits(bytes.fromhex("0101" + "00" * 8 + "02" + "11"))]


def test_the_javascript_reads_both_masks_as_python_does() -> None:
    today, cases = date(2025, 11, 1), texts()
    run = subprocess.run(
        ["node", "--input-type=module", "-e", RUNNER % ROOT.as_posix()],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        input=json.dumps({"texts": cases, "trust": TRUST, "state": "anchored", "today": today.isoformat()}),
    )
    assert run.returncode == 0, run.stderr
    got_all = json.loads(run.stdout)
    subjects = set()
    for text, got in zip(cases, got_all, strict=True):
        want = verify_text(text, TrustResolver("anchored"), today)
        assert got["status"] == want.status, text
        assert [(c["name"], c["ok"]) for c in got["checks"]] == [(c.name, c.ok) for c in want.checks]
        assert got.get("digest") == want.digest
        if want.certificate:
            assert got["certificate"]["subject"] == want.certificate["subject"]
            subjects.add(len(want.certificate["subject"].rstrip("*")))
    statuses = {v["status"] for v in got_all}
    assert {"VALID", "INVALID"} <= statuses or {"EXPIRED", "INVALID"} <= statuses
    assert subjects == {4, 18}  # both masks were read: prefix only, and prefix with the last four
