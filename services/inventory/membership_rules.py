"""Pure rules of the membership and gift card units inventory sells (domain.py's sibling: standard library
only, no I/O): which codes a sale gives twice, whose code a unit may not take, and what a refused unit does
to its line. A gift card unit is sold as a membership unit is (`gift_card.sold`, the wallet service its
judge: `gift_card.issued`, `gift_card.issue_rejected`); the two kinds' codes are namespaces of their own.

A unit is one membership: its own sale id (`inventory:<op or visit>:<line>:<unit>`) and its code (given,
"auto" for a generated one, or none). Inventory keeps the codes in use in its chain (its own sales', and
every issued membership's); the memberships service is the judge, and refuses what inventory could not
know (`membership.issue_rejected`): the line then records the unit refused."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from services.inventory.domain import AUTO_CODE, quantity_text

CODE_TAKEN = "code_taken"
MONEY = Decimal("0.01")


def given(code: str | None) -> bool:
    """A code the seller chose (not "auto", not none): one only one membership of the chain may have."""
    return code is not None and code.lower() != AUTO_CODE


def code_key(code: str) -> str:
    """How codes compare, as the memberships service and the database's `upper(code)` compare them:
    case-insensitively, character by character (a letter whose capital is two letters stays itself)."""
    return "".join(c if len(c.upper()) != 1 else c.upper() for c in code)


def repeats(codes: Sequence[Sequence[str | None] | None]) -> list[tuple[int, int]]:
    """(line, unit) of each given code that an earlier unit of the same sale gave already, in order: the
    memberships service issues the first and refuses the rest."""
    seen: set[str] = set()
    found = []
    for line, line_codes in enumerate(codes):
        for unit, code in enumerate(line_codes or []):
            if code is None or not given(code):
                continue
            key = code_key(code)
            if key in seen:
                found.append((line, unit))
            seen.add(key)
    return found


@dataclass(frozen=True)
class Holder:
    """Who holds a code in the chain, as inventory knows it: a sale, and whether its membership was issued."""

    sale_id: str
    issued: bool


def taken(sale_id: str, holder: Holder | None, *, unconfirmed_too: bool) -> bool:
    """Whether a unit may not take its code: another sale holds it. A desk sale refuses any holder (409:
    the cashier picks another code); a paid visit, only an issued one (the memberships service refuses it
    for sure; another sale not issued yet may still fail, and the memberships service decides between
    them: the one it refuses comes back as `membership.issue_rejected`)."""
    if holder is None or holder.sale_id == sale_id:
        return False
    return holder.issued or unconfirmed_too


def refuse(line: dict[str, Any], unit: int, reason: str, amount: Decimal) -> dict[str, Any]:
    """A recorded line (as `GET /operations` reads it) with one more of its units refused: `quantity` and
    `amount` are what was sold (one unit, and its share of the amount, less), `refused_quantity` and
    `refused_amount` what was refused, and the unit's sale says why (`"refused": reason`). A unit refused
    before leaves the line as it is (the caller's "exactly once")."""
    sales = [dict(s) for s in line.get("sales", [])]
    if unit >= len(sales) or "refused" in sales[unit]:
        return line
    sales[unit]["refused"] = reason
    refused_quantity = Decimal(line.get("refused_quantity", "0")) + 1
    refused_amount = Decimal(line.get("refused_amount", "0")) + amount
    return {
        **line,
        "quantity": quantity_text(Decimal(line["quantity"]) - 1),
        "amount": str((Decimal(line["amount"]) - amount).quantize(MONEY)),
        "sales": sales,
        "refused_quantity": quantity_text(refused_quantity),
        "refused_amount": str(refused_amount.quantize(MONEY)),
    }


def sale_storage(named: str | None, default: str | None) -> str | None:
    """The storage a membership line of a paid visit leaves: its `storage_id`, else the location's
    (its consumables storage, else its only storage); None: sold without moving stock (no storage known)."""
    return named or default
