"""SM2 signatures (GB/T 32918) over SM3 digests (GB/T 32905), through the system's OpenSSL 3 libcrypto.

The second signature suite of certificates (issue 20): a department key is secp256k1 over the EIP-712 digest, or
SM2 over SM3. This module is the SM2 side. The digest signed is the standard's `e = SM3(Z_A || M)`, where
`Z_A = SM3(ENTL || ID || a || b || x_G || y_G || x_A || y_A)` binds the signer's public key and user id (the
standard's default `1234567812345678`, which GM/T 0009 and RFC 8998 name); `Z_A` is computed once per key.

Why OpenSSL: it is the library Python's own `ssl` and `hashlib` already load (SM3 is `hashlib.new("sm3")`), it is
maintained with security releases, and it verifies ~2,500 SM2 signatures a second in one process here (its generic
curve arithmetic, ~0.4 ms), where the maintained Python bindings of other implementations managed 1,000–2,600
(GmSSL's gmssl-pyx, Tongsuo's tongsuopy; the pure-Python `gmssl` ~100). The binding is the few calls below over
ctypes: a key goes in as DER (SubjectPublicKeyInfo, or SEC1 for a private key), `EVP_PKEY_sign` / `EVP_PKEY_verify`
take `e`, signatures travel as r || s (64 bytes). Tests hold it to the standard's vectors and to GmSSL, an
independent implementation (tests/ledger/test_sm2.py).
"""

from __future__ import annotations

import ctypes
import hashlib
import secrets
import threading
from dataclasses import dataclass
from functools import lru_cache

from ledger.sm2_address import sm2_key_address, sm2_key_id

# The curve sm2p256v1 (GB/T 32918.5).
P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
A = P - 3
B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
GX = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
GY = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0
DEFAULT_ID = b"1234567812345678"
SIGNATURE_BYTES = 64

_SM2_OID = bytes.fromhex("06082a811ccf5501822d")
_SPKI_PREFIX = bytes.fromhex("3059301306072a8648ce3d0201") + _SM2_OID + bytes.fromhex("034200") + b"\x04"
_SEC1_PREFIX = bytes.fromhex("3031020101" + "0420")
_SEC1_SUFFIX = bytes.fromhex("a00a") + _SM2_OID
_EVP_PKEY_EC = 408


class Sm2Error(ValueError):
    """A key or signature that is not SM2, or libcrypto without SM2."""


def sm3(data: bytes) -> bytes:
    """SM3 of `data` (GB/T 32905), OpenSSL's through hashlib."""
    return hashlib.new("sm3", data).digest()


def on_curve(public_key: bytes) -> bool:
    """Whether `public_key` (X || Y, 64 bytes) is a point of sm2p256v1."""
    if len(public_key) != 64:
        return False
    x, y = int.from_bytes(public_key[:32], "big"), int.from_bytes(public_key[32:], "big")
    return x < P and y < P and (y * y - (x * x * x + A * x + B)) % P == 0


def z_value(public_key: bytes, user_id: bytes = DEFAULT_ID) -> bytes:
    """Z_A of GB/T 32918.2 §5.5: SM3(ENTL || ID || a || b || x_G || y_G || x_A || y_A)."""
    if len(user_id) >= 8192:
        raise Sm2Error("an SM2 user id is at most 8191 bytes")
    words = b"".join(v.to_bytes(32, "big") for v in (A, B, GX, GY))
    return sm3((len(user_id) * 8).to_bytes(2, "big") + user_id + words + public_key)


_lib: ctypes.CDLL | None = None


def _crypto() -> ctypes.CDLL:
    """OpenSSL 3's libcrypto, loaded at the first SM2 operation (a verifier of secp256k1 certificates never needs
    it); `Sm2Error` when the machine has none."""
    global _lib
    if _lib is None:
        try:
            _lib = _load(ctypes.CDLL("libcrypto.so.3"))
        except (OSError, AttributeError) as exc:
            raise Sm2Error(f"SM2 needs OpenSSL 3's libcrypto (libcrypto.so.3): {exc}") from exc
    return _lib


def _load(lib: ctypes.CDLL) -> ctypes.CDLL:
    vp, sz = ctypes.c_void_p, ctypes.c_size_t
    for fn, args, res in (
        ("d2i_PUBKEY", [vp, ctypes.POINTER(ctypes.c_char_p), ctypes.c_long], vp),
        ("d2i_PrivateKey", [ctypes.c_int, vp, ctypes.POINTER(ctypes.c_char_p), ctypes.c_long], vp),
        ("i2d_PUBKEY", [vp, ctypes.POINTER(ctypes.c_char_p)], ctypes.c_int),
        ("EVP_PKEY_free", [vp], None),
        ("EVP_PKEY_is_a", [vp, ctypes.c_char_p], ctypes.c_int),
        ("EVP_PKEY_CTX_new", [vp, vp], vp),
        ("EVP_PKEY_CTX_free", [vp], None),
        ("EVP_PKEY_sign_init", [vp], ctypes.c_int),
        ("EVP_PKEY_sign", [vp, ctypes.c_char_p, ctypes.POINTER(sz), ctypes.c_char_p, sz], ctypes.c_int),
        ("EVP_PKEY_verify_init", [vp], ctypes.c_int),
        ("EVP_PKEY_verify", [vp, ctypes.c_char_p, sz, ctypes.c_char_p, sz], ctypes.c_int),
        ("ERR_clear_error", [], None),
        ("CRYPTO_free", [vp, ctypes.c_char_p, ctypes.c_int], None),
    ):
        f = getattr(lib, fn)
        f.argtypes, f.restype = args, res
    return lib


class _Context:
    """An EVP_PKEY_CTX, freed with its holder (it holds a reference to its key)."""

    def __init__(self, handle: int) -> None:
        self.handle = handle

    def __del__(self) -> None:
        if _lib is not None:
            _lib.EVP_PKEY_CTX_free(self.handle)


def _der_int(value: int) -> bytes:
    raw = value.to_bytes((value.bit_length() + 8) // 8, "big")  # a leading zero when the top bit is set
    return b"\x02" + bytes([len(raw)]) + raw


def der_signature(signature: bytes) -> bytes:
    """r || s as the DER SEQUENCE OpenSSL takes."""
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    body = _der_int(r) + _der_int(s)
    return b"\x30" + bytes([len(body)]) + body


def raw_signature(der: bytes) -> bytes:
    """A DER SEQUENCE of r and s (OpenSSL's output) as r || s."""
    if len(der) < 8 or der[0] != 0x30 or der[1] != len(der) - 2 or der[2] != 0x02:
        raise Sm2Error("not a DER SM2 signature")
    lr = der[3]
    r = int.from_bytes(der[4 : 4 + lr], "big")
    at = 4 + lr
    if der[at] != 0x02 or at + 2 + der[at + 1] != len(der):
        raise Sm2Error("not a DER SM2 signature")
    s = int.from_bytes(der[at + 2 :], "big")
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


class _Pkey:
    """An EVP_PKEY and each thread's signing or verifying context over it (a context is not shared between
    threads; making one per call would cost a third of a verification)."""

    def __init__(self, handle: int) -> None:
        self.handle = handle
        self._local = threading.local()

    def __del__(self) -> None:
        if _lib is not None:  # not at interpreter exit, when module globals are gone
            _lib.EVP_PKEY_free(self.handle)

    def ctx(self, signing: bool) -> int:
        name = "sign" if signing else "verify"
        found: _Context | None = getattr(self._local, name, None)
        if found is None:
            handle = _crypto().EVP_PKEY_CTX_new(self.handle, None)
            if not handle:
                _crypto().ERR_clear_error()
                raise Sm2Error("libcrypto cannot make an SM2 context")
            found = _Context(handle)
            init = _crypto().EVP_PKEY_sign_init if signing else _crypto().EVP_PKEY_verify_init
            if init(handle) != 1:
                _crypto().ERR_clear_error()
                raise Sm2Error("libcrypto cannot sign or verify with SM2")
            setattr(self._local, name, found)
        return found.handle


def _decode(der: bytes, private: bool) -> _Pkey:
    buf = ctypes.c_char_p(der)
    if private:
        handle = _crypto().d2i_PrivateKey(_EVP_PKEY_EC, None, ctypes.byref(buf), len(der))
    else:
        handle = _crypto().d2i_PUBKEY(None, ctypes.byref(buf), len(der))
    if not handle:
        _crypto().ERR_clear_error()
        raise Sm2Error("not an SM2 key")
    pkey = _Pkey(handle)
    if _crypto().EVP_PKEY_is_a(handle, b"SM2") != 1:
        raise Sm2Error("libcrypto does not take this key as SM2 (an OpenSSL 3 built without SM2?)")
    return pkey


@lru_cache(maxsize=256)
def public_key(raw: bytes) -> PublicKey:
    """The SM2 public key X || Y (64 bytes), checked to be on the curve; cached, as verifiers meet few keys."""
    if not on_curve(raw):
        raise Sm2Error("an SM2 public key is 64 bytes X || Y of a point on sm2p256v1")
    return PublicKey(raw, _decode(_SPKI_PREFIX + raw, private=False), z_value(raw))


@dataclass(frozen=True, eq=False)
class PublicKey:
    """An SM2 public key: its bytes, its OpenSSL handle and Z_A (default user id)."""

    raw: bytes
    _pkey: _Pkey
    z: bytes

    @property
    def address(self) -> str:
        """Its id in IssuerRegistry (`ledger.sm2_address.sm2_key_address`)."""
        return sm2_key_address(self.raw)

    @property
    def key_id(self) -> bytes:
        """The 4 bytes a QR payload names it by."""
        return sm2_key_id(self.raw)

    def digest(self, message: bytes) -> bytes:
        """e = SM3(Z_A || M)."""
        return sm3(self.z + message)

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Whether `signature` (r || s) is this key's SM2 signature of `message`, with the default user id."""
        if len(signature) != SIGNATURE_BYTES:
            return False
        r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        if not (0 < r < N and 0 < s < N):
            return False
        der = der_signature(signature)
        e = self.digest(message)
        ok = _crypto().EVP_PKEY_verify(self._pkey.ctx(False), der, len(der), e, len(e))
        if ok != 1:
            _crypto().ERR_clear_error()
        return ok == 1


class PrivateKey:
    """An SM2 private key d in [1, n - 2]; signs with OpenSSL (a fresh random k each signature)."""

    def __init__(self, secret: bytes) -> None:
        d = int.from_bytes(secret, "big")
        if len(secret) != 32 or not 0 < d < N - 1:
            raise Sm2Error("an SM2 private key is 32 bytes, a number from 1 to n - 2")
        self.secret = secret
        self._pkey = _decode(_SEC1_PREFIX + secret + _SEC1_SUFFIX, private=True)
        out = ctypes.c_char_p()
        size = _crypto().i2d_PUBKEY(self._pkey.handle, ctypes.byref(out))
        try:
            if size != len(_SPKI_PREFIX) + 64:
                _crypto().ERR_clear_error()
                raise Sm2Error("libcrypto gave no public key for this SM2 private key")
            spki = ctypes.string_at(out, size)
        finally:
            if out:
                _crypto().CRYPTO_free(out, None, 0)
        self.public = public_key(spki[-64:])

    @classmethod
    def generate(cls) -> PrivateKey:
        """A new random key."""
        return cls((secrets.randbelow(N - 2) + 1).to_bytes(32, "big"))

    def sign(self, message: bytes) -> bytes:
        """The SM2 signature (r || s) of `message`: of e = SM3(Z_A || message), default user id."""
        e = self.public.digest(message)
        size = ctypes.c_size_t(80)
        out = ctypes.create_string_buffer(80)
        ok = _crypto().EVP_PKEY_sign(self._pkey.ctx(True), out, ctypes.byref(size), e, len(e))
        if ok != 1:
            _crypto().ERR_clear_error()
            raise Sm2Error("libcrypto could not make an SM2 signature")
        return raw_signature(out.raw[: size.value])
