"""Issue 15: the QR subject of a citizen's certificate shows the ID number's first 4 digits only.

The earlier mask (`4406**********123X`) showed the sequence and the check character, narrowing a Chancheng
holder to a few thousand candidates. New certificates carry `4406**************` (subject tag 2); the earlier
ones still decode to exactly what was signed (tag 0).
"""

from __future__ import annotations

import pytest
from eth_account import Account

from identifiers import id_check_char
from qr.payload import MASKED_PREFIX, PayloadError, decode, encode, mask_id_number
from qr.signed import recover_signer, sign
from tests.qr.test_payload import DOMAIN, content

KEY = Account.create()
ID = "44060419850312201" + id_check_char("44060419850312201")


def test_the_mask_keeps_only_the_first_four_digits() -> None:
    masked = mask_id_number(ID)
    assert masked == "4406" + "*" * 14 and len(masked) == 18
    assert MASKED_PREFIX.match(masked)
    assert not any(part in masked for part in (ID[4:], ID[-4:], ID[-1]))


@pytest.mark.parametrize("kind", [1, 3])
def test_a_prefix_only_subject_round_trips_in_four_fewer_bytes(kind: int) -> None:
    new, old = content(kind, mask_id_number(ID)), content(kind, ID[:4] + "*" * 10 + ID[-4:])
    new_payload, old_payload = (encode(c, sign(c, DOMAIN, KEY)[1]) for c in (new, old))
    assert len(new_payload) == len(old_payload) - 4
    assert new_payload[10] == 2 and old_payload[10] == 0  # the subject tag, after version, kind and number
    for c, payload in ((new, new_payload), (old, old_payload)):
        signed = decode(payload)
        assert signed.content == c  # earlier certificates still rebuild exactly what was signed
        assert recover_signer(signed.content, DOMAIN, signed.signature) == KEY.address
    assert ID[-4:].encode() not in new_payload


def test_malformed_prefix_subjects_are_refused() -> None:
    c = content(1, "4406" + "*" * 13)
    with pytest.raises(PayloadError, match="neither a masked ID number nor a USCC"):
        encode(c, sign(c, DOMAIN, KEY)[1])
    masked = content(1, mask_id_number(ID))
    good = encode(masked, sign(masked, DOMAIN, KEY)[1])
    with pytest.raises(PayloadError):
        decode(good[:11] + good[12:])  # the prefix cut short
