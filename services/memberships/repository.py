"""All SQL of the memberships service. Every query is scoped by chain_id."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg

from services.memberships.domain import Membership, MembershipType, Status, TypeService, Validity


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def type_from_row(row: asyncpg.Record) -> MembershipType:
    spec = row["spec"]
    return MembershipType(
        id=str(row["id"]), chain_id=row["chain_id"], name=row["name"], price=row["price"],
        archived=row["archived"], balance=spec["balance"],
        services=tuple(TypeService(s["service_id"], s.get("category_id"), s.get("visits"))
                       for s in spec["services"]),
        total_visits=spec.get("total_visits"),
        validity=Validity(**spec["validity"]),
        auto_activation_days=spec.get("auto_activation_days"),
        freeze_allowed=spec["freeze"]["allowed"], freeze_max_days=spec["freeze"]["max_days"],
        allow_without_code=spec["allow_without_code"],
        recalculate_service_cost=spec["recalculate_service_cost"], editing=spec["editing"],
        online_sale=spec["online_sale"], location_ids=tuple(spec["location_ids"]),
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
    }


def membership_from_row(row: asyncpg.Record) -> Membership:
    return Membership(
        id=str(row["id"]), chain_id=row["chain_id"], type_id=str(row["type_id"]), code=row["code"],
        client_id=row["client_id"], phone=row["phone"], location_id=row["location_id"],
        status=Status(row["status"]), balance=dict(row["balance"]), price=row["price"],
        sold_at=row["sold_at"], activated_at=row["activated_at"], valid_until=row["valid_until"],
    )


class Repository:
    def __init__(self, conn: asyncpg.Connection, chain_id: str) -> None:
        self.conn = conn
        self.chain_id = chain_id

    # --- types ---

    async def add_type(self, t: MembershipType) -> None:
        await self.conn.execute(
            "INSERT INTO membership_types (id, chain_id, name, price, archived, spec) VALUES ($1,$2,$3,$4,$5,$6)",
            uuid.UUID(t.id), self.chain_id, t.name, t.price, t.archived, spec_of(t),
        )

    async def get_type(self, type_id: str) -> MembershipType | None:
        tid = _uuid(type_id)
        if tid is None:
            return None
        row = await self.conn.fetchrow(
            "SELECT * FROM membership_types WHERE chain_id = $1 AND id = $2", self.chain_id, tid
        )
        return type_from_row(row) if row else None

    async def list_types(self, archived: bool) -> list[MembershipType]:
        rows = await self.conn.fetch(
            "SELECT * FROM membership_types WHERE chain_id = $1 AND archived = $2 ORDER BY name, id",
            self.chain_id, archived,
        )
        return [type_from_row(r) for r in rows]

    # --- memberships ---

    async def add_membership(self, m: Membership, sale_id: str) -> bool:
        """Inserts a sold membership; False when its code is already taken in the chain."""
        inserted = await self.conn.fetchval(
            """INSERT INTO memberships (id, chain_id, type_id, code, sale_id, client_id, phone, location_id,
                   status, balance, price, sold_at, activated_at, valid_until)
               VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)
               ON CONFLICT DO NOTHING RETURNING true""",
            uuid.UUID(m.id), self.chain_id, uuid.UUID(m.type_id), m.code, sale_id, m.client_id, m.phone,
            m.location_id, m.status.value, m.balance, m.price, m.sold_at, m.activated_at, m.valid_until,
        )
        if inserted:
            await self.conn.execute(
                "UPDATE membership_types SET sold_count = sold_count + 1 WHERE id = $1", uuid.UUID(m.type_id)
            )
        return bool(inserted)

    async def code_taken(self, code: str) -> bool:
        return bool(await self.conn.fetchval(
            "SELECT true FROM memberships WHERE chain_id = $1 AND upper(code) = upper($2)", self.chain_id, code
        ))

    async def get(self, code_or_id: str, *, lock: bool = False) -> Membership | None:
        """By id (a UUID) or by code; `lock` takes the row lock that serializes deductions."""
        suffix = " FOR UPDATE" if lock else ""
        mid = _uuid(code_or_id)
        if mid is not None:
            row = await self.conn.fetchrow(
                "SELECT * FROM memberships WHERE chain_id = $1 AND id = $2" + suffix, self.chain_id, mid
            )
            if row:
                return membership_from_row(row)
        row = await self.conn.fetchrow(
            "SELECT * FROM memberships WHERE chain_id = $1 AND upper(code) = upper($2)" + suffix,
            self.chain_id, code_or_id,
        )
        return membership_from_row(row) if row else None

    async def find(self, client_id: str | None, phone: str | None) -> list[Membership]:
        rows = await self.conn.fetch(
            """SELECT * FROM memberships WHERE chain_id = $1
                 AND ($2::text IS NULL OR client_id = $2) AND ($3::text IS NULL OR phone = $3)
               ORDER BY sold_at DESC, id""",
            self.chain_id, client_id, phone,
        )
        return [membership_from_row(r) for r in rows]

    async def save(self, m: Membership) -> None:
        await self.conn.execute(
            """UPDATE memberships SET status = $3, balance = $4, activated_at = $5, valid_until = $6,
                   updated_at = now() WHERE chain_id = $1 AND id = $2""",
            self.chain_id, uuid.UUID(m.id), m.status.value, m.balance, m.activated_at, m.valid_until,
        )

    async def record(self, m: Membership, kind: str, at: datetime, *, visit_id: str | None = None,
                     service_id: str | None = None, units: int | None = None,
                     service_cost: Decimal | None = None, detail: dict[str, Any] | None = None) -> None:
        await self.conn.execute(
            """INSERT INTO membership_history (chain_id, membership_id, at, kind, visit_id, service_id, units,
                   service_cost, balance, detail) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)""",
            self.chain_id, uuid.UUID(m.id), at, kind, visit_id, service_id, units, service_cost, m.balance,
            detail or {},
        )

    async def history(self, membership_id: str) -> list[asyncpg.Record]:
        return await self.conn.fetch(  # type: ignore[no-any-return]
            """SELECT at, kind, visit_id, service_id, units, service_cost, balance, detail
               FROM membership_history WHERE chain_id = $1 AND membership_id = $2 ORDER BY id""",
            self.chain_id, uuid.UUID(membership_id),
        )
