"""The hostile suite's good messages (tests/integration/test_hostile_input.py): as a booking system and
an SMS aggregator send them, and per inbound topic the shape the generator mutates (hostile.py) and the
valid message of Xena's its messages at the bounds start from."""

from __future__ import annotations

import uuid
from typing import Any

from services.notifications.handlers import DeliveryReceipt
from shared import events, topics
from tests.integration import hostile
from tests.integration.conftest import Chain, now_iso
from tests.integration.helpers import sale
from tests.integration.hostile import Shape

HILDA = {"id": "cl-h", "phone": "+36201112233", "name": "Hilda"}  # every message of ours: on her key
XENA = {"id": "cl-x", "phone": "+36201114455", "name": "Xena"}  # the client of the extreme ones
OTTO = {"id": "cl-o", "phone": "+36209998877", "name": "Otto"}  # the other chain's


def paid(chain: Chain, code: str, **fields: Any) -> dict[str, Any]:
    """One massage paid with membership `code`, and a bottle of oil from the shelf."""
    return chain.event(
        **{
            "visit_id": f"v-{uuid.uuid4().hex[:10]}",
            "client": HILDA,
            "loyalty_card_id": None,
            "bonus_spent": "0",
            "lines": [
                {
                    "kind": "service",
                    "item_id": "svc-massage",
                    "category_id": "cat-body",
                    "quantity": 1,
                    "sold": "1000",
                    "paid": "0",
                    "membership": {"code": code},
                },
                {
                    "kind": "product",
                    "item_id": "prod-oil",
                    "storage_id": "st-h",
                    "quantity": 1,
                    "sold": "300",
                    "paid": "300",
                },
            ],
            **fields,
        }
    )


def status(chain: Chain, code: str = "G-0", **fields: Any) -> dict[str, Any]:
    return chain.event(
        **{
            "visit_id": f"v-{uuid.uuid4().hex[:10]}",
            "client": HILDA,
            "scheduled_at": now_iso(),
            "services": [{"service_id": "svc-massage", "membership": {"code": code}}],
            **fields,
        }
    )


def receipt(chain: Chain, notification_id: str, status: str = "delivered") -> dict[str, Any]:
    return {
        "notification_id": notification_id,
        "status": status,
        "provider_message_id": "pm-1",
        "at": now_iso(),
        "chain_id": chain.id,
        "error": None,
    }


def xena_paid(chain: Chain, type_id: str, code: str = "X-1") -> dict[str, Any]:
    """Xena's visit: a massage paid with membership `code`, a product of her own shelf, a membership sold."""
    return chain.event(
        visit_id=f"v-{uuid.uuid4().hex[:10]}",
        client=XENA,
        loyalty_card_id=None,
        bonus_spent="0",
        lines=[
            {
                "kind": "service",
                "item_id": "svc-massage",
                "category_id": "cat-body",
                "quantity": 1,
                "sold": "1000",
                "paid": "0",
                "membership": {"code": code},
            },
            {"kind": "product", "item_id": "prod-x", "storage_id": "st-x", "quantity": 1, "sold": "300", "paid": "300"},
            {"kind": "membership", "item_id": type_id, "quantity": 1, "sold": "100", "paid": "100", "code": "auto"},
        ],
    )


def shapes(chain: Chain, type_id: str) -> dict[str, Shape]:
    return {
        topics.VISIT_PAID: Shape(topics.VISIT_PAID, events.VisitPaid, lambda: paid(chain, "G-0"), hostile.VISIT_PAID),
        topics.VISIT_ARRIVED: Shape(
            topics.VISIT_ARRIVED, events.VisitStatus, lambda: status(chain), hostile.VISIT_STATUS
        ),
        topics.VISIT_NO_SHOW: Shape(
            topics.VISIT_NO_SHOW, events.VisitStatus, lambda: status(chain), hostile.VISIT_STATUS
        ),
        topics.VISIT_CANCELLED: Shape(
            topics.VISIT_CANCELLED,
            events.VisitCancelled,
            lambda: status(chain, cancelled_at=now_iso()),
            hostile.VISIT_CANCELLED,
        ),
        topics.MEMBERSHIP_SOLD: Shape(
            topics.MEMBERSHIP_SOLD,
            events.MembershipSold,
            lambda: sale(chain, type_id, "G-0", client=HILDA),
            hostile.MEMBERSHIP_SOLD,
        ),
        topics.NOTIFICATION_DELIVERY: Shape(
            topics.NOTIFICATION_DELIVERY, DeliveryReceipt, lambda: receipt(chain, str(uuid.uuid4())), hostile.DELIVERY
        ),
    }


def xenas(chain: Chain, type_id: str, notices: list[str]) -> dict[str, Any]:
    """Per topic, a valid message of Xena's that every group applies: what the extreme ones start from (a
    receipt: a notice's failure, one of `notices` each)."""
    unused = iter(notices)

    def visit(**fields: Any) -> Any:
        return lambda: chain.event(
            visit_id=f"v-{uuid.uuid4().hex[:10]}",
            client=XENA,
            scheduled_at=now_iso(),
            services=[{"service_id": "svc-massage", "membership": {"code": "X-1"}}],
            **fields,
        )

    return {
        topics.VISIT_PAID: lambda: xena_paid(chain, type_id),
        topics.VISIT_ARRIVED: visit(),
        topics.VISIT_NO_SHOW: visit(),
        topics.VISIT_CANCELLED: visit(cancelled_at=now_iso()),
        topics.MEMBERSHIP_SOLD: lambda: sale(chain, type_id, f"X-{uuid.uuid4().hex[:8]}", client=XENA),
        topics.NOTIFICATION_DELIVERY: lambda: receipt(chain, next(unused), "failed"),
    }


def event_id(topic: str, message: dict[str, Any]) -> str:
    """A good message's event id, as its consumer reads it (a receipt's is derived)."""
    return (
        DeliveryReceipt.model_validate(message).event_id
        if topic == topics.NOTIFICATION_DELIVERY
        else str(message["event_id"])
    )
