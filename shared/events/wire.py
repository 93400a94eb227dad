"""What a topic's messages carry besides their payload model: the Kafka key, whose JSON Schema a topic
is described by, and one example per topic (checked against its model whenever a document is built).

Read by shared/asyncapi.py (each service's /asyncapi) and shared/contract_export.py (the files committed
under docs/schemas/ and docs/asyncapi/)."""

from __future__ import annotations

from typing import Any, Literal

from shared import topics

# Topics other parties publish (booking systems, the gateway on their behalf, aggregators): their schema is
# the model's *validation* schema, what a producer must meet. Every other topic is published by a service
# alone: its schema is the *serialization* schema, exactly what goes on the wire.
EXTERNAL = frozenset((*topics.INBOUND, topics.NOTIFICATION_DELIVERY))

TRACEPARENT_PATTERN = r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"
TRACEPARENT_EXAMPLE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

CLIENT_KEY = "the client's id (`client.id`): one client's messages stay in order"
KEYS: dict[str, str] = {
    topics.MEMBERSHIP_TYPE_CREATED: "the membership type's id (`membership_type_id`)",
    topics.MEMBERSHIP_TYPE_CHANGED: "the membership type's id (`membership_type_id`)",
    topics.GIFT_CARD_TYPE_CREATED: "the gift card type's id (`gift_card_type_id`)",
    topics.GIFT_CARD_TYPE_CHANGED: "the gift card type's id (`gift_card_type_id`)",
    topics.LOYALTY_REFERRAL_REWARDED: "the referrer's id (`referrer.id`): one client's messages stay in order",
    topics.INVENTORY_STOCK_CHANGED: "the product's id (`product_id`)",
    topics.INVENTORY_STOCK_LOW: "the product's id (`product_id`)",
    topics.NOTIFICATION_SMS: "the client's id (`client_id`); the location's id for a notice about no client",
    topics.NOTIFICATION_CHATBOT: "the client's id (`client_id`); the location's id for a notice about no client",
    topics.NOTIFICATION_DELIVERY: "any (the consumer does not read it); `notification_id` recommended",
}


def key(topic: str) -> str:
    return KEYS.get(topic, CLIENT_KEY)


def schema_mode(topic: str) -> Literal["validation", "serialization"]:
    return "validation" if topic in EXTERNAL else "serialization"


# --- examples: the visit of docs/contract.md (ch-1, loc-1, client cl-5, visit v-77) and what it causes ---

T = "2026-03-01T10:40:00+00:00"
TYPE_ID = "0b6f3c1e-3f4a-4c55-9a8e-2d7f5b1c9e01"
MEMBERSHIP_ID = "5d0c8c1e-7b2a-4f0e-9a51-3c7e1d2b4a10"
CARD = {
    "card_id": "8a3f1b52-6c4d-4e7f-8a9b-0c1d2e3f4a5b",
    "card_number": "C-1",
    "card_type_id": "1e2d3c4b-5a69-4788-97a6-b5c4d3e2f1a0",
}
OPERATION_ID = "3b9e7d21-0f4c-4a6b-8e2d-1c5f7a9b3e60"
DISCOUNT_PROMOTION_ID = "4d5e6f70-8192-4a3b-9c4d-5e6f70819203"
CLIENT = {"id": "cl-5", "phone": "+36201234567", "name": "Anna"}
SERVICES = [{"service_id": "svc-massage", "membership": {"code": "4567"}}]


def _event(n: int, **fields: Any) -> dict[str, Any]:
    return {"event_id": f"e-{n}", "occurred_at": T, "chain_id": "ch-1", "location_id": "loc-1", **fields}


def _membership(n: int, **fields: Any) -> dict[str, Any]:
    return _event(
        n,
        membership_id=MEMBERSHIP_ID,
        code="4567",
        type_name="Massage membership",
        client=CLIENT,
        status="active",
        balance={"svc-massage": 9},
        visits_left=9,
        valid_until="2026-06-01T00:00:00+00:00",
        **fields,
    )


def _charge(n: int, **fields: Any) -> dict[str, Any]:
    return _event(
        n,
        membership_id=MEMBERSHIP_ID,
        code="4567",
        type_name="Massage membership",
        client=CLIENT,
        visit_id="v-77",
        service_id="svc-massage",
        units=1,
        **fields,
    )


def _loyalty(n: int, **fields: Any) -> dict[str, Any]:
    return _event(n, client=CLIENT, **fields)


def _card(n: int, **fields: Any) -> dict[str, Any]:
    return _event(n, **CARD, client=CLIENT, balance="30.00", **fields)


def _notice(channel: str) -> dict[str, Any]:
    sms = {"encoding": "gsm7", "segments": 1} if channel == "sms" else {}
    return {
        "notification_id": "6f1e0c39-2d4b-4a8e-9c7f-1b3d5e7f9a21",
        "occurred_at": T,
        "chain_id": "ch-1",
        "location_id": "loc-1",
        "channel": channel,
        "to": "+36201234567",
        "client_id": "cl-5",
        "type": "membership.deducted",
        "text": "Anna, 1 visit was deducted from membership 4567; 9 left.",
        "locale": "en",
        "source_event_id": "e-2101",
        "audience": "client",
        "send_before": "2026-03-02T10:40:00+00:00",
        **sms,
    }


_TYPE = _event(
    2001,
    membership_type_id=TYPE_ID,
    name="Massage membership",
    price="8000",
    archived=False,
    balance="split",
    services=[{"service_id": "svc-massage", "category_id": "cat-body", "visits": 10}],
    total_visits=None,
    allow_without_code=False,
    online_sale=True,
    location_ids=["loc-1", "loc-2"],
)

GIFT_CARD_TYPE_ID = "7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
GIFT_CARD_ID = "2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d"
_GIFT_CARD_TYPE = _event(
    5001,
    gift_card_type_id=GIFT_CARD_TYPE_ID,
    name="Gift card 10,000",
    par_value="10000",
    write_off="multiple",
    archived=False,
    allow_without_code=False,
    location_ids=[],
    limits={"applies_to": "some_services_and_products", "service_ids": ["svc-massage"], "category_ids": []},
    validity={"kind": "period", "unit": "year", "count": 1},
)
_GIFT_CARD = {"gift_card_id": GIFT_CARD_ID, "code": "G-100", "type_name": "Gift card 10,000"}
_ACCOUNT = {"client_id": "cl-5", "client": CLIENT, "credit_limit": "0.00"}
WALLET_EXAMPLES: dict[str, dict[str, Any]] = {
    topics.GIFT_CARD_SOLD: _event(
        1006,
        sale_id="inventory:visit:v-77:3:0",
        gift_card_type_id=GIFT_CARD_TYPE_ID,
        code="G-100",
        client=CLIENT,
        holder={"id": "cl-6", "phone": "+36209876543", "name": "Bea"},
        price="9000",
        channel="desk",
    ),
    topics.ACCOUNT_DEPOSIT: _event(
        1007, deposit_id="d-1", client=CLIENT, amount="5000", method="cash", comment="Paid at the desk"
    ),
    topics.GIFT_CARD_TYPE_CREATED: _GIFT_CARD_TYPE,
    topics.GIFT_CARD_TYPE_CHANGED: {**_GIFT_CARD_TYPE, "event_id": "e-5002", "archived": True},
    topics.GIFT_CARD_ISSUED: _event(
        5003,
        **_GIFT_CARD,
        gift_card_type_id=GIFT_CARD_TYPE_ID,
        sale_id="inventory:visit:v-77:3:0",
        client=CLIENT,
        holder={"id": "cl-6", "phone": "+36209876543", "name": "Bea"},
        balance="10000.00",
        valid_until="2027-03-01T10:40:00+00:00",
        status="active",
    ),
    topics.GIFT_CARD_ISSUE_REJECTED: _event(
        5004, sale_id="s-3", gift_card_type_id=GIFT_CARD_TYPE_ID, code="G-100", client=CLIENT, reason="code_taken"
    ),
    topics.GIFT_CARD_CHARGED: _event(
        5005,
        **_GIFT_CARD,
        client=CLIENT,
        visit_id="v-80",
        line=0,
        amount="500.00",
        balance="9500.00",
        status="active",
        valid_until="2027-03-01T10:40:00+00:00",
    ),
    topics.GIFT_CARD_REFUNDED: _event(
        5006,
        **_GIFT_CARD,
        client=CLIENT,
        visit_id="v-80",
        line=0,
        amount="500.00",
        balance="10000.00",
        status="active",
        valid_until="2027-03-01T10:40:00+00:00",
    ),
    topics.GIFT_CARD_ADJUSTED: _event(
        5007,
        gift_card_id=GIFT_CARD_ID,
        code="G-100",
        client=CLIENT,
        balance_before="9500.00",
        balance_after="9000.00",
        valid_until_before="2027-03-01T10:40:00+00:00",
        valid_until_after="2027-06-01T10:40:00+00:00",
        reason="goodwill extension",
        user="eva",
    ),
    topics.GIFT_CARD_EXPIRING: _event(
        5008, **_GIFT_CARD, client=CLIENT, balance="9500.00", valid_until="2027-03-01T10:40:00+00:00", days_left=7
    ),
    topics.GIFT_CARD_EXPIRED: _event(
        5009,
        **_GIFT_CARD,
        client=CLIENT,
        balance="0.00",
        valid_until="2027-03-01T10:40:00+00:00",
        forfeited="9500.00",
    ),
    topics.ACCOUNT_TOPPED_UP: _event(
        5010,
        **_ACCOUNT,
        amount="5000.00",
        balance="5000.00",
        deposit_id="d-1",
        operation_id=None,
        method="cash",
        source="deposit",
        user=None,
    ),
    topics.ACCOUNT_CHARGED: _event(5011, **_ACCOUNT, amount="300.00", balance="4700.00", visit_id="v-80", line=1),
    topics.ACCOUNT_REFUNDED: _event(5012, **_ACCOUNT, amount="300.00", balance="5000.00", visit_id="v-80", line=1),
    topics.ACCOUNT_ADJUSTED: _event(
        5013, **_ACCOUNT, amount="-100.00", balance="4900.00", reason="correction", user="eva"
    ),
    topics.ACCOUNT_DEPOSIT_REFUSED: _event(
        5015,
        **_ACCOUNT,
        amount="5000.00",
        balance="99999999000.00",
        deposit_id="d-2",
        method="cash",
        reason="balance_too_large",
    ),
    topics.WALLET_PAYMENT_REJECTED: _event(
        5014,
        visit_id="v-81",
        client=CLIENT,
        partial_payments=False,
        taken=[],
        rejected=[
            {
                "line": 0,
                "instrument": "gift_card",
                "code": "G-100",
                "id": None,
                "amount": "20000.00",
                "reason": "insufficient_balance",
            },
            {"line": 1, "instrument": "account", "code": None, "id": None, "amount": "300.00", "reason": "not_taken"},
        ],
    ),
}

EXAMPLES: dict[str, dict[str, Any]] = {
    topics.VISIT_PAID: _event(
        1001,
        visit_id="v-77",
        client=CLIENT,
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
                "membership": {"code": "4567"},
            },
            {
                "kind": "product",
                "item_id": "prod-oil",
                "storage_id": "st-1",
                "quantity": 2,
                "sold": "300",
                "paid": "300",
            },
            {"kind": "membership", "item_id": TYPE_ID, "quantity": 1, "sold": "8000", "paid": "8000", "code": "9001"},
        ],
    ),
    topics.VISIT_ARRIVED: _event(
        1002, visit_id="v-77", client=CLIENT, scheduled_at="2026-03-01T10:00:00+00:00", services=SERVICES
    ),
    topics.VISIT_NO_SHOW: _event(
        1003, visit_id="v-78", client=CLIENT, scheduled_at="2026-03-02T10:00:00+00:00", services=SERVICES
    ),
    topics.VISIT_CANCELLED: _event(
        1004,
        visit_id="v-79",
        client=CLIENT,
        scheduled_at="2026-03-03T10:00:00+00:00",
        services=SERVICES,
        cancelled_at="2026-03-02T18:00:00+00:00",
    ),
    topics.MEMBERSHIP_SOLD: _event(
        1005,
        sale_id="s-1",
        membership_type_id=TYPE_ID,
        code="9001",
        client={"id": "cl-5", "phone": "+36201234567"},
        price="8000",
    ),
    topics.MEMBERSHIP_TYPE_CREATED: _TYPE,
    topics.MEMBERSHIP_TYPE_CHANGED: {**_TYPE, "event_id": "e-2002", "archived": True},
    topics.MEMBERSHIP_ISSUED: _event(
        2003,
        membership_id=MEMBERSHIP_ID,
        membership_type_id=TYPE_ID,
        type_name="Massage membership",
        code="9001",
        sale_id="s-1",
        client=CLIENT,
        status="sold",
        balance={"svc-massage": 10},
        valid_until=None,
    ),
    topics.MEMBERSHIP_ISSUE_REJECTED: _event(
        2004, sale_id="s-2", membership_type_id=TYPE_ID, code="9001", client=CLIENT, reason="code_taken"
    ),
    topics.MEMBERSHIP_ACTIVATED: _membership(2005, activated_at=T, cause="first_use"),
    topics.MEMBERSHIP_DEDUCTED: _charge(
        2006,
        visits_left=9,
        status="active",
        balance={"svc-massage": 9},
        service_cost="800.00",
        valid_until="2026-06-01T00:00:00+00:00",
        cause="paid",
        chosen_because=None,
    ),
    topics.MEMBERSHIP_DEDUCTION_REJECTED: _charge(2007, reason="frozen", cause="paid"),
    topics.MEMBERSHIP_DEDUCTION_REVERSED: _charge(
        2008,
        visit_at="2026-03-02T10:00:00+00:00",
        visits_left=9,
        status="active",
        balance={"svc-massage": 9},
        valid_until="2026-06-01T00:00:00+00:00",
        cause="no_show",
        reason="visit_paid",
    ),
    topics.MEMBERSHIP_EXPIRING: _membership(2009, reason="valid_until", days_left=7),
    topics.MEMBERSHIP_EXPIRED: {**_membership(2010), "status": "expired"},
    topics.MEMBERSHIP_FROZEN: {
        **_membership(2011, frozen_from="2026-03-10", frozen_until="2026-03-24", days=14),
        "status": "frozen",
        "valid_until": "2026-06-15T00:00:00+00:00",
    },
    topics.MEMBERSHIP_UNFROZEN: _membership(2012, unfrozen_at="2026-03-20T09:00:00+00:00"),
    topics.LOYALTY_DISCOUNT_CHANGED: _loyalty(
        3001,
        reason="recalculated",
        old_percent="0.00",
        new_percent="5.00",
        expires_at="2026-04-30T10:40:00+00:00",
        notify=True,
    ),
    topics.LOYALTY_DISCOUNT_EXPIRING: _loyalty(
        3002, reason="inactivity", discount_percent="5.00", expires_at="2026-04-30T10:40:00+00:00", last_visit_at=T
    ),
    topics.LOYALTY_LEVEL_CHANGED: _loyalty(3003, old_level=None, new_level="bronze"),
    topics.LOYALTY_CATEGORIES_CHANGED: _loyalty(
        3004, old_categories=[], new_categories=["Economy"], added=["Economy"], removed=[]
    ),
    topics.LOYALTY_BONUS_ACCRUED: _card(
        3005,
        amount="30.00",
        kind="cashback",
        visit_id="v-77",
        promotion_id="9c8b7a69-5847-4362-9150-4f3e2d1c0b0a",
        burns_at="2026-09-01T10:40:00+00:00",
    ),
    topics.LOYALTY_BONUS_SPENT: _card(3006, amount="10.00", kind="spend", visit_id="v-80"),
    topics.LOYALTY_BONUS_SPEND_REJECTED: _card(
        3007, requested="500.00", visit_id="v-81", reason="insufficient_balance"
    ),
    topics.LOYALTY_BONUS_BURNING: _card(3008, amount="30.00", burns_at="2026-09-01T10:40:00+00:00"),
    topics.LOYALTY_BONUS_BURNED: {**_card(3009, amount="30.00"), "balance": "0.00"},
    topics.LOYALTY_DISCOUNT_APPLIED: _loyalty(
        3011,
        visit_id="v-82",
        lines=[
            {
                "line": 0,
                "item_id": "svc-hair",
                "source": "promotion",
                "promotion_id": DISCOUNT_PROMOTION_ID,
                "card_id": CARD["card_id"],
                "percent": "10.00",
                "amount": "100.00",
            }
        ],
        amount="100.00",
    ),
    topics.LOYALTY_DISCOUNT_REFUSED: _loyalty(
        3012,
        visit_id="v-83",
        lines=[
            {
                "line": 0,
                "item_id": "svc-hair",
                "source": "promotion",
                "promotion_id": DISCOUNT_PROMOTION_ID,
                "card_id": None,
                "percent": "7.00",
                "amount": "70.00",
                "reason": "not_online",
            }
        ],
    ),
    topics.LOYALTY_REFERRAL_REWARDED: _event(
        3010,
        **CARD,
        referrer=CLIENT,
        invitee={"id": "cl-9", "phone": "+36209876543", "name": "Bea"},
        amount="500.00",
        balance="530.00",
        visit_id="v-90",
    ),
    topics.INVENTORY_STOCK_CHANGED: _event(
        4001,
        storage_id="st-1",
        product_id="prod-oil",
        product_name="Massage oil",
        unit="pcs",
        delta="-2",
        balance="18",
        operation_id=OPERATION_ID,
        operation_number=7,
        operation_type="sale",
        source="visit:v-77",
    ),
    topics.INVENTORY_STOCK_LOW: _event(
        4002,
        storage_id="st-1",
        product_id="prod-oil",
        product_name="Massage oil",
        unit="pcs",
        balance="2",
        min_stock="5",
        reason="below_min_stock",
        operation_id=OPERATION_ID,
    ),
    topics.INVENTORY_SALE_RECORDED: _event(
        4003,
        operation_id=OPERATION_ID,
        operation_number=8,
        storage_id="st-1",
        client=CLIENT,
        sold="600.00",
        paid="550.00",
        source="user:eva",
    ),
    topics.INVENTORY_MEMBERSHIP_SALE_REFUSED: _event(
        4004,
        operation_id=OPERATION_ID,
        operation_number=9,
        line=0,
        sale_id=f"inventory:op:{OPERATION_ID}:0:0",
        membership_type_id=TYPE_ID,
        product_name="Massage membership",
        code="9001",
        client=CLIENT,
        amount="8000.00",
        reason="code_taken",
        source="user:eva",
    ),
    topics.INVENTORY_GIFT_CARD_SALE_REFUSED: _event(
        4005,
        operation_id=OPERATION_ID,
        operation_number=10,
        line=0,
        sale_id=f"inventory:op:{OPERATION_ID}:0:0",
        gift_card_type_id=GIFT_CARD_TYPE_ID,
        product_name="Gift card 10,000",
        code="G-100",
        client=CLIENT,
        amount="9000.00",
        reason="code_taken",
        source="user:eva",
    ),
    **WALLET_EXAMPLES,
    topics.NOTIFICATION_SMS: _notice("sms"),
    topics.NOTIFICATION_CHATBOT: _notice("chatbot"),
    topics.NOTIFICATION_DELIVERY: {
        "notification_id": "6f1e0c39-2d4b-4a8e-9c7f-1b3d5e7f9a21",
        "status": "delivered",
        "provider_message_id": "pm-1",
        "at": "2026-03-01T10:40:03+00:00",
        "chain_id": "ch-1",
    },
}
