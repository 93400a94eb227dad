"""Database rows read as domain objects, for the per-request repository and the batch loader alike
(programs and promotions are stored as jsonb specs, money in them as strings)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import asyncpg

from services.loyalty.domain import (
    CategoryRule,
    DiscountRule,
    InactiveRule,
    LevelRule,
    LoyaltyState,
    Manual,
    Program,
    Promotion,
    Tier,
)
from services.loyalty.domain.cards import Card, CardType
from services.loyalty.domain.discounts import AppliesTo
from services.loyalty.domain.expiry import DEFAULT_NOTICE_DAYS
from services.loyalty.domain.visits import VisitRow


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def program_from_spec(spec: dict[str, Any]) -> Program:
    cats = spec.get("category_rules") or {}
    on_status = cats.get("on_status") or {}
    return Program(
        discount_rules=tuple(
            DiscountRule(r["basis"], Decimal(r["from"]), Decimal(r["percent"])) for r in spec.get("discount_rules", [])
        ),
        discount_reset_after_days=spec.get("discount_reset_after_days"),
        level_rules=tuple(
            LevelRule(r["level"], _dec(r.get("sold_from")), _dec(r.get("paid_from")), r.get("visits_from"))
            for r in spec.get("level_rules", [])
        ),
        level_reset_after_days=spec.get("level_reset_after_days"),
        add_rules=tuple(CategoryRule(r["basis"], Decimal(r["from"]), r["category"]) for r in cats.get("add", [])),
        remove_rules=tuple(CategoryRule(r["basis"], Decimal(r["from"]), r["category"]) for r in cats.get("remove", [])),
        on_arrived=on_status.get("arrived"),
        on_no_show=on_status.get("no_show"),
        inactive_rules=tuple(InactiveRule(r["days"], r["category"]) for r in cats.get("inactive", [])),
        notify_discount_expiration=bool(spec.get("notify_discount_expiration")),
        discount_expiration_notice_days=spec.get("discount_expiration_notice_days") or DEFAULT_NOTICE_DAYS,
    )


def promotion_from_row(row: asyncpg.Record) -> Promotion:
    s = row["spec"]
    burn = s.get("burn_after") or {}
    start = s.get("history_start")
    return Promotion(
        id=str(row["id"]),
        name=s["name"],
        type=s["type"],
        card_type_ids=tuple(s.get("card_type_ids", [])),
        location_ids=tuple(s.get("location_ids", [])),
        percent=_dec(s.get("percent")),
        rules=tuple(Tier(Decimal(r["from"]), Decimal(r["percent"])) for r in s.get("rules", [])),
        history_source=s.get("history_source", "chain"),
        history_start=date.fromisoformat(start) if start else None,
        burn_after_n=burn.get("n"),
        burn_after_unit=burn.get("unit", "month"),
        burn_notice_days=s.get("burn_notice_days") or 0,
        every_nth_visit=s.get("every_nth_visit") or 1,
        max_uses=s.get("max_uses") or 0,
        rounding=s.get("rounding", "cents"),
        archived=bool(s.get("archived")),
        applies_to=_applies_to(s.get("applies_to")),
    )


def _applies_to(spec: dict[str, Any] | None) -> AppliesTo | None:
    if spec is None:
        return None
    return AppliesTo(
        tuple(spec.get("kinds") or AppliesTo.kinds),
        tuple(spec.get("category_ids") or ()),
        tuple(spec.get("item_ids") or ()),
    )


def card_from_row(row: asyncpg.Record) -> Card:
    return Card(
        str(row["id"]),
        str(row["card_type_id"]),
        row["client_id"],
        row["phone"],
        row["number"],
        row["balance"],
        row["issued_at"],
    )


def card_type_from_row(row: asyncpg.Record, prefix: str = "") -> CardType:
    """`prefix`: its columns' names begin with it (a card type read along with its card)."""
    return CardType(
        str(row[prefix + "id"]), row[prefix + "name"], tuple(row[prefix + "location_ids"]), row[prefix + "created_at"]
    )


# What a LoyaltyState reads from the client_loyalty table: what the client has, and what was set by hand.
STATE_COLUMNS = "discount_percent, level, categories, manual_discount_percent, manual_level, manual_categories"


def state_from_row(row: asyncpg.Record) -> LoyaltyState:
    cats = row["manual_categories"]
    manual = Manual(row["manual_discount_percent"], row["manual_level"], None if cats is None else tuple(cats))
    return LoyaltyState(row["discount_percent"], row["level"], tuple(row["categories"]), manual)


# What a VisitRow reads from the visits table.
VISIT_COLUMNS = "visit_id, location_id, client_id, sold, paid, paid_at, status, status_at, scheduled_at"


def visit_from_row(row: asyncpg.Record) -> VisitRow:
    return VisitRow(
        row["visit_id"],
        row["location_id"],
        row["client_id"],
        row["sold"],
        row["paid"],
        row["paid_at"],
        row["status"],
        row["status_at"],
        row["scheduled_at"],
    )
