"""Issue 16.1: the verify page's pipeline (web/verify/core.js, run in Chromium) gives the Python pipeline's verdict
and reasons (qr/verify.py) for every payload of the mutation set, and the page explains each one without an error.
The set holds SM2-signed attestations too (format 3, issue 20: tests/pages/sm2_corpus.py), checked against a key list
with SM2 keys in it.

The page module exports the `verify` it runs; one `page.evaluate` runs the whole set through it (no navigation per
payload). Reasons are compared as codes: the page's checks carry a `code`, the Python checks are mapped to the same
codes from their English text (`python_code`), and an unreadable payload must give Python's English text word for
word (the page shows it translated on the Chinese page).
"""

from __future__ import annotations

import random
import re
from dataclasses import fields, replace
from typing import Any

from qr.payload import decode, encode, to_digits
from qr.trustlist import TrustList
from qr.verify import Check, Verdict, verify_text
from tests.pages import sm2_corpus
from tests.pages.conftest import LiveServer, phone_context, shot
from tests.qr.test_mutations import (
    ATT_IDS,
    ATT_PAYLOADS,
    BODY,
    CONTENTS,
    DOMAIN,
    PAYLOADS,
    TODAY,
    attestation_edge_cases,
    mutants,
)
from zero_errand.certificates import CertKind
from zero_errand.verification import LedgerResolver

# The Python checks' English texts, by check, to the codes the page's checks carry (first matching prefix).
PYTHON_CODES = {
    "format": [("Well-formed payload", "ok")],
    "signature": [
        ("The signature is invalid", "unusable"),
        ("The signature does not match", "unknown-signer"),
        ("Signed by", "ok"),
    ],
    "issuer": [
        ("The signing key belongs to", "department-mismatch"),
        ("The department key was not authorized", "unauthorized"),
        ("Issued by an authorized", "ok"),
    ],
    "migration": [("The signing key was registered through", "migrated")],
    "anchor": [
        ("Offline", "offline"),
        ("The ledger does not know", "unknown"),
        ("Its batch was anchored by another", "foreign-anchor"),
        ("Issued; its batch", "pending"),
        ("Anchored on the ledger", "ok"),
    ],
    "status": [
        ("The certificate has been revoked", "revoked"),
        ("The certificate is suspended", "suspended"),
        ("Not revoked", "ok"),
    ],
    "expiry": [("Expired on", "expired"), ("Valid until", "ok")],
}


# Why a payload is unreadable: qr.payload.PayloadError's messages (and qr.signed's range check) to the page's codes.
PAYLOAD_PREFIXES = [
    ("Unreadable payload: the QR payload must be decimal digits", "digits"),
    ("Unreadable payload: the QR payload does not start with its marker", "marker"),
    ("Unreadable payload: unknown payload format version", "version"),
    ("Unreadable payload: unknown certificate kind", "kind"),
    ("Unreadable payload: unknown kind: no registered schema", "schema"),
    ("Unreadable payload: the payload is truncated", "truncated"),
    ("Unreadable payload: unknown subject type", "subject-type"),
    ("Unreadable payload: the subject name is not valid GB18030", "name-encoding"),
    ("Unreadable payload: a number in the payload is too long", "number-length"),
    ("Unreadable payload: unknown department code", "department"),
    ("Unreadable payload: unexpected bytes after the signature", "trailing"),
    ("A field is out of range: ", "range"),
]
PAYLOAD_CODES = [(re.escape(prefix), code) for prefix, code in PAYLOAD_PREFIXES] + [
    # an attestation's (qr.attestation): these name the kind or the field first
    (r"Unreadable payload: a [\w-]+ attestation is about an? \w+, not this subject", "subject-kind"),
    (r"Unreadable payload: \w+ is not valid GB18030", "field-encoding"),
    (r"Unreadable payload: \w+: no value \d+ in the kind", "enum"),
    (r"Unreadable payload: \w+: the date is out of range", "date"),
    (r"Unreadable payload: \w+: a boolean byte must be 0 or 1", "boolean"),
]


PAGE_CODES = {code for _, code in PAYLOAD_CODES}


def python_code(check: Check) -> str:
    """The code the page's check carries for the same reason as this Python check."""
    if check.name == "format" and check.ok is False:
        return next(code for pattern, code in PAYLOAD_CODES if re.match(pattern, check.en))
    return next(code for prefix, code in PYTHON_CODES[check.name] if check.en.startswith(prefix))


def summary_py(v: Verdict) -> tuple[Any, ...]:
    # an unreadable payload: the page's English is Python's, word for word (the value it names included)
    return v.status, [(c.name, c.ok, python_code(c), c.en if c.name == "format" else "") for c in v.checks]


def summary_js(v: dict[str, Any]) -> tuple[Any, ...]:
    return v["status"], [(c["name"], c["ok"], c["code"], c["en"] if c["name"] == "format" else "") for c in v["checks"]]


# The mutation tests' key list with SM2 keys added: what the page is given too.
KEYS = sm2_corpus.body()


class Anchored:
    """The Python pipeline over the key list, every digest anchored (what the page is told too)."""

    def __init__(self) -> None:
        self.keys = TrustList(KEYS, "").resolver

    def domain(self):  # noqa: ANN201
        return DOMAIN

    def __getattr__(self, name: str) -> Any:
        return getattr(self.keys, name)

    def state(self, digest_hex: str, department: str) -> str:
        return "anchored"


def mutation_set() -> list[str]:
    """Every mutant tests/qr/test_mutations.py makes, as the QR text (`#digits`) a phone would open."""
    texts: list[bytes | str] = []
    for index, payload in enumerate(PAYLOADS):
        texts.append(payload)
        texts += mutants(payload, random.Random(index))
    a, b = CONTENTS[1], CONTENTS[3]  # fields swapped between two certificates
    signature = decode(PAYLOADS[1]).signature
    texts += [
        encode(replace(a, **{f.name: getattr(b, f.name)}), signature)
        for f in fields(a)
        if getattr(a, f.name) != getattr(b, f.name)
    ]
    for original, kind in [(0, 2), (0, 3), (1, 4), (2, 1), (3, 2), (3, 5), (4, 2)]:  # presented as another kind
        texts.append(encode(replace(CONTENTS[original], kind=kind), decode(PAYLOADS[original]).signature))
    rng = random.Random(16)  # the property tests' shapes: arbitrary bytes, arbitrary digit strings, huge amounts
    texts += [rng.randbytes(rng.randrange(400)) for _ in range(300)]
    texts += ["".join(rng.choice("0123456789#") for _ in range(rng.randrange(700))) for _ in range(200)]
    for index in range(4):
        texts.append(
            encode(
                replace(CONTENTS[index], totalFen=rng.choice([2**64 - 1, 2**64, 2**69 + 5])),
                decode(PAYLOADS[index]).signature,
            )
        )
    for index, (payload, name) in enumerate(zip(ATT_PAYLOADS, ATT_IDS, strict=True)):  # every kind the list carries
        texts.append(payload)
        if not name.endswith("-sm2"):  # the SM2 ones' mutants: three of them below (an SM2 check costs the page ~3 ms)
            texts += mutants(payload, random.Random(100 + index))
    texts += [payload for payload, _ in attestation_edge_cases()]
    sm2_valid = sm2_corpus.valid_payloads()  # SM2-signed: of every kind, and the mutants of three of them
    texts += sm2_valid + [payload for payload, _ in sm2_corpus.cases()]
    for index in (0, 2, 6):  # a residence proof (a person), the kind of every field type, an enterprise's SI one
        texts += mutants(sm2_valid[index], random.Random(200 + index))
    return [t if isinstance(t, str) else "#" + to_digits(t) for t in texts]


# Started without waiting (the promise is kept on window), so that two pages, each its own renderer process, share
# the set and the Python side runs meanwhile: a signature recovery costs the page a few milliseconds.
START_ALL = """([texts, trust, today]) => {
  window.parity = import("/static/verify/page.js").then(async ({ verify }) => {
    const out = [];
    for (const text of texts) {
      try { out.push(await verify(text, trust, async () => "anchored", today)); }
      catch (e) { out.push({ status: "THREW " + e, checks: [] }); }
    }
    return out;
  });
}"""
WORKERS = 2


def test_the_page_gives_the_python_verdict_and_reasons_for_every_mutant(live: LiveServer, browser, console) -> None:
    texts = mutation_set()
    contexts = [phone_context(browser) for _ in range(WORKERS)]
    try:
        pages = [console.attach(c.new_page()) for c in contexts]
        share = -(-len(texts) // WORKERS)
        for n, page in enumerate(pages):
            page.goto(live.base + "/verify")
            page.wait_for_selector("#scan:not([hidden])")
            page.evaluate(START_ALL, [texts[n * share : (n + 1) * share], KEYS, TODAY.isoformat()])
        resolver = Anchored()
        python = [verify_text(text, resolver, TODAY) for text in texts]
        got = [v for page in pages for v in page.evaluate("() => window.parity")]
    finally:
        for c in contexts:
            c.close()
    assert not console.unexpected(), console.unexpected()
    statuses: dict[str, int] = {}
    mismatches = []
    for text, py, js in zip(texts, python, got, strict=True):
        statuses[py.status] = statuses.get(py.status, 0) + 1
        if summary_js(js) != summary_py(py) or (py.digest and js["digest"] != py.digest):
            mismatches.append((text[:60], summary_py(py), summary_js(js)))
    assert not mismatches, f"{len(mismatches)} of {len(texts)} differ, e.g. {mismatches[:3]}"
    assert len(texts) > 12000 and statuses["VALID"] >= 11 and statuses["INVALID"] > 0.95 * len(texts)
    assert {"UNTRUSTED_ISSUER", "EXPIRED"} <= set(statuses)
    codes = {c["code"] for v in got for c in v["checks"] if c["name"] == "format" and c["ok"] is False}
    # the set reaches every way a payload can be unreadable (the codes the page translates)
    assert codes >= PAGE_CODES, PAGE_CODES - codes
    kinds = {v["certificate"]["kind"] for v in got if v["status"] == "VALID"}
    assert kinds >= {1, 2, 3, 4, 5} | {k["schema"]["slug"] for k in BODY["kinds"]}
    # an SM2-signed attestation of every kind verifies on the page, and each way an SM2 signature fails is reached
    sm2_kinds = {
        v["certificate"]["kind"] for v in got if v["status"] == "VALID" and v["certificate"].get("suite") == "sm2"
    }
    assert sm2_kinds == {k["schema"]["slug"] for k in BODY["kinds"]}
    assert {c["code"] for v in got for c in v["checks"]} >= {"unknown-signer", "unusable", "migrated", "unauthorized"}


WATCH_ALL = """async ([head, fragments]) => {
  const out = [];
  for (const fragment of fragments) {
    const before = Number(document.body.dataset.verified || 0);
    location.hash = fragment;
    const deadline = Date.now() + 10000;
    while (Number(document.body.dataset.verified || 0) === before && Date.now() < deadline) {
      await new Promise((ok) => setTimeout(ok, 5));
    }
    const verdict = document.getElementById("verdict");
    out.push({ status: verdict.dataset.status, verdict: verdict.textContent,
               checks: [...document.querySelectorAll("#checks li")].map((li) => [li.dataset.check, li.dataset.code,
                                                                                  li.textContent]),
               text: document.body.innerText, width: document.scrollingElement.scrollWidth });
  }
  return out;
}"""


def test_every_altered_digit_of_a_real_certificate_is_explained_at_390_px(
    live: LiveServer, browser, console, request
) -> None:
    """What /work/shared/acceptance/pages.sh asks of the page, for every digit rather than every third: no page
    error, a failed check shown, no sideways scroll at 390 px; and the verdict the server's pipeline gives."""
    url = live.url(live.issue(CertKind.TAX_INDIVIDUAL, 0))
    head, fragment = url.split("#")
    altered = [fragment[:i] + str((int(d) + 1) % 10) + fragment[i + 1 :] for i, d in enumerate(fragment)]
    context = phone_context(browser, 390)
    page = console.attach(context.new_page())
    try:
        for position in (60, 120):  # the issue's two, each on a fresh load as a phone opens it
            page.goto("about:blank")
            page.goto(f"{head}#{altered[position]}")
            page.wait_for_selector("#verdict[data-status]")
            assert page.inner_text("#checks").count("✘") == 1 and page.inner_text("#verdict") == "无效"
            shot(page, request, f"digit-{position}")
        page.goto(url)
        page.wait_for_selector("#verdict[data-status=VALID]")
        seen = page.evaluate(WATCH_ALL, [head, altered])
    finally:
        context.close()
    assert not console.unexpected(), console.unexpected()
    resolver = LedgerResolver(live.ctx.sessions, live.ctx.ledger)
    for position, (text, got) in enumerate(zip(altered, seen, strict=True)):
        want = verify_text(text, resolver)
        assert got["status"] == want.status, position
        assert [(n, c) for n, c, _ in got["checks"]] == [(c.name, python_code(c)) for c in want.checks], position
        assert got["status"] != "VALID" and any(t.startswith("✘") for _, _, t in got["checks"]), position
        assert not any(ch.isascii() and ch.isalpha() and ch.islower() for _, _, t in got["checks"] for ch in t), (
            f"English on the Chinese page: {got['checks']}"
        )
        assert got["width"] <= 390, position
