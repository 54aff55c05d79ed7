"""Personal data at rest: AES-256-GCM ciphertexts under a versioned key ring, and a keyed-hash index.

A ciphertext is `key_id || 0x00 || nonce(12) || AES-GCM(ciphertext+tag)`, so rows encrypted under an
older key stay readable while `rotate()` re-encrypts them in small batches with the current key: no
downtime. Lookups go through `index(value)`, an HMAC-SHA256 under a separate index key that does not
rotate, so a copy of the database alone reveals no ID number (citizen ID numbers have too few plausible
values for a plain hash to hide them).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from errors import ConfigurationError


class PiiError(ConfigurationError):
    """Personal data cannot be encrypted or decrypted (missing or wrong key)."""


@dataclass(frozen=True)
class PiiKeys:
    """The key ring: `current` encrypts; every key in `keys` decrypts; `index_key` keys lookups."""

    current: str
    keys: dict[str, bytes]
    index_key: bytes

    @classmethod
    def parse(cls, ring: str, index_key: str) -> PiiKeys:
        """`ring` is `id:base64key[,id:base64key...]`, current key first; `index_key` is base64."""
        keys: dict[str, bytes] = {}
        order = []
        for part in ring.split(","):
            part = part.strip()
            if not part:
                continue
            key_id, _, b64 = part.partition(":")
            try:
                raw = base64.b64decode(b64, validate=True)
            except ValueError as exc:
                raise PiiError(f"PII key {key_id!r} is not base64") from exc
            if len(raw) != 32 or not key_id.isalnum():
                raise PiiError(f"PII key {key_id!r} must be an alphanumeric id and 32 bytes")
            keys[key_id] = raw
            order.append(key_id)
        if not order:
            raise PiiError("no PII key configured")
        index = base64.b64decode(index_key)
        if len(index) < 32:
            raise PiiError("the PII index key must be at least 32 bytes")
        return cls(order[0], keys, index)

    @classmethod
    def load_file(cls, path: Path) -> PiiKeys:
        lines = dict(
            line.split("=", 1) for line in path.read_text().splitlines() if "=" in line and not line.startswith("#")
        )
        try:
            return cls.parse(lines["keys"], lines["index"])
        except KeyError as exc:
            raise PiiError(f"PII key file {path} lacks `keys=` or `index=`") from exc

    @staticmethod
    def generate_file(path: Path) -> None:
        """Write a new key file (mode 0600) with one AES key and one index key."""
        path.parent.mkdir(parents=True, exist_ok=True)
        body = (
            "# ZeroErrand Ledger personal-data keys. Keep outside the data directory; back up separately.\n"
            f"keys=k1:{base64.b64encode(os.urandom(32)).decode()}\n"
            f"index={base64.b64encode(os.urandom(32)).decode()}\n"
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(body)

    def fingerprint(self) -> str:
        """Identifies the index key without revealing it (stored to catch a wrong key early)."""
        return hashlib.sha256(b"zel-pii-index-fingerprint" + self.index_key).hexdigest()[:16]


class Pii:
    """Encrypts, decrypts and indexes personal data with a `PiiKeys` ring."""

    def __init__(self, keys: PiiKeys) -> None:
        self.keys = keys

    def encrypt(self, plaintext: str, context: str) -> bytes:
        """Encrypt `plaintext`; `context` (e.g. "person.name") is bound as associated data."""
        nonce = os.urandom(12)
        key_id = self.keys.current
        sealed = AESGCM(self.keys.keys[key_id]).encrypt(nonce, plaintext.encode(), context.encode())
        return key_id.encode() + b"\0" + nonce + sealed

    def decrypt(self, blob: bytes, context: str) -> str:
        key_id, sep, rest = bytes(blob).partition(b"\0")
        key = self.keys.keys.get(key_id.decode(errors="replace"))
        if not sep or key is None:
            raise PiiError(f"personal data encrypted under unknown key {key_id!r}: add it to the key ring")
        try:
            return AESGCM(key).decrypt(rest[:12], rest[12:], context.encode()).decode()
        except Exception as exc:  # InvalidTag: wrong key or tampered row
            raise PiiError(f"personal data under key {key_id.decode()} failed authentication") from exc

    def key_of(self, blob: bytes) -> str:
        return bytes(blob).partition(b"\0")[0].decode()

    def index(self, value: str) -> str:
        """The keyed-hash lookup index of a normalized identifier."""
        return hmac.new(self.keys.index_key, value.encode(), hashlib.sha256).hexdigest()

    @classmethod
    def for_store(cls, engine: Engine, keys: PiiKeys) -> Pii:
        """`Pii(keys)` once `check_index_key` has accepted `keys` for the store behind `engine` (at start)."""
        try:
            with Session(engine) as session, session.begin():
                check_index_key(session, keys)
        except IntegrityError:  # another process recorded a fingerprint at the same moment: compare with it
            with Session(engine) as session:
                check_index_key(session, keys)
        return cls(keys)


INDEX_FINGERPRINT = "pii.index_key_fingerprint"  # the `store_setting` row naming the index key of the stored data


def check_index_key(session: Session, keys: PiiKeys) -> None:
    """Refuse an index key other than the one the store's personal data was indexed with; record it when new.

    The key's fingerprint is kept in `store_setting`. A store without one (new, or written before fingerprints were
    kept) is first checked against its data: a person's index must be the keyed hash of their ID number, a
    credit record's subject that of its USCC. A new key is never silently put over existing data: lookups would
    find no one and the chain's credit subjects would change.
    """
    from store.models import Setting

    mine = keys.fingerprint()
    stored = session.get(Setting, INDEX_FINGERPRINT)
    if stored is not None:
        if stored.value != mine:
            raise PiiError(
                f"the personal-data index key (fingerprint {mine}) is not the one this store's data was "
                f"written with (fingerprint {stored.value}): configure the original key file or "
                "ZEL_PII_INDEX_KEY (a key file generated just now for development data is not it)"
            )
        return
    problem = _index_key_problem(session, Pii(keys))
    if problem:
        raise PiiError(
            f"the personal-data index key (fingerprint {mine}) does not match the stored data ({problem}) "
            "and the store records no key fingerprint: configure the key the data was written with"
        )
    session.add(Setting(key=INDEX_FINGERPRINT, value=mine))
    session.flush()


def _index_key_problem(session: Session, pii: Pii) -> str | None:
    """What in the stored data disagrees with `pii`'s index key (None: nothing, or no personal data at all)."""
    from store.models import CreditRecord, Inspection, Person

    person = session.scalars(select(Person).order_by(Person.id).limit(1)).first()
    if person is not None and pii.index(pii.decrypt(person.id_number_enc, "person.id_number")) != person.id_index:
        return f"person {person.id} is indexed under another key"
    record = session.scalars(select(CreditRecord).order_by(CreditRecord.id).limit(1)).first()
    if record is not None and (record.public or {}).get("subject") != "0x" + pii.index("uscc:" + record.uscc):
        return f"credit record {record.uid} names its subject under another key"
    visit = session.scalars(select(Inspection).order_by(Inspection.id).limit(1)).first()
    if visit is not None and (visit.content or {}).get("subject") != "0x" + pii.index("uscc:" + visit.uscc):
        return f"inspection {visit.uid} names its subject under another key"
    return None


def rotate_people(factory: sessionmaker[Session], pii: Pii, batch: int = 200) -> int:
    """Re-encrypt every person not under the current key, `batch` rows per transaction; returns rows done."""
    from store.models import Person

    done = 0
    while True:
        with factory() as session, session.begin():
            rows = session.scalars(
                select(Person).where(Person.key_id != pii.keys.current).limit(batch).with_for_update()
            ).all()
            for person in rows:
                person.id_number_enc = pii.encrypt(
                    pii.decrypt(person.id_number_enc, "person.id_number"), "person.id_number"
                )
                person.name_enc = pii.encrypt(pii.decrypt(person.name_enc, "person.name"), "person.name")
                if person.phone_enc is not None:
                    person.phone_enc = pii.encrypt(pii.decrypt(person.phone_enc, "person.phone"), "person.phone")
                person.key_id = pii.keys.current
            done += len(rows)
        if len(rows) < batch:
            return done
