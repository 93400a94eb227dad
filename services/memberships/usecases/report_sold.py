"""`GET /reports/memberships/sold`: the memberships sold, one row each (number, type, balance, status, valid
until, client, date and place of sale, cost, paid, visits used, amount debited, and the recalculated service
cost of a visit, for payroll), filtered by period, location, type and status; JSON pages or CSV."""

from __future__ import annotations

from decimal import Decimal

import asyncpg

from services.memberships.report_schemas import SoldRow
from services.memberships.repository import Repository, SoldFilter, membership_from_row
from shared.paging import Page

ZERO = Decimal("0.00")


async def sold_report(conn: asyncpg.Connection, chain_id: str, f: SoldFilter, page: Page) -> list[SoldRow]:
    repo = Repository(conn, chain_id)
    rows = await repo.sold(f, page)
    types = await repo.types_by_id({str(r["type_id"]) for r in rows}) if rows else {}
    answers = []
    for r in rows:
        m, t = membership_from_row(r), types[str(r["type_id"])]
        debited = r["debited"] if r["debited"] is not None else ZERO if t.recalculate_service_cost else None
        answers.append(
            SoldRow(
                membership_id=r["id"],
                code=m.code,
                membership_type_id=r["type_id"],
                type_name=r["type_name"],
                balance=m.balance,
                visits_left=m.visits_left,
                status=m.status.value,
                valid_until=m.valid_until,
                client_id=m.client_id,
                client_name=m.client_name,
                client_phone=m.phone,
                sold_at=m.sold_at,
                location_id=m.location_id,
                cost=r["cost"],
                paid=m.price,
                visits_used=r["visits_used"],
                debited=debited,
                service_cost=t.service_cost(),
            )
        )
    return answers
