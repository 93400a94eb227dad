"""Membership sales, derived once for the two services that see them: inventory publishes a
`membership.sold` per unit of a membership line (of an operation or of a paid visit), and memberships
issues the units of a paid visit itself when the same visit pays with them, before inventory's
`membership.sold` can arrive. Both name each unit by the same sale id, so whichever comes second is a
duplicate (`sale:<sale_id>`), never a second membership nor a `code_taken`."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from shared.events import CENTS, Client, GiftCardSold, MembershipSold, VisitLine, VisitPaid
from shared.events.base import MAX_ID


@dataclass(frozen=True)
class MembershipUnit:
    sale_id: str
    code: str | None


def membership_units(
    source: str, line_index: int, quantity: int, codes: list[str | None] | None
) -> list[MembershipUnit]:
    """One `membership.sold` per unit, each with a sale id derived from the source (operation or visit),
    the line and the unit, so a replay names the same sales and the memberships service issues once.
    `codes`: one per unit ("auto" for a generated one); None or [] for a no-code type."""
    given = list(codes or [])
    if given and len(given) != quantity:
        raise ValueError(f"{quantity} unit(s) need {quantity} code(s), got {len(given)}")
    return [
        MembershipUnit(sale_id(source, line_index, unit), given[unit] if given else None) for unit in range(quantity)
    ]


def sale_id(source: str, line_index: int, unit: int) -> str:
    """`inventory:<source>:<line>:<unit>`; where that is longer than an id may be (a visit id of 128
    characters), the source is named by its digest, so a sale id is an id like any other (MembershipSold)."""
    found = f"inventory:{source}:{line_index}:{unit}"
    if len(found) <= MAX_ID:
        return found
    kind, _, _ = source.partition(":")
    return f"inventory:{kind}:sha256-{hashlib.sha256(source.encode()).hexdigest()}:{line_index}:{unit}"


def split_amount(amount: Decimal, units: int) -> list[Decimal]:
    """`amount` over `units` in cents, the odd cents on the first units: the parts add up to it."""
    cents = int((amount / CENTS).to_integral_value())
    base, rest = divmod(cents, units)
    return [Decimal(base + (1 if i < rest else 0)) * CENTS for i in range(units)]


def membership_sales(
    chain_id: str,
    location_id: str,
    membership_type_id: uuid.UUID,
    units: list[MembershipUnit],
    amount: Decimal,
    client: Client,
    at: datetime,
) -> list[MembershipSold]:
    """The `membership.sold` of each unit of one line, the line's `amount` shared out over them."""
    return [
        MembershipSold(
            # The event id follows from the sale id too: a replay is the same message, twice harmless.
            event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"perkstream:{chain_id}:{unit.sale_id}")),
            occurred_at=at,
            chain_id=chain_id,
            location_id=location_id,
            sale_id=unit.sale_id,
            membership_type_id=membership_type_id,
            code=unit.code,
            client=client,
            price=price,
        )
        for unit, price in zip(units, split_amount(amount, len(units)), strict=True)
    ]


def gift_card_sales(
    chain_id: str,
    location_id: str,
    gift_card_type_id: uuid.UUID,
    units: list[MembershipUnit],
    amount: Decimal,
    client: Client,
    holder: Client | None,
    at: datetime,
) -> list[GiftCardSold]:
    """The `gift_card.sold` of each unit of one gift card line (sold as memberships are: a unit per card,
    its sale id and code), the line's `amount` shared out over them."""
    return [
        GiftCardSold(
            event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"perkstream:{chain_id}:gift_card.sold:{unit.sale_id}")),
            occurred_at=at,
            chain_id=chain_id,
            location_id=location_id,
            sale_id=unit.sale_id,
            gift_card_type_id=gift_card_type_id,
            code=unit.code,
            client=client,
            holder=holder,
            price=price,
        )
        for unit, price in zip(units, split_amount(amount, len(units)), strict=True)
    ]


def visit_source(visit_id: str) -> str:
    return f"visit:{visit_id}"


def visit_line_codes(code: str | None, quantity: int) -> list[str | None] | None:
    """A visit's membership line gives one code for all its units: "auto" generates each, none sells
    no-code units, a given code sells one (a second unit with it is refused: code_taken)."""
    return [code] * quantity if code else None


def visit_membership_lines(e: VisitPaid, kind: str = "membership") -> list[tuple[int, VisitLine, uuid.UUID | None]]:
    """The `membership` (or `kind`: `gift_card`) lines of a paid visit: (index, line, its type id; None where
    item_id is not one)."""
    found: list[tuple[int, VisitLine, uuid.UUID | None]] = []
    for i, line in enumerate(e.lines):
        if line.kind == kind:
            try:
                found.append((i, line, uuid.UUID(line.item_id)))
            except ValueError:
                found.append((i, line, None))
    return found


def visit_membership_sales(e: VisitPaid) -> list[MembershipSold]:
    """The `membership.sold` inventory publishes for the `membership` lines of a paid visit, as it
    publishes them. A line whose item_id is not a type id is left out (inventory refuses that visit)."""
    sold: list[MembershipSold] = []
    for i, line, type_id in visit_membership_lines(e):
        if type_id is None:
            continue
        units = membership_units(visit_source(e.visit_id), i, line.quantity, visit_line_codes(line.code, line.quantity))
        sold += membership_sales(e.chain_id, e.location_id, type_id, units, line.paid, e.client, e.occurred_at)
    return sold


def visit_gift_card_sales(e: VisitPaid) -> list[GiftCardSold]:
    """The `gift_card.sold` inventory publishes for the `gift_card` lines of a paid visit, as it publishes
    them (the wallet issues them from the visit too: one sold and spent in the same visit pays). A line
    whose item_id is not a type id is left out (inventory refuses that visit)."""
    sold: list[GiftCardSold] = []
    for i, line, type_id in visit_membership_lines(e, "gift_card"):
        if type_id is None:
            continue
        units = membership_units(visit_source(e.visit_id), i, line.quantity, visit_line_codes(line.code, line.quantity))
        sold += gift_card_sales(
            e.chain_id, e.location_id, type_id, units, line.paid, e.client, line.holder, e.occurred_at
        )
    return sold
