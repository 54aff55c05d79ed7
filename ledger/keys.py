"""Encrypted keystores (Web3 Secret Storage, scrypt) for the admin and department signing keys.

Keystores live in `DATA_DIR/keys/NAME.json`, one per key: the district administrators' and each department's
own. Passwords never come from the repo: per key from `ZEL_KEYSTORE_PASSWORD_<NAME>` or a file named by
`ZEL_KEYSTORE_PASSWORD_FILE_<NAME>`, else one shared `ZEL_KEYSTORE_PASSWORD(_FILE)` (development, tests), else
the data directory's development password file for that key (written only by the demo provisioning), or a
prompt. Those variables and the scrypt cost reach this module as a `KeyPolicy`, which the composition root
builds from its settings (`api.settings.Settings.key_policy`) and installs with `configure`.
"""

from __future__ import annotations

import builtins
import getpass
import json
import os
import re
import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_keyfile import create_keyfile_json, decode_keyfile_json
from eth_utils import to_checksum_address

from ledger import sm2
from ledger.errors import KeystoreError

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
SUITES = ("secp256k1", "sm2")
DEV_PASSWORD_PREFIX = "keystore-password-"
# scrypt work factor. 2**18 is the Web3 Secret Storage default (about 1 s, 256 MiB per unlock);
# ZEL_KDF_N lowers it for throwaway development data.
DEFAULT_KDF_N = 2**18
# A password variable's name (ZEL_KEYSTORE_PASSWORD_TAX, ...) to its value, None when unset.
PasswordLookup = Callable[[str], "str | None"]


def no_passwords(_name: str) -> str | None:
    """A lookup with no password set: development password files or a prompt only."""
    return None


@dataclass(frozen=True)
class KeyPolicy:
    """How keystores are made and unlocked: the scrypt cost of new ones and where their passwords are set."""

    kdf_n: int = DEFAULT_KDF_N
    passwords: PasswordLookup = no_passwords


_policy: KeyPolicy | None = None


def configure(policy: KeyPolicy) -> None:
    """Make `policy` the one of every keystore opened without its own (the composition root calls this)."""
    global _policy
    _policy = policy


def current_policy() -> KeyPolicy:
    """The policy `configure` installed (`api.context.configure_process` does, from `Settings`). Without one, a
    keystore gets the default: the full scrypt cost, and passwords from development files or a prompt only; this
    module reads no environment variable."""
    return _policy if _policy is not None else KeyPolicy()


@dataclass(frozen=True)
class KeyEntry:
    """A keystore on disk: its name, the address it holds (an SM2 key's: its IssuerRegistry id,
    `ledger.sm2_address`) and its suite."""

    name: str
    address: str
    path: Path
    suite: str = "secp256k1"


class Sm2Account:
    """A department's SM2 certificate-signing key (issue 20): what a keystore of suite sm2 unlocks. It signs
    certificates only; chain transactions stay with the department's secp256k1 key."""

    suite = "sm2"

    def __init__(self, key: sm2.PrivateKey) -> None:
        self.key = key
        self.public_key = key.public.raw
        self.address = key.public.address
        self.key_id = key.public.key_id

    def sign(self, message: bytes) -> bytes:
        """The SM2 signature (r || s) of `message` (`ledger.sm2.PrivateKey.sign`)."""
        return self.key.sign(message)


# What signs a department's certificates: its secp256k1 key (EIP-712), or its SM2 key.
Signer = LocalAccount | Sm2Account


class Keystore:
    """The keystores of one data directory."""

    def __init__(self, data_dir: Path, policy: KeyPolicy | None = None) -> None:
        self.data_dir = data_dir
        self.dir = data_dir / "keys"
        self._policy = policy

    @property
    def policy(self) -> KeyPolicy:
        """This keystore's policy, else the process's (`configure`)."""
        return self._policy or current_policy()

    def path(self, name: str) -> Path:
        if not _NAME.match(name):
            raise KeystoreError(f"key name {name!r} must be lower-case letters, digits, '.', '_' or '-'")
        return self.dir / f"{name}.json"

    def exists(self, name: str) -> bool:
        return self.path(name).exists()

    def new(self, name: str, password: str, private_key: bytes | None = None, suite: str = "secp256k1") -> KeyEntry:
        """Create keystore `name` for a fresh key (or `private_key`) of `suite`; refuses to overwrite.

        An SM2 key is kept in the same Web3 Secret Storage layout (scrypt, AES-128-CTR, keccak MAC over the
        ciphertext), with `suite` and `public_key` beside `address`, its IssuerRegistry id."""
        path = self.path(name)
        if path.exists():
            raise KeystoreError(f"keystore {name!r} already exists at {path}")
        if suite not in SUITES:
            raise KeystoreError(f"unknown key suite {suite!r}: choose {' or '.join(SUITES)}")
        if suite == "sm2":
            key = sm2.PrivateKey(private_key) if private_key else sm2.PrivateKey.generate()
            blob = create_keyfile_json(key.secret, password.encode(), kdf="scrypt", iterations=self.policy.kdf_n)
            address = key.public.address
            blob.update(address=address[2:].lower(), suite="sm2", public_key=key.public.raw.hex())
        else:
            account = Account.from_key(private_key) if private_key else Account.create()
            blob = Account.encrypt(account.key, password, kdf="scrypt", iterations=self.policy.kdf_n)
            address = account.address
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(blob, fh)
        os.replace(tmp, path)
        return KeyEntry(name, address, path, suite)

    def list(self) -> list[KeyEntry]:
        """Every keystore in the data directory, by name."""
        if not self.dir.exists():
            return []
        return [_entry(path) for path in sorted(self.dir.glob("*.json"))]

    def entry(self, name: str) -> KeyEntry:
        """Keystore `name`'s address and suite, read without its password."""
        path = self.path(name)
        if not path.exists():
            raise KeystoreError(f"no keystore named {name!r} in {self.dir} (create it with `zel keys new {name}`)")
        return _entry(path)

    def address(self, name: str) -> str:
        return self.entry(name).address

    def public_key(self, name: str) -> bytes:
        """SM2 keystore `name`'s public key X || Y (no password needed: what registering it on chain takes)."""
        entry = self.entry(name)
        if entry.suite != "sm2":
            raise KeystoreError(f"keystore {name!r} holds a secp256k1 key, not an SM2 one")
        try:
            return bytes.fromhex(json.loads(entry.path.read_text())["public_key"])
        except (OSError, ValueError, KeyError) as exc:
            raise KeystoreError(f"keystore {entry.path} is unreadable: {exc}") from exc

    def suite(self, name: str) -> str:
        """`secp256k1` or `sm2`."""
        return self.entry(name).suite

    def _secret(self, name: str, password: str | None) -> tuple[bytes, dict]:
        path = self.path(name)
        if not path.exists():
            raise KeystoreError(f"no keystore named {name!r} in {self.dir} (create it with `zel keys new {name}`)")
        pw = password if password is not None else self.password(name)
        try:
            blob = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise KeystoreError(f"keystore {path} is unreadable: {exc}") from exc
        try:
            return bytes(decode_keyfile_json(blob, pw.encode())), blob
        except ValueError as exc:
            raise KeystoreError(f"wrong password for keystore {name!r}") from exc

    def load(self, name: str, password: str | None = None) -> LocalAccount:
        """Decrypt secp256k1 keystore `name` with `password` (or the configured password source): a key that signs
        chain transactions and EIP-712 certificates. An SM2 keystore is `load_sm2`'s."""
        secret, blob = self._secret(name, password)
        if blob.get("suite", "secp256k1") != "secp256k1":
            raise KeystoreError(f"keystore {name!r} holds an SM2 key: it signs certificates, not chain transactions")
        account = Account.from_key(secret)
        if account.address.lower() != "0x" + str(blob.get("address", "")).lower().removeprefix("0x"):
            # the MAC covers the secret only: a keystore whose suite or address was edited is not trusted
            raise KeystoreError(f"keystore {name!r} is inconsistent: its address is not its secret's")
        return account

    def load_sm2(self, name: str, password: str | None = None) -> Sm2Account:
        """Decrypt SM2 keystore `name`; refuses one whose public key is not the one its secret gives."""
        secret, blob = self._secret(name, password)
        if blob.get("suite") != "sm2":
            raise KeystoreError(f"keystore {name!r} holds a secp256k1 key, not an SM2 one")
        try:
            account = Sm2Account(sm2.PrivateKey(secret))
        except sm2.Sm2Error as exc:
            raise KeystoreError(f"keystore {name!r}: {exc}") from exc
        if account.public_key.hex() != blob.get("public_key", "").lower() or account.address.lower() != "0x" + str(
            blob.get("address", "")
        ).lower().removeprefix("0x"):
            raise KeystoreError(f"keystore {name!r} is inconsistent: its public key is not its secret's")
        return account

    def signer(self, name: str, password: str | None = None) -> LocalAccount | Sm2Account:
        """Keystore `name`'s key, whichever its suite: what signs certificates."""
        return self.load_sm2(name, password) if self.suite(name) == "sm2" else self.load(name, password)

    # -- passwords -------------------------------------------------------------------------------

    def dev_password_path(self, name: str) -> Path:
        """Where a development data directory keeps keystore `name`'s generated password."""
        self.path(name)  # validates the name
        return self.data_dir / "secrets" / f"{DEV_PASSWORD_PREFIX}{name}"

    def dev_password_files(self) -> builtins.list[Path]:
        """Every development password file in the data directory (production refuses them)."""
        folder = self.data_dir / "secrets"
        return sorted(folder.glob(f"{DEV_PASSWORD_PREFIX}*")) if folder.exists() else []

    def password(self, name: str, prompt: bool = True, confirm: bool = False) -> str:
        """Keystore `name`'s password: `ZEL_KEYSTORE_PASSWORD_<NAME>` or `ZEL_KEYSTORE_PASSWORD_FILE_<NAME>`
        (each department its own), then `ZEL_KEYSTORE_PASSWORD` / `ZEL_KEYSTORE_PASSWORD_FILE` (one for all,
        for development and tests), then the data directory's development password file, then a prompt."""
        suffix = env_suffix(name)
        lookup = self.policy.passwords
        for var, is_file in (
            (f"ZEL_KEYSTORE_PASSWORD_{suffix}", False),
            (f"ZEL_KEYSTORE_PASSWORD_FILE_{suffix}", True),
            ("ZEL_KEYSTORE_PASSWORD", False),
            ("ZEL_KEYSTORE_PASSWORD_FILE", True),
        ):
            value = lookup(var)
            if not value:
                continue
            if not is_file:
                return value
            try:
                return Path(value).read_text().rstrip("\n")
            except OSError as exc:
                raise KeystoreError(f"cannot read {var} {value}: {exc}") from exc
        dev = self.dev_password_path(name)
        if dev.exists():
            return dev.read_text().rstrip("\n")
        if prompt and sys.stdin.isatty():
            pw = getpass.getpass(f"Keystore password for key {name!r}: ")
            if confirm and getpass.getpass("Repeat password: ") != pw:
                raise KeystoreError("passwords do not match")
            if not pw:
                raise KeystoreError("an empty keystore password is not allowed")
            return pw
        raise KeystoreError(
            f"no password for keystore {name!r}: set ZEL_KEYSTORE_PASSWORD_{suffix} or "
            f"ZEL_KEYSTORE_PASSWORD_FILE_{suffix}, or run interactively"
        )

    def has_password(self, name: str) -> bool:
        """Whether a password source for `name` is configured (without prompting)."""
        try:
            self.password(name, prompt=False)
        except KeystoreError:
            return False
        return True

    def ensure_dev_password(self, name: str) -> str:
        """Keystore `name`'s password, creating (once) a random development password file for it when no
        password is configured. Used only by the development provisioning of a data directory; production
        mode refuses data directories that hold such files."""
        if self.has_password(name):
            return self.password(name, prompt=False)
        path = self.dev_password_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(24))
        return path.read_text().rstrip("\n")


def _entry(path: Path) -> KeyEntry:
    try:
        blob = json.loads(path.read_text())
        address, suite = blob["address"], blob.get("suite", "secp256k1")
    except (OSError, ValueError, KeyError, AttributeError) as exc:
        raise KeystoreError(f"keystore {path} is unreadable: {exc}") from exc
    return KeyEntry(path.stem, to_checksum_address("0x" + address.removeprefix("0x")), path, suite)


def env_suffix(name: str) -> str:
    """The environment-variable suffix of a keystore name: `tax-2026` -> `TAX_2026`."""
    return re.sub(r"[^A-Z0-9]", "_", name.upper())
