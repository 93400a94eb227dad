"""A booking record or goods sale, made into the contract's inbound events (plain dicts, validated by the
caller against the contract's models). Pure: standard library only.

- `record`, `attendance` becomes 1: `visit.status_arrived`; becomes -1: `visit.status_no_show`;
- `record`, `status: delete` or `deleted: true` (never arrived nor paid): `visit.cancelled`;
- `record`, `paid_full` becomes 1: `visit.paid`, a `service` line per service, with the membership that
  paid it (the visit's loyalty transactions of type 9) and its category (the service catalogue);
- `goods_operations_sale` of a membership product (`loyalty_abonement_id`, or the product's
  `loyalty_abonement_type_id`): `membership.sold`, their membership type mapped to ours, its number as
  the code;
- anything else (`client`, `finances_operation`, `good`, other goods operations...): nothing (`ignored`).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from services.gateway.domain.webhooks import GoodsSale, Kind, Record, event_id, integer, occurred

TOPIC_OF: dict[Kind, str] = {
    "arrived": "visit.status_arrived",
    "no_show": "visit.status_no_show",
    "cancelled": "visit.cancelled",
    "paid": "visit.paid",
}
ABONEMENT_USE = 9  # their loyalty transaction type "use of a membership" (Использование абонемента)


def client(c: Any, phone: str | None) -> dict[str, Any]:
    return {"id": c.id, "phone": phone, "name": c.name}


def status_event(
    system: str, company_id: int, location_id: str, snap: Record, kind: Kind, phone: str | None, now: datetime
) -> dict[str, Any]:
    assert snap.client is not None
    at = occurred(snap.changed_at, now)
    event: dict[str, Any] = {
        "event_id": event_id(system, company_id, "record", snap.id, kind),
        "occurred_at": at.isoformat(),
        "location_id": location_id,
        "visit_id": str(snap.id),
        "client": client(snap.client, phone),
        "scheduled_at": (snap.starts_at or at).isoformat(),
        "services": [{"service_id": str(s.service_id)} for s in snap.services],
    }
    if kind == "cancelled":
        event["cancelled_at"] = at.isoformat()
    return event


def paid_by_membership(snap: Record, transactions: list[dict[str, Any]]) -> dict[int, int]:
    """service id -> the membership (their abonement id) that paid it on this record, from the visit's
    loyalty transactions."""
    found: dict[int, int] = {}
    for t in transactions:
        if not isinstance(t, dict) or integer(t.get("type_id")) != ABONEMENT_USE:
            continue
        record_id, service_id, abonement = (
            integer(t.get("item_record_id")),
            integer(t.get("item_id")),
            integer(t.get("abonement_id")),
        )
        if service_id and abonement and record_id in (None, 0, snap.id):
            found.setdefault(service_id, abonement)
    return found


def booking_chain(transactions: list[dict[str, Any]]) -> int | None:
    """Their chain (salon group) id, which their membership lookups need."""
    return next((g for t in transactions if isinstance(t, dict) and (g := integer(t.get("salon_group_id")))), None)


def paid_event(
    system: str,
    company_id: int,
    location_id: str,
    snap: Record,
    phone: str | None,
    now: datetime,
    categories: dict[int, str | None],
    codes: dict[int, str],
) -> dict[str, Any]:
    """`codes`: service id -> the code of the membership that paid it."""
    assert snap.client is not None
    lines = []
    for s in snap.services:
        line: dict[str, Any] = {
            "kind": "service",
            "item_id": str(s.service_id),
            "category_id": categories.get(s.service_id),
            "quantity": s.quantity,
            "sold": str(s.sold),
            "paid": str(s.paid),
        }
        if (code := codes.get(s.service_id)) is not None:
            line["membership"] = {"code": code}
        lines.append(line)
    return {
        "event_id": event_id(system, company_id, "record", snap.id, "paid"),
        "occurred_at": occurred(snap.changed_at, now).isoformat(),
        "location_id": location_id,
        "visit_id": str(snap.id),
        "client": client(snap.client, phone),
        "loyalty_card_id": None,
        "bonus_spent": "0",
        "lines": lines,
    }


def membership_sold(
    system: str,
    company_id: int,
    location_id: str,
    sale: GoodsSale,
    type_id: str,
    code: str,
    phone: str | None,
    now: datetime,
) -> dict[str, Any]:
    assert sale.client is not None
    return {
        "event_id": event_id(system, company_id, "goods_operations_sale", sale.id, "sold"),
        "occurred_at": occurred(sale.changed_at, now).isoformat(),
        "location_id": location_id,
        "sale_id": f"{system}:{company_id}:{sale.id}",
        "membership_type_id": type_id,
        "code": code,
        "client": client(sale.client, phone),
        "price": str(max(sale.price, Decimal("0"))),
    }


def sold_membership(
    abonements: list[dict[str, Any]], abonement_id: int | None, type_id: int | None
) -> dict[str, Any] | None:
    """Of the client's memberships as their API lists them, the one meant: by its id when the sale (or the
    visit's transaction) names it, else the client's newest of the product's type; {"code", "type_id"}."""
    found = [
        a
        for a in abonements
        if (
            integer(a.get("id")) == abonement_id
            if abonement_id
            else integer((a.get("type") or {}).get("id")) == type_id
        )
    ]
    if not found:
        return None
    a = max(found, key=lambda x: integer(x.get("created_date")) or 0)
    number = text(a.get("number"))
    return {"code": number, "type_id": integer((a.get("type") or {}).get("id"))} if number else None


def text(value: Any) -> str | None:
    return None if value in (None, "", 0, []) else str(value)[:128]
