"""The address and key id an SM2 public key is known by on chain (IssuerRegistry.registerSm2Key).

An SM2 key (GB/T 32918, curve sm2p256v1) is registered by its 64-byte public key X || Y and is then one more signing
key of the registry, under the last 20 bytes of keccak256(b"SM2" || X || Y) as its address. A QR payload names it by
the first 4 bytes of that address, its key id. Nobody holds a secp256k1 private key for such an address (that would
take a keccak256 preimage), so an SM2 key never sends a transaction: it only signs certificates off chain.

Standard library, eth_utils and pysha3 only: the offline verifier derives the same address as the contract
(`IssuerRegistry.sm2KeyAddress`) without a chain.
"""

from __future__ import annotations

from eth_utils import to_checksum_address
from sha3 import keccak_256

SM2_PUBLIC_KEY_LENGTH = 64
ADDRESS_PREFIX = b"SM2"  # what an SM2 key address hashes before the key (the page mirrors it)


def _address_bytes(public_key: bytes) -> bytes:
    if len(public_key) != SM2_PUBLIC_KEY_LENGTH:
        raise ValueError(f"an SM2 public key is X || Y, 64 bytes (got {len(public_key)})")
    return keccak_256(ADDRESS_PREFIX + public_key).digest()[-20:]


def sm2_key_address(public_key: bytes) -> str:
    """The checksummed address IssuerRegistry registers the SM2 public key X || Y (64 bytes) under."""
    return to_checksum_address(_address_bytes(public_key))


def sm2_key_id(public_key: bytes) -> bytes:
    """The 4-byte key id a QR payload carries for the SM2 public key X || Y: its address's first 4 bytes."""
    return _address_bytes(public_key)[:4]
