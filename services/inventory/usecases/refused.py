"""`membership.issue_rejected` / `gift_card.issue_rejected` of one of inventory's own sales
(`inventory:op:...`, `inventory:visit:...`): the memberships (wallet) service did not issue that unit,
though the client paid for it. The loop is closed, once per unit however often the rejection comes
(`membership_sales.refused_reason` is set once): the sale's line records the unit refused with the reason
(its quantity and amount come down, `refused_quantity` and `refused_amount` go up: what `GET /operations`
reads), the unit is back in its storage (a movement of the operation, `inventory.stock_changed`), its code
is free again, and `inventory.membership_sale_refused` (`inventory.gift_card_sale_refused`) tells the
location's administrator (through the notifications service)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg
import structlog
from pydantic import BaseModel

from services.inventory import domain
from services.inventory import membership_rules as rules
from services.inventory.batch_repository import BatchRepository
from services.inventory.sales_repository import SalesRepository
from shared import topics
from shared.events import (
    Client,
    GiftCardIssueRejected,
    GiftCardSaleRefused,
    MembershipIssueRejected,
    MembershipSaleRefused,
    StockChanged,
)
from shared.uow import UnitOfWork

log = structlog.get_logger("inventory")
OWN_SALES = "inventory:"  # shared/sales.py: sale_id
VISIT_SALES = "inventory:visit:"  # a visit's units: their issuing service reads the visit too, maybe first


REFUSED_TOPICS = {
    domain.MEMBERSHIP: topics.INVENTORY_MEMBERSHIP_SALE_REFUSED,
    domain.GIFT_CARD: topics.INVENTORY_GIFT_CARD_SALE_REFUSED,
}


def sale_refused(
    *,
    kind: str,
    chain_id: str,
    location_id: str,
    operation_id: uuid.UUID,
    operation_number: int,
    line: int,
    sale_id: str,
    type_id: uuid.UUID,
    product_name: str,
    code: str | None,
    client: Client,
    amount: Decimal,
    reason: str,
    source: str,
    at: datetime,
) -> tuple[str, BaseModel]:
    """The topic and event of a unit refused (a membership's or a gift card's, by `kind`); its id follows
    from the sale's, so a unit is refused once."""
    topic = REFUSED_TOPICS[kind]
    fields: dict[str, Any] = {
        "event_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"perkstream:{chain_id}:{topic}:{sale_id}")),
        "occurred_at": at,
        "chain_id": chain_id,
        "location_id": location_id,
        "operation_id": operation_id,
        "operation_number": operation_number,
        "line": line,
        "sale_id": sale_id,
        "product_name": product_name,
        "code": code,
        "client": client,
        "amount": amount,
        "reason": reason,
        "source": source,
    }
    if kind == domain.MEMBERSHIP:
        return topic, MembershipSaleRefused(**fields, membership_type_id=type_id)
    return topic, GiftCardSaleRefused(**fields, gift_card_type_id=type_id)


async def refuse_membership_sale(uow: UnitOfWork, e: MembershipIssueRejected) -> None:
    await _refuse(uow, domain.MEMBERSHIP, e, e.membership_type_id)


async def refuse_gift_card_sale(uow: UnitOfWork, e: GiftCardIssueRejected) -> None:
    await _refuse(uow, domain.GIFT_CARD, e, e.gift_card_type_id)


async def refuse_parked(uow: UnitOfWork, units: Iterable[tuple[str, str, str]]) -> None:
    """The rejections parked for these units (chain, kind, sale id) just recorded: applied now, in the
    sale's transaction, as they would have been had they come after it."""
    for kind, event in await SalesRepository(uow.conn).take_parked(units):
        if kind == domain.MEMBERSHIP:
            m = MembershipIssueRejected.model_validate(event)
            await _refuse(uow, kind, m, m.membership_type_id)
        else:
            g = GiftCardIssueRejected.model_validate(event)
            await _refuse(uow, kind, g, g.gift_card_type_id)


async def _refuse(
    uow: UnitOfWork, kind: str, e: MembershipIssueRejected | GiftCardIssueRejected, type_id: uuid.UUID
) -> None:
    if not e.sale_id.startswith(OWN_SALES):
        return  # a booking system's or an import's sale: not one of ours
    sales = SalesRepository(uow.conn)
    await sales.hold_units([(e.chain_id, kind, e.sale_id)])  # against its sale being recorded meanwhile
    unit = await sales.refuse_sale(e.chain_id, kind, e.sale_id, e.reason, e.occurred_at)
    if unit is None:
        if e.sale_id.startswith(VISIT_SALES) and not await sales.sale_recorded(e.chain_id, kind, e.sale_id):
            # The issuing service read the visit before inventory did: the sale's transaction applies it.
            kept = await sales.park_refusal(e.chain_id, kind, e.sale_id, e.model_dump(mode="json"))
            log.info("sale_refusal_parked", event_id=e.event_id, chain_id=e.chain_id, sale_id=e.sale_id, kept=kept)
            return
        log.info("sale_refusal_ignored", event_id=e.event_id, chain_id=e.chain_id, sale_id=e.sale_id, kind=kind)
        return  # not recorded here, or refused before (at the sale, or by an earlier rejection)
    op = await sales.operation_for_update(e.chain_id, unit["operation_id"])
    assert op is not None  # a unit is recorded with its operation
    lines = list(op["lines"])
    line = lines[unit["line"]]
    lines[unit["line"]] = rules.refuse(line, unit["unit"], e.reason, unit["amount"])
    await sales.set_lines(e.chain_id, op["id"], lines)
    await sales.release_code(e.chain_id, kind, e.sale_id)
    if line.get("product_id") and op["storage_id"]:
        await _put_back(uow, e, op, line)
    log.info(
        f"{kind}_sale_refused",
        event_id=e.event_id,
        chain_id=e.chain_id,
        sale_id=e.sale_id,
        reason=e.reason,
        operation_id=str(op["id"]),
    )
    topic, refused = sale_refused(
        kind=kind,
        chain_id=e.chain_id,
        location_id=op["location_id"] or e.location_id or "",
        operation_id=op["id"],
        operation_number=op["number"],
        line=unit["line"],
        sale_id=e.sale_id,
        type_id=type_id,
        product_name=line["product_name"],
        code=line["sales"][unit["unit"]].get("code"),
        client=e.client,
        amount=unit["amount"],
        reason=e.reason,
        source=op["source"],
        at=e.occurred_at,
    )
    uow.publish(topic, e.client.id, refused, cause=e)


async def _put_back(
    uow: UnitOfWork, e: MembershipIssueRejected | GiftCardIssueRejected, op: asyncpg.Record, line: dict[str, Any]
) -> None:
    """The unit back in its storage: a movement of its operation (+1, dated when the rejection came), and
    its `inventory.stock_changed` (a balance rising reports nothing low)."""
    repo = BatchRepository(uow.conn)
    key = (e.chain_id, op["storage_id"], line["product_id"])
    balance = (await repo.lock_stock([key]))[key] + 1
    await repo.add_movements([(*key, op["id"], Decimal(1), e.occurred_at)])
    await repo.set_stock({key: balance})
    uow.publish(
        topics.INVENTORY_STOCK_CHANGED,
        line["product_id"],
        StockChanged(
            chain_id=e.chain_id,
            location_id=op["location_id"],
            storage_id=op["storage_id"],
            product_id=line["product_id"],
            product_name=line["product_name"],
            unit=line["unit"],
            delta=Decimal(1),
            balance=balance,
            operation_id=op["id"],
            operation_number=op["number"],
            operation_type=op["type"],
            source=op["source"],
        ),
        cause=e,
    )
