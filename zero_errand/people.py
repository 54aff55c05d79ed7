"""People and enterprises in the store (personal data encrypted, looked up by keyed hash)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

import errors
from identifiers import is_valid_id_number, is_valid_uscc
from store.models import Enterprise, Person
from store.pii import Pii


class DataError(errors.ZelError):
    """A request the store refuses; `kind` (its `code`) picks the problem type (conflict, not-found, invalid)."""

    def __init__(self, kind: str, message: str, field: str | None = None) -> None:
        super().__init__(message, code=kind, field=field)
        self.kind = kind


def find_person(session: Session, pii: Pii, id_number: str) -> Person | None:
    return session.scalars(select(Person).where(Person.id_index == pii.index(id_number))).first()


def add_person(session: Session, pii: Pii, id_number: str, name: str, phone: str | None = None) -> Person:
    id_number = id_number.strip().upper()
    if not is_valid_id_number(id_number):
        raise DataError("invalid", f"{id_number[:4]}… is not a valid citizen ID number", "id_number")
    if find_person(session, pii, id_number):
        raise DataError("conflict", "a person with this ID number exists")
    person = Person(
        id_index=pii.index(id_number),
        id_number_enc=pii.encrypt(id_number, "person.id_number"),
        name_enc=pii.encrypt(name, "person.name"),
        phone_enc=pii.encrypt(phone, "person.phone") if phone else None,
        key_id=pii.keys.current,
    )
    session.add(person)
    session.flush()
    return person


def add_enterprise(session: Session, uscc: str, name: str) -> Enterprise:
    uscc = uscc.strip().upper()
    if not is_valid_uscc(uscc):
        raise DataError("invalid", f"{uscc} is not a valid unified social credit code", "uscc")
    existing = session.get(Enterprise, uscc)
    if existing:
        return existing
    enterprise = Enterprise(uscc=uscc, name=name, region=uscc[2:8])
    session.add(enterprise)
    session.flush()
    return enterprise
