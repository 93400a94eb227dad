"""The memberships one batch of events works on, as they stand after the records decided so far: the
rows it loaded (and locked), and those it issued. A later record of the batch finds what an earlier one
left (a balance, a sale), exactly as if the records had come one at a time. Pure."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from services.memberships.domain.model import Membership, Status

USABLE = (Status.SOLD, Status.ACTIVE)


def code_key(code: str) -> str:
    """How codes compare (case-insensitively, as the database's `upper(code)` does): character by character,
    so a letter whose capital is two letters ("ß") stays itself there and here."""
    return "".join(c if len(c.upper()) != 1 else c.upper() for c in code)


class Ledger:
    def __init__(self, memberships: Iterable[Membership] = ()) -> None:
        self._by_id: dict[str, Membership] = {}
        self._by_code: dict[str, str] = {}
        for m in memberships:
            self.put(m)

    def put(self, m: Membership) -> None:
        """A membership loaded, issued, or changed by a record: what the next records see."""
        self._by_id[m.id] = m
        if m.code is not None:
            self._by_code[code_key(m.code)] = m.id

    def all(self) -> list[Membership]:
        return list(self._by_id.values())

    def get(self, membership_id: str) -> Membership | None:
        return self._by_id.get(membership_id)

    def find(self, code_or_id: str) -> Membership | None:
        """By id (a UUID) or else by code, as a line or a service names it."""
        try:
            found = self._by_id.get(str(uuid.UUID(code_or_id)))
        except ValueError:
            found = None
        if found is not None:
            return found
        mid = self._by_code.get(code_key(code_or_id))
        return self._by_id[mid] if mid is not None else None

    def code_taken(self, code: str) -> bool:
        return code_key(code) in self._by_code

    def usable(self, client_id: str) -> list[Membership]:
        """The client's memberships that may pay (sold or active), in id order."""
        return sorted(
            (m for m in self._by_id.values() if m.client_id == client_id and m.status in USABLE), key=lambda m: m.id
        )
