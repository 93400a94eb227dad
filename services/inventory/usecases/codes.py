"""Membership and gift card codes in use, refused up front where inventory can know it. A sale's units
claim their codes (`membership_codes`: the chain's codes of each kind, held by inventory's own sales and by
every issued membership or gift card; a gift card's codes are a namespace apart from the memberships')
in the sale's transaction, before it is recorded:

- at the desk (`POST /operations`), a code another sale holds answers 409 `code_taken` naming it
  (`lines.0.codes.1`), and nothing is recorded;
- in a paid visit (no one to answer), a unit whose code an earlier unit of the visit gave, or an issued
  membership holds, is not sold: its line records it refused (`code_taken`) and the administrator is
  told (`inventory.membership_sale_refused`, `inventory.gift_card_sale_refused`). A code another inventory
  sale claimed but the memberships (wallet) service has not issued yet is left for that service to judge
  (that sale may still fail): the one it refuses comes back as `membership.issue_rejected`
  (`gift_card.issue_rejected`) (usecases/refused.py).

`membership.issued` and `gift_card.issued` (any sale's: imports, booking systems', generated codes) make
their code held for good."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from services.inventory import membership_rules as rules
from services.inventory.domain import GIFT_CARD, MEMBERSHIP
from services.inventory.sales_repository import CodeClaim, SalesRepository
from shared.errors import Conflict
from shared.events import GiftCardIssued, MembershipIssued
from shared.events.base import MAX_ID
from shared.sales import MembershipUnit
from shared.uow import UnitOfWork

if TYPE_CHECKING:  # record.py imports this module
    from services.inventory.usecases.record import Operation


async def refuse_taken_codes(sales: SalesRepository, op: Operation, units: list[list[MembershipUnit]]) -> None:
    """A desk sale's units claim their codes; one another sale holds answers 409 naming it."""
    given = [
        (i, n, op.lines[i].kind or "", u)
        for i, line in enumerate(units)
        for n, u in enumerate(line)
        if rules.given(u.code)
    ]
    if not given:
        return
    holders = await sales.claim_codes((op.chain_id, kind, u.code or "", u.sale_id) for _, _, kind, u in given)
    for i, n, kind, u in given:
        if rules.taken(u.sale_id, holders.get((op.chain_id, kind, u.code or "")), unconfirmed_too=True):
            raise Conflict(
                "code_taken",
                f"code {u.code} is in use: each {kind.replace('_', ' ')} has its own code",
                field=f"lines.{i}.codes.{n}",
            )


async def refuse_visit_codes(
    sales: SalesRepository, ops: list[tuple[Operation, list[list[MembershipUnit]]]]
) -> list[Operation]:
    """The operations of a batch of paid visits, their units claiming their codes in order; a unit whose
    code an issued membership holds is refused (`code_taken`). Units refused already (a code repeated
    within the visit) claim nothing."""
    claims: list[CodeClaim] = []
    for op, units in ops:
        for line, line_units in zip(op.lines, units, strict=True):
            refused = dict(line.refused)
            claims += [
                (op.chain_id, line.kind or "", u.code or "", u.sale_id)
                for n, u in enumerate(line_units)
                if rules.given(u.code) and n not in refused
            ]
    holders = await sales.claim_codes(claims)
    out = []
    for op, units in ops:
        lines = []
        for line, line_units in zip(op.lines, units, strict=True):
            refused = dict(line.refused)
            for n, u in enumerate(line_units):
                if (
                    n not in refused
                    and rules.given(u.code)
                    and rules.taken(
                        u.sale_id, holders.get((op.chain_id, line.kind or "", u.code or "")), unconfirmed_too=False
                    )
                ):
                    refused[n] = rules.CODE_TAKEN
            lines.append(replace(line, refused=tuple(sorted(refused.items()))) if refused else line)
        out.append(replace(op, lines=lines))
    return out


async def remember_issued_codes(uow: UnitOfWork, events: list[MembershipIssued]) -> None:
    """`membership.issued`: its code is held by its sale for good, whoever sold it. A code longer than any
    sale may give (none the memberships service issues is) is no code inventory could sell again: not
    kept (an index row has a size limit; no single message stops the consumer)."""
    await _issued(uow, MEMBERSHIP, events)


async def remember_issued_gift_card_codes(uow: UnitOfWork, events: list[GiftCardIssued]) -> None:
    """`gift_card.issued`: as `membership.issued`, in the gift cards' namespace."""
    await _issued(uow, GIFT_CARD, events)


async def _issued(uow: UnitOfWork, kind: str, events: Sequence[MembershipIssued | GiftCardIssued]) -> None:
    await SalesRepository(uow.conn).codes_issued(
        (e.chain_id, kind, e.code, e.sale_id)
        for e in events
        if e.code and len(e.code) <= MAX_ID and len(e.sale_id) <= MAX_ID
    )
