"""The page's JavaScript pipeline (web/verify/core.js) under Node agrees with the Python one, payload by payload:
certificates of format 1 signed with secp256k1, and SM2-signed attestations (format 3, issue 20) with their mutants,
over a key list holding SM2 keys and entries a verifier must leave out."""

from __future__ import annotations

import json
import random
import subprocess
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from eth_account import Account

from qr.payload import encode, to_digits
from qr.signed import Content, Domain, sign
from qr.trustlist import TrustList
from qr.verify import verify_text
from tests.conftest import ROOT
from tests.pages import sm2_corpus
from tests.pages.test_verify_parity import summary_js, summary_py
from tests.qr.test_mutations import TODAY

DOMAIN = Domain(131277322940537, "0x4DFD345E54a21Ecbf5b9287f8F17B173b02031Ab")
TAX, SI, AMR, STRANGER = (Account.from_key(bytes([n]) * 32) for n in (7, 8, 6, 9))
TRUST = {
    "chain_id": DOMAIN.chain_id,
    "verifying_contract": DOMAIN.verifying_contract,
    "departments": [
        {"id": "tax.440604", "name": "税务局", "retired_at": 0},
        {"id": "si.440604", "name": "社保局", "retired_at": 0},
        {"id": "amr.440604", "name": "市场监管局", "retired_at": 0},
    ],
    "keys": [
        {"address": TAX.address, "department": "tax.440604", "kinds": 0b101, "valid_from": 1000, "revoked_at": 0},
        {
            "address": SI.address,
            "department": "si.440604",
            "kinds": 0b110,
            "valid_from": 1000,
            "revoked_at": 0,
            "migrated": True,
        },
        {"address": AMR.address, "department": "amr.440604", "kinds": 0b1111100, "valid_from": 1000, "revoked_at": 0},
    ],
}
RUNNER = """
import { verify } from "%s/web/verify/core.js";
const cases = JSON.parse(await new Promise((ok) => { let s = ""; process.stdin.on("data", (d) => s += d);
                                                      process.stdin.on("end", () => ok(s)); }));
const out = [];
for (const c of cases.texts) out.push(await verify(c, cases.trust, async () => cases.state, cases.today));
console.log(JSON.stringify(out));
"""


def run_node(texts: list[str], trust: dict[str, Any], state: str, today: date) -> list[dict[str, Any]]:
    """The verdicts of core.js's `verify` for `texts`, every digest in chain state `state`."""
    run = subprocess.run(
        ["node", "--input-type=module", "-e", RUNNER % ROOT.as_posix()],
        cwd=ROOT,
        capture_output=True,
        text=True,
        input=json.dumps({"texts": texts, "trust": trust, "state": state, "today": today.isoformat()}),
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


class TrustResolver:
    """The Python pipeline's view of the same key list, with a fixed chain state."""

    def __init__(self, state: str) -> None:
        self._state = state

    def domain(self) -> Domain:
        return DOMAIN

    def key_known(self, signer: str) -> bool:
        return signer in (TAX.address, SI.address, AMR.address)

    def key_department(self, signer: str) -> str | None:
        return next(k["department"] for k in TRUST["keys"] if k["address"] == signer)

    def key_migrated(self, signer: str) -> bool:
        return bool(next(k for k in TRUST["keys"] if k["address"] == signer).get("migrated"))

    def is_authorized(self, signer: str, chain_kind: int, timestamp: int) -> bool:
        key = next(k for k in TRUST["keys"] if k["address"] == signer)
        return bool(key["kinds"] >> chain_kind & 1) and timestamp >= key["valid_from"]

    def state(self, digest_hex: str, department: str) -> str:
        return self._state


def content(rng: random.Random, kind: int) -> Content:
    citizen = kind in (1, 3)
    name = "".join(rng.choice("陈黄李张佛山市禅城区明华科技有限公司") for _ in range(rng.randint(2, 20)))
    subject = (
        f"{rng.randint(1100, 6599)}{'*' * 10}{rng.randint(100, 999)}{rng.choice('0123456789X')}"
        if citizen
        else "91440604" + "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(10))
    )
    return Content(
        kind=kind,
        version=1,
        number=f"{rng.randint(0, 10**17 - 1):017d}",
        subject=subject,
        subjectName=name,
        periodFrom=rng.randint(19000, 20400),
        periodTo=rng.randint(20400, 20500),
        totalFen=rng.choice([0, 1, 127, 128, rng.randint(0, 10**12)]),
        monthsPaid=rng.randint(0, 60),
        monthsInArrears=rng.randint(0, 12),
        detailHash="0x" + rng.randbytes(32).hex(),
        issuedAt=rng.choice([500, rng.randint(1700000000, 1800000000)]),
        expiresOn=rng.randint(20300, 20800),
        department={1: "tax.440604", 2: "tax.440604", 5: "amr.440604"}.get(kind, "si.440604"),
    )


def texts() -> list[str]:
    rng = random.Random(5)
    out = []
    for i in range(50):
        kind = 1 + i % 5
        c = content(rng, kind)
        if kind == 5:
            c = replace(c, monthsInArrears=rng.randint(1, 4))
        signer = STRANGER if i % 13 == 5 else {1: TAX, 2: TAX, 5: AMR}.get(kind, SI)
        if i % 11 == 8:  # a registered key of another department than the one the certificate names
            signer = SI if signer is not SI else TAX
        payload = encode(c, sign(c, DOMAIN, signer)[1])
        if i % 7 == 3:  # tampered after signing: one byte of the body flipped
            at = rng.randrange(12, len(payload) - 64)
            payload = payload[:at] + bytes([payload[at] ^ 1 << rng.randrange(8)]) + payload[at + 1 :]
        out.append(f"https://zel.example.cn/verify#{to_digits(payload)}")
    return out + ["https://zel.example.cn/verify#123", "#", "abc", "#" + "9" * 300]


EXPECTED = {
    "anchored": {"VALID", "EXPIRED"},
    "revoked": {"REVOKED"},
    "pending": {"PENDING_ANCHOR"},
    "unknown": set(),
    "foreign-anchor": set(),
}


@pytest.mark.parametrize("state", ["anchored", "revoked", "pending", "unknown", "foreign-anchor"])
def test_the_javascript_pipeline_gives_the_python_verdicts(state: str) -> None:
    today = date(2025, 11, 1)
    cases = texts()
    js = run_node(cases, TRUST, state, today)
    statuses = set()
    for text, got in zip(cases, js, strict=True):
        want = verify_text(text, TrustResolver(state), today)
        statuses.add(want.status)
        assert got["status"] == want.status, text
        assert [c["name"] for c in got["checks"]] == [c.name for c in want.checks]
        assert [c["ok"] for c in got["checks"]] == [c.ok for c in want.checks]
        if want.digest:
            assert got["digest"] == want.digest
            assert got["certificate"]["subject"] == want.certificate["subject"]
            assert got["certificate"]["subject_name"] == want.certificate["subject_name"]
            assert got["certificate"]["period_to"] == want.certificate["period_to"]
            assert got["certificate"]["total_fen"] == want.certificate["total_fen"]
            assert got["certificate"].get("grade") == want.certificate.get("grade")
        if want.signer and want.status != "INVALID":
            assert got["signer"] == want.signer.lower()
    # the corpus reaches every branch this chain state allows
    assert statuses == {"INVALID", "UNTRUSTED_ISSUER", *EXPECTED[state]}
    # the department mismatch is reached, and says which department the key belongs to
    assert any("The signing key belongs to" in c["en"] for got in js for c in got["checks"])


class ListResolver:
    """The Python pipeline over a key list as a trust list's resolver reads it (qr.trustlist.OfflineResolver: its SM2
    keys by qr.trustlist.sm2_keys), every digest in a fixed chain state."""

    def __init__(self, body: dict[str, Any], state: str) -> None:
        self.keys, self._state = TrustList(body, "").resolver, state

    def __getattr__(self, name: str) -> Any:
        return getattr(self.keys, name)

    def state(self, digest_hex: str, department: str) -> str:
        return self._state


def sm2_texts() -> list[str]:
    """A valid SM2 payload of every kind, the corpus's refusals, and every byte of three valid payloads changed."""
    valid = sm2_corpus.valid_payloads()
    payloads = valid + [payload for payload, _ in sm2_corpus.cases()]
    for payload in valid[:3]:
        payloads += sm2_corpus.flipped(payload)
    return ["#" + to_digits(payload) for payload in payloads]


@pytest.mark.parametrize("state", ["anchored", "revoked", "pending", "unknown", "foreign-anchor"])
def test_the_javascript_pipeline_gives_the_python_verdicts_and_reasons_for_sm2_certificates(state: str) -> None:
    body, texts = sm2_corpus.body(), sm2_texts()
    js = run_node(texts, body, state, TODAY)
    resolver = ListResolver(body, state)
    python = [verify_text(text, resolver, TODAY) for text in texts]
    for text, want, got in zip(texts, python, js, strict=True):
        assert summary_js(got) == summary_py(want), text
        assert got["digest"] == want.digest, text
        assert got["signer"] == (want.signer and want.signer.lower()), text
        if want.certificate:
            assert got["certificate"]["suite"] == want.certificate["suite"] == "sm2", text
    if state == "anchored":
        expected = ["VALID"] * len(sm2_corpus.valid_payloads()) + [want for _, want in sm2_corpus.cases()]
        assert [v.status for v in python[: len(expected)]] == expected
        codes = {c["code"] for v in js for c in v["checks"] if c["ok"] is not True}
        # every way an SM2 signature or its key can fail, and the steps after it, with the key's address as signer
        assert {"unknown-signer", "unusable", "department-mismatch", "unauthorized", "migrated", "expired"} <= codes
        assert {"truncated", "trailing", "version", "schema", "range"} <= codes
        statuses = [v.status for v in python[len(expected) :]]
        assert statuses.count("VALID") == 0 and statuses.count("INVALID") > 0.99 * len(statuses)
