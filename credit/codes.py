"""Check characters of citizen ID numbers (GB 11643-1999) and USCCs (GB 32100-2015).

The full validator with positions and normalisation comes with the credit issue; the platform needs the
check characters to refuse impossible identifiers and for demo data.
"""

from __future__ import annotations

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def id_check_char(first17: str) -> str:
    """The GB 11643 check character of the first 17 digits."""
    return ID_CHECK[sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS)) % 11]


def is_valid_id_number(value: str) -> bool:
    return len(value) == 18 and value[:17].isdigit() and id_check_char(value[:17]) == value[17]


def uscc_check_char(first17: str) -> str:
    """The GB 32100 check character of the first 17 characters."""
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def is_valid_uscc(value: str) -> bool:
    return (len(value) == 18 and all(c in USCC_ALPHABET for c in value)
            and uscc_check_char(value[:17]) == value[17])


def mask_id_number(value: str) -> str:
    """`4406**********123X`: region prefix and last four characters only."""
    return value[:4] + "*" * (len(value) - 8) + value[-4:]
