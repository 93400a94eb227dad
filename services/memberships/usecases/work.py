"""What one consumed batch works on: loaded in bulk (one statement per table for all its records, the rows
to change locked in key order), decided record by record in memory (each record sees what the earlier ones
left: a balance, a sale), written back in bulk (one statement per table). The use cases read as load ->
decide (and publish, in record order) -> save."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from services.memberships import domain
from services.memberships.repository import batch as sql
from services.memberships.repository import type_cache
from services.memberships.repository.batch import ChainKey, Entry, Issued, VisitFacts
from services.memberships.usecases.policy import policy_of
from shared.events import MembershipSold
from shared.uow import UnitOfWork

__all__ = ["SaleRace", "VisitFacts", "Work"]


class SaleRace(Exception):
    """A sale a concurrent transaction issued (or whose code it took) after this batch looked: the batch is
    replayed record by record, and each record then sees it."""


class Work:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self._batch = uow.batch
        self._ledgers: dict[str, domain.Ledger] = {}
        self._visits: dict[ChainKey, domain.VisitRecord] = {}
        self._policies: dict[ChainKey, domain.DeductionPolicy] = uow.batch.setdefault("policies", {})
        self._sales_issued: set[ChainKey] = set()  # (chain, sale id)
        self._codes_taken: set[ChainKey] = set()  # (chain, code as given)
        self._auto_codes: dict[int, str] = {}  # id(sale) -> its generated code
        self._issued: list[Issued] = []
        self._changed: dict[ChainKey, domain.Membership] = {}
        self._entries: list[Entry] = []

    # --- load ---

    async def load_policies(self, places: Iterable[ChainKey]) -> None:
        """The deduction policies of these (chain, location)s: reference data, read once per batch."""
        missing = set(places) - set(self._policies)
        if missing:
            found = await sql.policies(self.uow.conn, missing)
            self._policies.update({p: policy_of(found.get(p)) for p in missing})

    async def claim(self, keys: Iterable[ChainKey], topic: str) -> set[ChainKey]:
        """Inbox keys this batch takes on behalf of another topic's messages (those answered: claimed now)."""
        return await sql.claim_keys(self.uow.conn, keys, topic)

    async def load(
        self,
        *,
        visits: Sequence[VisitFacts] = (),
        refs: Iterable[ChainKey] = (),
        clients: Iterable[ChainKey] = (),
        sales: Sequence[MembershipSold] = (),
    ) -> None:
        """Upserts and locks the visits (and reads the charges standing against them), locks the memberships
        named by `refs` (code or id), the charges and the usable ones of `clients`, reads their types and
        those of `sales`, and what of `sales` (their ids, their codes) is taken already."""
        conn = self.uow.conn
        charged = []
        if visits:
            for key, row in (await sql.upsert_visits(conn, visits)).items():
                self._visits[key] = domain.VisitRecord(paid=row["paid"], arrived=row["arrived"])
                if row["charged"]:
                    charged.append(key)
        for key, charges in (await sql.standing_charges(conn, charged)).items():
            self._visits[key] = domain.VisitRecord(self._visits[key].paid, self._visits[key].arrived, tuple(charges))
        refs = {*refs, *((key[0], c.membership_id) for key, v in self._visits.items() for c in v.charges)}
        for m in await sql.lock_memberships(conn, refs=refs, clients=clients):
            self.ledger(m.chain_id).put(m)
        await self._load_types(
            {(m.chain_id, m.type_id) for ledger in self._ledgers.values() for m in ledger.all()},
            {(s.chain_id, str(s.membership_type_id)) for s in sales},
        )
        if sales:
            await self._check_sales(sales)

    async def _load_types(self, used: set[ChainKey], sold: set[ChainKey]) -> None:
        """Types not read yet in this transaction; those sold under a share lock (all in one statement)."""

        def cached(chain_id: str, type_id: str, share: bool) -> bool:
            types, locked = type_cache(self._batch, chain_id)
            return type_id in types and (not share or type_id in locked)

        wanted = {k for k in used if not cached(*k, False)} | {k for k in sold if not cached(*k, True)}
        if not wanted:
            return
        share = any(k in sold for k in wanted)
        found = {(t.chain_id, t.id): t for t in await sql.load_types(self.uow.conn, wanted, share=share)}
        for chain_id, type_id in wanted:
            types, locked = type_cache(self._batch, chain_id)
            types[type_id] = found.get((chain_id, type_id))
            if share:
                locked.add(type_id)

    async def _check_sales(self, sales: Sequence[MembershipSold]) -> None:
        """Which sales were issued already and which codes are taken; a code to generate gets one that is
        not (31^8 codes: a collision is rare, two in a row rarer still)."""
        given = {(s.chain_id, s.code) for s in sales if s.code and s.code.lower() != domain.AUTO_CODE}
        pending = [s for s in sales if s.code and s.code.lower() == domain.AUTO_CODE]
        ids = {(s.chain_id, s.sale_id) for s in sales}
        while True:
            for s in pending:
                self._auto_codes[id(s)] = domain.generate_code()
            issued, taken = await sql.sales_taken(
                self.uow.conn, ids, given | {(s.chain_id, self._auto_codes[id(s)]) for s in pending}
            )
            self._sales_issued |= issued
            self._codes_taken |= taken & given
            pending = [s for s in pending if (s.chain_id, self._auto_codes[id(s)]) in taken]
            if not pending:
                return
            ids, given = set(), set()

    # --- what the records see ---

    def ledger(self, chain_id: str) -> domain.Ledger:
        return self._ledgers.setdefault(chain_id, domain.Ledger())

    def type(self, chain_id: str, type_id: str) -> domain.MembershipType | None:
        return type_cache(self._batch, chain_id)[0].get(type_id)

    def visit(self, chain_id: str, visit_id: str) -> domain.VisitRecord:
        return self._visits[(chain_id, visit_id)]

    def policy(self, chain_id: str, location_id: str) -> domain.DeductionPolicy:
        return self._policies[(chain_id, location_id)]

    def sale_code(self, sale: MembershipSold) -> str | None:
        """The code a sale issues: the one given, one generated ("auto"), or none."""
        return self._auto_codes.get(id(sale), sale.code)

    def sale_issued(self, sale: MembershipSold) -> bool:
        return (sale.chain_id, sale.sale_id) in self._sales_issued

    def code_taken(self, chain_id: str, code: str) -> bool:
        return (chain_id, code) in self._codes_taken or self.ledger(chain_id).code_taken(code)

    # --- what the records did ---

    def issued(self, m: domain.Membership, sale_id: str, detail: dict[str, Any]) -> None:
        self.ledger(m.chain_id).put(m)
        self._sales_issued.add((m.chain_id, sale_id))
        self._issued.append(Issued(m, sale_id, detail))

    def record(self, entry: Entry) -> None:
        """A membership's new state and the history entry of what happened to it."""
        m = entry.membership
        self.ledger(m.chain_id).put(m)
        self._changed[(m.chain_id, m.id)] = m
        self._entries.append(entry)

    # --- save ---

    async def save(self) -> None:
        if await sql.insert_memberships(self.uow.conn, self._issued) != len(self._issued):
            raise SaleRace("a sale of this batch was issued, or its code taken, by a concurrent transaction")
        await sql.save_memberships(self.uow.conn, list(self._changed.values()), self._entries)
