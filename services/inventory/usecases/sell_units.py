"""What a recorded sale's membership and gift card lines publish: `membership.sold` / `gift_card.sold` per
unit sold (each at its share of the line), and `inventory.membership_sale_refused` /
`inventory.gift_card_sale_refused` per unit refused before it was sold (a paid visit's code in use)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from pydantic import BaseModel

from services.inventory import domain
from services.inventory.usecases.refused import sale_refused
from shared import topics
from shared.events import Client
from shared.sales import MembershipUnit, gift_card_sales, membership_sales
from shared.uow import UnitOfWork

if TYPE_CHECKING:  # record.py imports this module
    from services.inventory.usecases.record import Operation, OpLine

# The client named on a unit sold at the counter to nobody in particular (a coded gift card or
# membership): membership.sold (gift_card.sold) needs one, and the issuing service finds it by its code.
WALK_IN = Client(id="walk-in")


def sell_units(
    uow: UnitOfWork, op: Operation, number: int, index: int, line: OpLine, units: list[MembershipUnit]
) -> None:
    assert line.kind is not None and line.type_id is not None and op.location_id is not None
    client = op.client or WALK_IN
    sold: list[tuple[str, BaseModel, Decimal]]  # topic, event, the unit's price
    if line.kind == domain.MEMBERSHIP:
        sold = [
            (topics.MEMBERSHIP_SOLD, s, s.price)
            for s in membership_sales(op.chain_id, op.location_id, line.type_id, units, line.amount, client, op.at)
        ]
    else:
        sold = [
            (topics.GIFT_CARD_SOLD, s, s.price)
            for s in gift_card_sales(
                op.chain_id, op.location_id, line.type_id, units, line.amount, client, line.holder, op.at
            )
        ]
    refused = dict(line.refused)
    for n, (unit, (topic, event, price)) in enumerate(zip(units, sold, strict=True)):
        if n not in refused:
            uow.publish(topic, client.id, event, cause=op.cause)
            continue
        refused_topic, refusal = sale_refused(
            kind=line.kind,
            chain_id=op.chain_id,
            location_id=op.location_id,
            operation_id=op.op_id,
            operation_number=number,
            line=index,
            sale_id=unit.sale_id,
            type_id=line.type_id,
            product_name=line.product_name,
            code=unit.code,
            client=client,
            amount=price,
            reason=refused[n],
            source=op.source,
            at=op.at,
        )
        uow.publish(refused_topic, client.id, refusal, cause=op.cause)
