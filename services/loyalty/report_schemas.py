"""The loyalty transactions report (`GET /reports/loyalty-transactions` and `.../totals`): its filter,
a row per transaction, the totals per kind, and the CSV columns."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, PlainSerializer

from shared.events import CENTS, Money

Kind = Literal["accrual", "spend", "burn", "manual"]
KINDS: tuple[Kind, ...] = ("accrual", "spend", "burn", "manual")
# A sum over a chain's transactions: each row is money, their sum over years of a large chain may pass
# what one amount holds (12 digits before the point), so it is unbounded; two decimals on the wire.
Total = Annotated[Decimal, PlainSerializer(lambda d: format(d.quantize(CENTS), "f"), return_type=str, when_used="json")]


@dataclass(frozen=True)
class TransactionFilter:
    start: datetime | None = None  # at or after
    end: datetime | None = None  # before
    location_id: str | None = None
    kind: Kind | None = None
    card: str | None = None  # a card's id or number


class TransactionRow(BaseModel):
    """One change of a card's balance: `amount` signed (+ accrual, - spend, burn, write-off), the
    balance after it, the card and its client, where (a visit's location; a burn or a manual change is
    at none), the visit, the promotion that accrued, the reason (manual changes, burns)."""

    id: int
    at: datetime
    kind: Kind
    amount: Money
    balance_after: Money
    card_id: uuid.UUID
    card_number: str
    card_type_id: uuid.UUID
    client_id: str
    location_id: str | None
    visit_id: str | None
    promotion_id: uuid.UUID | None
    promotion_name: str | None
    reason: str | None


TRANSACTION_COLUMNS = tuple(TransactionRow.model_fields)


class KindTotal(BaseModel):
    """The transactions of one kind (`kind` null: of every kind): how many, their sum (signed), and the
    points they added and took apart (a kind's `amount` = `added` - `taken`)."""

    kind: Kind | None
    count: int
    amount: Total
    added: Total
    taken: Total


class TransactionTotals(BaseModel):
    kinds: list[KindTotal]  # one per kind, always all four, in the order accrual, spend, burn, manual
    total: KindTotal
