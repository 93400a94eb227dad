"""Rows to domain objects and back."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import asyncpg

from services.memberships.domain import Membership, MembershipType, Status, TypeService, Validity


def type_from_row(row: asyncpg.Record) -> MembershipType:
    spec = row["spec"]
    return MembershipType(
        id=str(row["id"]),
        chain_id=row["chain_id"],
        name=row["name"],
        price=row["price"],
        archived=row["archived"],
        balance=spec["balance"],
        services=tuple(TypeService(s["service_id"], s.get("category_id"), s.get("visits")) for s in spec["services"]),
        total_visits=spec.get("total_visits"),
        validity=Validity(**spec["validity"]),
        auto_activation_days=spec.get("auto_activation_days"),
        freeze_allowed=spec["freeze"]["allowed"],
        freeze_max_days=spec["freeze"]["max_days"],
        allow_without_code=spec["allow_without_code"],
        recalculate_service_cost=spec["recalculate_service_cost"],
        editing=spec["editing"],
        online_sale=spec["online_sale"],
        location_ids=tuple(spec["location_ids"]),
        notify_days_before_expiry=spec.get("notify_days_before_expiry"),
        notify_visits_left=spec.get("notify_visits_left"),
    )


def spec_of(t: MembershipType) -> dict[str, Any]:
    return {
        "balance": t.balance,
        "services": [asdict(s) for s in t.services],
        "total_visits": t.total_visits,
        "validity": asdict(t.validity),
        "auto_activation_days": t.auto_activation_days,
        "freeze": {"allowed": t.freeze_allowed, "max_days": t.freeze_max_days},
        "allow_without_code": t.allow_without_code,
        "recalculate_service_cost": t.recalculate_service_cost,
        "editing": t.editing,
        "online_sale": t.online_sale,
        "location_ids": list(t.location_ids),
        "notify_days_before_expiry": t.notify_days_before_expiry,
        "notify_visits_left": t.notify_visits_left,
    }


def membership_from_row(row: asyncpg.Record) -> Membership:
    return Membership(
        id=str(row["id"]),
        chain_id=row["chain_id"],
        type_id=str(row["type_id"]),
        code=row["code"],
        client_id=row["client_id"],
        phone=row["phone"],
        location_id=row["location_id"],
        status=Status(row["status"]),
        balance=dict(row["balance"]),
        price=row["price"],
        sold_at=row["sold_at"],
        activated_at=row["activated_at"],
        valid_until=row["valid_until"],
        client_name=row["client_name"],
        frozen_from=row["frozen_from"],
        frozen_until=row["frozen_until"],
        freeze_days_used=row["freeze_days_used"],
    )
