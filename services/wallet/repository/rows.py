"""Rows <-> domain objects."""

from __future__ import annotations

from datetime import date
from typing import Any

import asyncpg

from services.wallet.domain import Account, GiftCard, GiftCardType, Limits, Validity


def limits_json(limits: Limits) -> dict[str, Any]:
    return {
        "applies_to": limits.applies_to,
        "service_ids": list(limits.service_ids),
        "category_ids": list(limits.category_ids),
    }


def validity_json(validity: Validity) -> dict[str, Any]:
    return {
        "kind": validity.kind,
        "until": validity.until.isoformat() if validity.until else None,
        "unit": validity.unit,
        "count": validity.count,
    }


def type_from_row(row: asyncpg.Record, prefix: str = "") -> GiftCardType:
    limits, validity = row[f"{prefix}limits"], row[f"{prefix}validity"]
    return GiftCardType(
        id=str(row[f"{prefix}id"]),
        chain_id=row["chain_id"],
        name=row[f"{prefix}name"],
        par_value=row[f"{prefix}par_value"],
        write_off=row[f"{prefix}write_off"],
        archived=row[f"{prefix}archived"],
        allow_without_code=row[f"{prefix}allow_without_code"],
        online_sale=row[f"{prefix}online_sale"],
        location_ids=tuple(row[f"{prefix}location_ids"]),
        limits=Limits(limits["applies_to"], tuple(limits["service_ids"]), tuple(limits["category_ids"])),
        validity=Validity(
            validity["kind"],
            date.fromisoformat(validity["until"]) if validity.get("until") else None,
            validity.get("unit"),
            validity.get("count"),
        ),
    )


# A card's columns and its type's (prefixed t_), for card_from_row.
CARD_COLUMNS = """c.*, t.id AS t_id, t.name AS t_name, t.par_value AS t_par_value, t.write_off AS t_write_off,
    t.archived AS t_archived, t.allow_without_code AS t_allow_without_code, t.online_sale AS t_online_sale,
    t.location_ids AS t_location_ids, t.limits AS t_limits, t.validity AS t_validity"""


def card_from_row(row: asyncpg.Record) -> GiftCard:
    return GiftCard(
        id=str(row["id"]),
        chain_id=row["chain_id"],
        type=type_from_row(row, "t_"),
        code=row["code"],
        sale_id=row["sale_id"],
        client_id=row["client_id"],
        holder_id=row["holder_id"],
        phone=row["phone"],
        location_id=row["location_id"],
        price=row["price"],
        balance=row["balance"],
        status=row["status"],
        sold_at=row["sold_at"],
        valid_until=row["valid_until"],
    )


def account_from_row(row: asyncpg.Record) -> Account:
    return Account(row["chain_id"], row["client_id"], row["balance"], row["credit_limit"])
