"""SM2 and SM3 in the verify page's JavaScript (sm-crypto-v2, through web/verify/core.js) against the standards'
examples and against the Python side (ledger.sm2, over OpenSSL): a signature made by either verifies under the other,
and the two agree on which keys are points of the curve and on an SM2 key's address (ledger.sm2_address)."""

from __future__ import annotations

import json
import random
import subprocess
from typing import Any

from ledger import sm2
from ledger.sm2_address import sm2_key_address
from tests.conftest import ROOT

# GB/T 32918.5-2017 Annex A: the signature of "message digest" on sm2p256v1 with the default user id.
ANNEX_A_PUBLIC = (
    "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
    "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"
)
ANNEX_A_SIGNATURE = (
    "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3"
    "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA"
)
RUNNER = """
import { sm2, sm3 } from "sm-crypto-v2";
import { sm2KeyAddress, sm2OnCurve, sm2Verify } from "%s/web/verify/core.js";
const bytes = (h) => Uint8Array.from(h.match(/../g) || [], (x) => parseInt(x, 16));
const input = JSON.parse(await new Promise((ok) => { let s = ""; process.stdin.on("data", (d) => s += d);
                                                     process.stdin.on("end", () => ok(s)); }));
console.log(JSON.stringify({
  annex: sm2.doVerifySignature(new TextEncoder().encode("message digest"), input.annex[1], "04" + input.annex[0],
                               { hash: true }),
  sm3: input.sm3.map((h) => sm3(bytes(h))),
  verify: input.verify.map(([pub, msg, sig]) => sm2Verify(bytes(pub), bytes(msg), bytes(sig))),
  onCurve: input.onCurve.map((pub) => sm2OnCurve(bytes(pub))),
  address: input.address.map((pub) => sm2KeyAddress(bytes(pub))),
  sign: input.sign.map(([secret, msg]) => sm2.doSignature(bytes(msg), secret, { hash: true })),
}));
"""


def node(cases: dict[str, Any]) -> dict[str, Any]:
    run = subprocess.run(
        ["node", "--input-type=module", "-e", RUNNER % ROOT.as_posix()],
        cwd=ROOT,
        capture_output=True,
        text=True,
        input=json.dumps(cases),
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def on_curve_cases(rng: random.Random) -> list[bytes]:
    """Public keys on the curve and off it: a flipped bit, all zeros, x + p for a point with a small x (a number past
    the field that reads as the same point mod p), and lengths other than 64."""
    key = sm2.PrivateKey.generate().public.raw
    x = next(x for x in range(1, 100) if pow((x**3 + sm2.A * x + sm2.B) % sm2.P, (sm2.P - 1) // 2, sm2.P) == 1)
    y = pow((x**3 + sm2.A * x + sm2.B) % sm2.P, (sm2.P + 1) // 4, sm2.P)
    small = x.to_bytes(32, "big") + y.to_bytes(32, "big")
    return [
        key,
        key[:63] + bytes([key[63] ^ 1]),
        bytes(64),
        small,
        (x + sm2.P).to_bytes(32, "big") + y.to_bytes(32, "big"),
        small[:32] + (sm2.P - y).to_bytes(32, "big"),  # the other point with that x
        sm2.P.to_bytes(32, "big") + key[32:],
        key[:63],
        key + b"\0",
        rng.randbytes(64),
    ]


def test_sm_crypto_v2_gives_the_standards_examples_and_agrees_with_openssl_both_ways() -> None:
    rng = random.Random(20)
    keys = [sm2.PrivateKey.generate() for _ in range(6)]
    messages = [rng.randbytes(rng.randrange(300)) for _ in keys]
    verify: list[tuple[bytes, bytes, bytes, bool]] = []
    for key, message in zip(keys, messages, strict=True):
        signature = key.sign(message)
        verify.append((key.public.raw, message, signature, True))
        flipped = bytearray(signature)
        flipped[rng.randrange(64)] ^= 1 << rng.randrange(8)
        verify.append((key.public.raw, message, bytes(flipped), False))
        verify.append((key.public.raw, message + b".", signature, False))
        verify.append((keys[0].public.raw if key is not keys[0] else keys[1].public.raw, message, signature, False))
        n, r, s = sm2.N.to_bytes(32, "big"), signature[:32], signature[32:]
        for bad in (bytes(32) + s, r + bytes(32), n + s, r + n, r + (sm2.N + 1).to_bytes(32, "big"), b"\xff" * 64):
            verify.append((key.public.raw, message, bad, False))
    curve = on_curve_cases(rng)
    got = node(
        {
            "annex": [ANNEX_A_PUBLIC, ANNEX_A_SIGNATURE],
            "sm3": [b"abc".hex(), (b"abcd" * 16).hex()],
            "verify": [[p.hex(), m.hex(), s.hex()] for p, m, s, _ in verify],
            "onCurve": [p.hex() for p in curve],
            "address": [k.public.raw.hex() for k in keys],
            "sign": [[k.secret.hex(), m.hex()] for k, m in zip(keys, messages, strict=True)],
        }
    )
    assert got["annex"] is True
    assert got["sm3"] == [
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0",  # GB/T 32905 Annex A
        "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732",
    ]
    # a signature made by ledger.sm2 (OpenSSL) verifies in the page; an altered one, or one of another key, does not
    assert got["verify"] == [want for *_, want in verify]
    assert all(sm2.public_key(p).verify(m, s) is want for p, m, s, want in verify)
    # the page and ledger.sm2 take the same public keys as points of sm2p256v1
    assert got["onCurve"] == [sm2.on_curve(p) for p in curve] == [True, False, False, True, False, True] + [False] * 4
    assert got["address"] == [sm2_key_address(k.public.raw).lower() for k in keys]
    # a signature made by sm-crypto-v2 verifies under ledger.sm2, and only for its message
    for key, message, signature in zip(keys, messages, got["sign"], strict=True):
        raw = bytes.fromhex(signature)
        assert len(raw) == 64 and sm2.public_key(key.public.raw).verify(message, raw)
        assert not sm2.public_key(key.public.raw).verify(message + b"!", raw)
