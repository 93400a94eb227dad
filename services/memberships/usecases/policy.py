"""The location's automatic-deduction policy (no-show, late cancellation), with per-service overrides."""

from typing import Any

import asyncpg

from services.memberships import domain
from services.memberships.repository import Repository


def policy_of(raw: dict[str, Any] | None) -> domain.DeductionPolicy:
    if not raw:
        return domain.DeductionPolicy()
    return domain.DeductionPolicy(
        no_show=raw.get("no_show", False),
        late_cancel_hours=raw.get("late_cancel_hours"),
        services={
            k: domain.ServicePolicy(v.get("no_show"), v.get("late_cancel"))
            for k, v in (raw.get("services") or {}).items()
        },
    )


async def put_policy(conn: asyncpg.Connection, chain_id: str, location_id: str, raw: dict[str, Any]) -> None:
    await Repository(conn, chain_id).put_policy(location_id, raw)


async def get_policy(conn: asyncpg.Connection, chain_id: str, location_id: str) -> dict[str, Any]:
    found = await Repository(conn, chain_id).policy(location_id)
    return found or {"no_show": False, "late_cancel_hours": None, "services": {}}
