"""The hand-written EIP-712 struct hash and the libsecp256k1 recovery agree with eth_account everywhere."""

from __future__ import annotations

from eth_account import Account
from hypothesis import given, settings
from hypothesis import strategies as st

from qr.signed import (
    Content,
    Domain,
    digest,
    digest_reference,
    recover_from_digest,
    recover_signer,
    sign,
    sign_reference,
)

KEY = Account.from_key(b"\x11" * 32)
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=24)
contents = st.builds(
    Content,
    kind=st.integers(0, 255),
    version=st.integers(0, 255),
    number=text,
    subject=text,
    subjectName=text,
    periodFrom=st.integers(0, 2**32 - 1),
    periodTo=st.integers(0, 2**32 - 1),
    totalFen=st.integers(0, 2**64 - 1),
    monthsPaid=st.integers(0, 2**16 - 1),
    monthsInArrears=st.integers(0, 2**16 - 1),
    detailHash=st.binary(min_size=32, max_size=32).map(lambda b: "0x" + b.hex()),
    issuedAt=st.integers(0, 2**32 - 1),
    expiresOn=st.integers(0, 2**32 - 1),
    department=text,
)
domains = st.builds(
    Domain,
    chain_id=st.integers(1, 2**63),
    verifying_contract=st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex()),
)


@settings(max_examples=300, deadline=None)
@given(contents, domains)
def test_the_digest_is_eth_accounts(content: Content, domain: Domain) -> None:
    assert digest(content, domain) == digest_reference(content, domain)


@settings(max_examples=300, deadline=None)
@given(contents, domains, st.binary(min_size=32, max_size=32))
def test_libsecp256k1_signs_the_bytes_eth_account_signs(content: Content, domain: Domain, secret: bytes) -> None:
    try:
        key = Account.from_key(secret)
    except ValueError:  # zero or at least the group order: no key
        return
    digest_bytes, signature = sign(content, domain, key)
    assert digest_bytes == digest_reference(content, domain)
    assert signature == sign_reference(content, domain, key)  # RFC 6979 and low s on both sides: the same bytes


@settings(max_examples=60, deadline=None)
@given(contents)
def test_recovery_finds_the_signer(content: Content) -> None:
    domain = Domain(1337, KEY.address)
    _, signature = sign(content, domain, KEY)
    assert recover_signer(content, domain, signature) == KEY.address
    assert Account._recover_hash(digest(content, domain), signature=signature) == KEY.address


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=32, max_size=32), st.binary(min_size=64, max_size=64), st.sampled_from([27, 28]))
def test_arbitrary_signatures_recover_like_eth_account_or_fail_cleanly(digest_bytes: bytes, rs: bytes, v: int) -> None:
    from eth_keys import KeyAPI

    signature = rs + bytes([v])
    try:
        reference = (
            KeyAPI()
            .Signature(vrs=(v - 27, int.from_bytes(rs[:32], "big"), int.from_bytes(rs[32:], "big")))
            .recover_public_key_from_msg_hash(digest_bytes)
            .to_checksum_address()
        )
    except Exception:
        reference = None
    try:
        ours = recover_from_digest(digest_bytes, signature)
    except ValueError:
        ours = None
    assert ours == reference


def test_values_outside_their_types_are_refused() -> None:
    import pytest

    base = Content(
        kind=1,
        version=1,
        number="1",
        subject="s",
        subjectName="n",
        periodFrom=0,
        periodTo=0,
        totalFen=0,
        monthsPaid=0,
        monthsInArrears=0,
        detailHash="0x" + "00" * 32,
        issuedAt=0,
        expiresOn=0,
        department="d",
    )
    from dataclasses import replace

    for bad in (
        replace(base, kind=256),
        replace(base, totalFen=2**64),
        replace(base, monthsPaid=-1),
        replace(base, detailHash="0x00"),
    ):
        with pytest.raises(ValueError):
            digest(bad, Domain(1, KEY.address))
