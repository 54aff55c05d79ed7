"""SM2 and SM3 (ledger.sm2) against the standards' published examples and two other implementations, and SM2
keystores (ledger.keys)."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import threading
from pathlib import Path

import gmssl_pyx
import pytest

from ledger import sm2
from ledger.errors import KeystoreError
from ledger.keys import KeyPolicy, Keystore
from ledger.sm2_address import sm2_key_address, sm2_key_id

# GB/T 32918.5-2017 (GM/T 0003.5) Annex A: a signature on the recommended curve with the default user id.
ANNEX_A_D = bytes.fromhex("3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8")
ANNEX_A_PUBLIC = bytes.fromhex(
    "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
    "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"
)
ANNEX_A_Z = bytes.fromhex("B2E14C5C79C6DF5B85F4FE7ED8DB7A262B9DA7E07CCB0EA9F4747B8CCDA8A4F3")
ANNEX_A_E = bytes.fromhex("F0B43E94BA45ACCAACE692ED534382EB17E6AB5A19CE7B31F4486FDFC0D28640")
ANNEX_A_SIGNATURE = bytes.fromhex(
    "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3"
    "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA"
)
MESSAGE = "海量证明，一码核验：社保缴费证明 No. 30202612050000001".encode()


def test_sm3_gives_the_examples_of_gb_t_32905() -> None:
    assert sm2.sm3(b"abc").hex() == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert sm2.sm3(b"abcd" * 16).hex() == "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"


def test_the_annex_a_signature_verifies_and_its_intermediate_values_match() -> None:
    assert sm2.PrivateKey(ANNEX_A_D).public.raw == ANNEX_A_PUBLIC  # d·G as the standard gives it
    key = sm2.public_key(ANNEX_A_PUBLIC)
    assert key.z == ANNEX_A_Z
    assert key.digest(b"message digest") == ANNEX_A_E
    assert key.verify(b"message digest", ANNEX_A_SIGNATURE)
    assert not key.verify(b"message digesT", ANNEX_A_SIGNATURE)
    flipped = bytearray(ANNEX_A_SIGNATURE)
    flipped[40] ^= 1
    assert not key.verify(b"message digest", bytes(flipped))


def test_out_of_range_and_malformed_signatures_and_keys_are_refused() -> None:
    key = sm2.public_key(ANNEX_A_PUBLIC)
    r, s = ANNEX_A_SIGNATURE[:32], ANNEX_A_SIGNATURE[32:]
    n = sm2.N.to_bytes(32, "big")
    for bad in (bytes(32) + s, r + bytes(32), n + s, r + n, ANNEX_A_SIGNATURE[:63], ANNEX_A_SIGNATURE + b"\0", b""):
        assert not key.verify(b"message digest", bad)
    off_curve = ANNEX_A_PUBLIC[:63] + bytes([ANNEX_A_PUBLIC[63] ^ 1])
    for bad_key in (off_curve, ANNEX_A_PUBLIC[:63], bytes(64), sm2.P.to_bytes(32, "big") + ANNEX_A_PUBLIC[32:]):
        with pytest.raises(sm2.Sm2Error):
            sm2.public_key(bad_key)
    for bad_secret in (bytes(32), (sm2.N - 1).to_bytes(32, "big"), b"\1" * 31):
        with pytest.raises(sm2.Sm2Error):
            sm2.PrivateKey(bad_secret)


def test_our_signatures_verify_under_gmssl_and_gmssls_under_ours() -> None:
    """GmSSL (through gmssl-pyx) is an implementation of its own, not OpenSSL's."""
    for _ in range(20):
        ours = sm2.PrivateKey.generate()
        signature = ours.sign(MESSAGE)
        assert gmssl_pyx.sm2_verify(ours.public.raw, MESSAGE, sm2.der_signature(signature), signer_id=sm2.DEFAULT_ID)
        public, private = gmssl_pyx.sm2_key_generate()
        theirs = gmssl_pyx.sm2_sign(private, public, MESSAGE, signer_id=sm2.DEFAULT_ID)
        assert sm2.public_key(public).verify(MESSAGE, sm2.raw_signature(theirs))
        assert not sm2.public_key(public).verify(MESSAGE + b".", sm2.raw_signature(theirs))
        assert sm2.PrivateKey(private).public.raw == public


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl command on this machine")
def test_our_signatures_verify_under_the_openssl_command_line(tmp_path: Path) -> None:
    key = sm2.PrivateKey.generate()
    (tmp_path / "m").write_bytes(MESSAGE)
    (tmp_path / "sig").write_bytes(sm2.der_signature(key.sign(MESSAGE)))
    spki = base64.encodebytes(sm2._SPKI_PREFIX + key.public.raw).decode()
    (tmp_path / "pub.pem").write_text(f"-----BEGIN PUBLIC KEY-----\n{spki}-----END PUBLIC KEY-----\n")

    def openssl_verify(message: str) -> subprocess.CompletedProcess[str]:
        args = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-in", message]
        args += ["-sigfile", "sig", "-digest", "sm3", "-pkeyopt", "distid:1234567812345678"]
        return subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, check=False)

    assert openssl_verify("m").returncode == 0
    (tmp_path / "m2").write_bytes(MESSAGE + b"!")
    assert openssl_verify("m2").returncode != 0


def test_verification_from_many_threads_at_once_is_right() -> None:
    keys = [sm2.PrivateKey.generate() for _ in range(3)]
    cases = [(k.public, MESSAGE + bytes([i]), k.sign(MESSAGE + bytes([i]))) for i, k in enumerate(keys * 4)]
    wrong: list[int] = []

    def run() -> None:
        for _ in range(30):
            for i, (public, message, signature) in enumerate(cases):
                if not public.verify(message, signature) or public.verify(message + b"x", signature):
                    wrong.append(i)

    threads = [threading.Thread(target=run) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []


def test_an_sm2_keystore_is_encrypted_listed_and_kept_apart_from_transaction_keys(tmp_path: Path) -> None:
    store = Keystore(tmp_path, KeyPolicy(kdf_n=2**4))
    entry = store.new("si-sm2", "pw-1", suite="sm2")
    store.new("si", "pw-2")
    assert {(e.name, e.suite) for e in store.list()} == {("si-sm2", "sm2"), ("si", "secp256k1")}
    blob = json.loads(entry.path.read_text())
    account = store.load_sm2("si-sm2", "pw-1")
    assert account.key.secret.hex() not in entry.path.read_text()  # encrypted (scrypt, AES-128-CTR)
    assert blob["crypto"]["kdf"] == "scrypt" and blob["suite"] == "sm2"
    assert entry.address == account.address == sm2_key_address(account.public_key)
    assert account.key_id == sm2_key_id(account.public_key)
    assert store.public_key("si-sm2") == account.public_key
    assert sm2.public_key(account.public_key).verify(MESSAGE, account.sign(MESSAGE))
    with pytest.raises(KeystoreError, match="wrong password"):
        store.load_sm2("si-sm2", "pw-2")
    with pytest.raises(KeystoreError, match="signs certificates, not chain transactions"):
        store.load("si-sm2", "pw-1")
    with pytest.raises(KeystoreError, match="not an SM2 one"):
        store.load_sm2("si", "pw-2")
    with pytest.raises(KeystoreError, match="unknown key suite"):
        store.new("x", "pw", suite="rsa")
    # the MAC covers the secret only: a keystore whose suite, public key or address was edited is refused
    for edit in ({"suite": "secp256k1"}, {"public_key": sm2.PrivateKey.generate().public.raw.hex()}):
        entry.path.write_text(json.dumps({**blob, **edit}))
        with pytest.raises(KeystoreError, match="inconsistent"):
            store.signer("si-sm2", "pw-1")  # loaded as SM2, or as a secp256k1 key, its address is not its secret's
    entry.path.write_text("{not json")
    with pytest.raises(KeystoreError, match="unreadable"):
        store.load_sm2("si-sm2", "pw-1")
