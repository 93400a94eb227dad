"""Client accounts, their ledger, and the chain's wallet settings."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg

from services.wallet.domain import Account
from services.wallet.repository.rows import account_from_row
from shared.paging import Page


class AccountQueries:
    conn: asyncpg.Connection
    chain_id: str

    async def allow_credit(self) -> bool:
        found = await self.conn.fetchval("SELECT allow_credit FROM wallet_settings WHERE chain_id = $1", self.chain_id)
        return bool(found)

    async def set_allow_credit(self, allow: bool) -> None:
        await self.conn.execute(
            """INSERT INTO wallet_settings (chain_id, allow_credit) VALUES ($1, $2)
               ON CONFLICT (chain_id) DO UPDATE SET allow_credit = EXCLUDED.allow_credit""",
            self.chain_id,
            allow,
        )

    async def get_account(self, client_id: str) -> Account | None:
        row = await self.conn.fetchrow(
            "SELECT * FROM accounts WHERE chain_id = $1 AND client_id = $2", self.chain_id, client_id
        )
        return account_from_row(row) if row else None

    async def lock_accounts(self, client_ids: list[str]) -> dict[str, Account]:
        """Each client's account (opened at 0 when it had none), locked in the order of the client ids."""
        wanted = sorted(set(client_ids))
        await self.conn.execute(
            """INSERT INTO accounts (chain_id, client_id) SELECT $1, unnest($2::text[])
               ON CONFLICT (chain_id, client_id) DO NOTHING""",
            self.chain_id,
            wanted,
        )
        rows = await self.conn.fetch(
            """SELECT * FROM accounts WHERE chain_id = $1 AND client_id = ANY($2::text[])
               ORDER BY client_id FOR UPDATE""",
            self.chain_id,
            wanted,
        )
        return {r["client_id"]: account_from_row(r) for r in rows}

    async def save_account(self, account: Account) -> None:
        await self.conn.execute(
            """UPDATE accounts SET balance = $3, credit_limit = $4, updated_at = now()
               WHERE chain_id = $1 AND client_id = $2""",
            self.chain_id,
            account.client_id,
            account.balance,
            account.credit_limit,
        )

    async def save_accounts(self, accounts: list[Account]) -> None:
        await self.conn.executemany(
            """UPDATE accounts SET balance = $3, credit_limit = $4, updated_at = now()
               WHERE chain_id = $1 AND client_id = $2""",
            [(self.chain_id, a.client_id, a.balance, a.credit_limit) for a in accounts],
        )

    async def add_account_movements(self, rows: list[tuple[Any, ...]]) -> None:
        """(client_id, at, kind, amount, balance, location_id, visit_id, line, source, once_key, detail)."""
        await self.conn.executemany(
            """INSERT INTO account_movements (chain_id, client_id, at, kind, amount, balance, location_id, visit_id,
                   line, source, once_key, detail)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)""",
            [(self.chain_id, *r) for r in rows],
        )

    async def movements_once(self, once_keys: list[str]) -> set[str]:
        """Which of `once_keys` a movement of the chain already holds."""
        rows = await self.conn.fetch(
            "SELECT once_key FROM account_movements WHERE chain_id = $1 AND once_key = ANY($2::text[])",
            self.chain_id,
            once_keys,
        )
        return {r["once_key"] for r in rows}

    async def add_account_movement(
        self,
        account: Account,
        *,
        at: datetime,
        kind: str,
        amount: Decimal,
        source: str,
        location_id: str | None = None,
        visit_id: str | None = None,
        line: int | None = None,
        once_key: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> asyncpg.Record:
        return await self.conn.fetchrow(
            """INSERT INTO account_movements (chain_id, client_id, at, kind, amount, balance, location_id, visit_id,
                   line, source, once_key, detail)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING *""",
            self.chain_id,
            account.client_id,
            at,
            kind,
            amount,
            account.balance,
            location_id,
            visit_id,
            line,
            source,
            once_key,
            detail or {},
        )

    async def movement_once(self, once_key: str) -> asyncpg.Record | None:
        return await self.conn.fetchrow(
            "SELECT * FROM account_movements WHERE chain_id = $1 AND once_key = $2", self.chain_id, once_key
        )

    async def account_movements(
        self, client_id: str, page: Page, since: datetime | None = None, until: datetime | None = None
    ) -> list[asyncpg.Record]:
        after_at, after_id = page.after(datetime, int)
        rows = await self.conn.fetch(
            """SELECT * FROM account_movements WHERE chain_id = $1 AND client_id = $2
                 AND ($3::timestamptz IS NULL OR at >= $3) AND ($4::timestamptz IS NULL OR at < $4)
                 AND ($5::timestamptz IS NULL OR (at, id) > ($5, $6::bigint))
               ORDER BY at, id LIMIT $7""",
            self.chain_id,
            client_id,
            since,
            until,
            after_at,
            after_id,
            page.fetch,
        )
        return page.cut(rows, lambda r: (r["at"], r["id"]))

    async def balance_at(self, client_id: str, at: datetime) -> Decimal:
        """The balance before `at`: the sum of the movements before it."""
        found = await self.conn.fetchval(
            "SELECT coalesce(sum(amount), 0) FROM account_movements WHERE chain_id = $1 AND client_id = $2 AND at < $3",
            self.chain_id,
            client_id,
            at,
        )
        return Decimal(found).quantize(Decimal("0.01"))

    async def period_totals(self, client_id: str, since: datetime, until: datetime) -> asyncpg.Record:
        return await self.conn.fetchrow(
            """SELECT coalesce(sum(amount) FILTER (WHERE amount > 0), 0) AS money_in,
                      coalesce(-sum(amount) FILTER (WHERE amount < 0), 0) AS money_out, count(*) AS movements
               FROM account_movements WHERE chain_id = $1 AND client_id = $2 AND at >= $3 AND at < $4""",
            self.chain_id,
            client_id,
            since,
            until,
        )
