"""A sale at the desk for a named client (`POST /operations`, type sale, with `client`) publishes
`inventory.sale_recorded`, so that loyalty counts it toward the client's sold and paid at the location
(the seed counts "invoices from visits or product sales"). It is published in the operation's own
transaction and only by the request that recorded it: a retry with the same id publishes nothing, and
its event id follows from the operation's. A visit's product and membership lines are sales too, but
`visit.paid` already counts them: only the desk's own sales publish this. Gift cards are left out of its
totals (buying one is prepaying: loyalty counts the money when the card pays), and a sale of gift cards
only publishes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import asyncpg

from services.inventory import domain
from services.inventory.usecases.record import OpLine
from shared import topics
from shared.errors import Invalid
from shared.events import CENTS, Client, SaleRecorded
from shared.uow import UnitOfWork

# A sale's totals are money (12 digits before the point): 500 lines of a million units at the dearest
# price would pass it. Refused (422) rather than recorded with totals no event or ledger can carry.
MAX_TOTAL = Decimal("999999999999.99")


def counted(lines: Iterable[OpLine]) -> list[OpLine]:
    """The lines of a sale loyalty counts: all but gift cards (as it counts a visit's lines)."""
    return [line for line in lines if line.kind != domain.GIFT_CARD]


def sale_totals(lines: Iterable[OpLine], list_prices: Mapping[str, Decimal]) -> tuple[Decimal, Decimal]:
    """(sold, paid) of a sale, as a visit has them: sold = each line at its product's sale price (the
    nominal cost), paid = each line at the price charged (its amount). Membership lines count like goods."""
    sold = paid = Decimal("0.00")
    for line in lines:
        nominal = list_prices.get(line.product_id, line.price) if line.product_id is not None else line.price
        sold += (nominal * line.quantity).quantize(CENTS)
        paid += line.amount
    return sold, paid


def total_problem(sold: Decimal, paid: Decimal) -> str | None:
    if max(sold, paid) > MAX_TOTAL:
        return f"the sale's total ({max(sold, paid)}) passes the largest amount of money, {MAX_TOTAL}"
    return None


def publish_sale_recorded(
    uow: UnitOfWork,
    chain_id: str,
    row: asyncpg.Record,
    client: Client | None,
    lines: list[OpLine],
    products: Mapping[str, Mapping[str, Any]],
) -> None:
    """For the operation `row` this request recorded: a sale's totals are bounded (422 `total_too_large`
    naming `lines`; the transaction, operation included, rolls back), and a sale with a client publishes
    `inventory.sale_recorded` (keyed by the client, as everything of a client is)."""
    if row["type"] != "sale":
        return
    prices = {pid: p["sale_price"] for pid, p in products.items()}
    problem = total_problem(*sale_totals(lines, prices))
    if problem:
        raise Invalid("total_too_large", problem, field="lines")
    if client is None or not counted(lines):
        return
    sold, paid = sale_totals(counted(lines), prices)
    op_id = row["id"]
    uow.publish(
        topics.INVENTORY_SALE_RECORDED,
        client.id,
        SaleRecorded(
            event_id=str(
                uuid.uuid5(uuid.NAMESPACE_URL, f"perkstream:{chain_id}:{topics.INVENTORY_SALE_RECORDED}:{op_id}")
            ),
            occurred_at=row["occurred_at"],
            chain_id=chain_id,
            location_id=row["location_id"],
            operation_id=op_id,
            operation_number=row["number"],
            storage_id=row["storage_id"],
            client=client,
            sold=sold,
            paid=paid,
            source=row["source"],
        ),
    )
