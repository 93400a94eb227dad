"""Bearer API keys: each belongs to one chain, has scopes and maybe an expiry, and is stored only as its
SHA-256.

Scopes, each granting its own routes and nothing else (none implies another, so a key has exactly what
its holder needs):
- `read`: every GET route;
- `write`: every other business route (POST/PUT/PATCH/DELETE: types, cards, operations, settings...);
- `admin`: what only an operator does: `POST /jobs/{job}/run` (a job changes a whole chain as of a moment);
- `events`: what a booking system does through the gateway: `POST /events/{topic}` and `POST /events`
  (stating visits and sales of its chain; such a key reads and changes nothing else).

`make key CHAIN=ch-1` (python -m shared.admin create-key) prints a new key once (default scopes read and
write, no expiry; `--scopes read,write,admin`, `--expires-in-days N`), its id on stderr; `revoke-key --id`
ends it. A request without a valid key (none, wrong, revoked or expired) answers 401; a valid key on
another chain's path answers 404, so a key never learns whether another chain exists; a key of the chain
without the route's scope answers 403 `insufficient_scope`."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import asyncpg
from fastapi import Depends, HTTPException, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.errors import Forbidden

KEY_PREFIX = "psk_"
PREFIX_LENGTH = 10  # what list-keys shows of a key: psk_ and 6 characters
SCOPES = ("read", "write", "admin", "events")
DEFAULT_SCOPES = ("read", "write")  # a booking system's or a back office's key; jobs need admin
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def scopes_of(names: Iterable[str]) -> tuple[str, ...]:
    """The scopes named (in their canonical order), or ValueError naming an unknown one."""
    wanted = {n.strip() for n in names if n.strip()}
    unknown = wanted - set(SCOPES)
    if unknown or not wanted:
        raise ValueError(f"scopes must be some of {', '.join(SCOPES)}; got {', '.join(sorted(unknown)) or 'none'}")
    return tuple(s for s in SCOPES if s in wanted)


@dataclass(frozen=True)
class NewKey:
    id: uuid.UUID
    key: str  # shown once, never stored
    scopes: tuple[str, ...]
    expires_at: datetime | None


async def issue_key(
    conn: asyncpg.Connection,
    chain_id: str,
    name: str = "",
    scopes: Iterable[str] = DEFAULT_SCOPES,
    expires_at: datetime | None = None,
) -> NewKey:
    chosen = scopes_of(scopes)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    key_id = await conn.fetchval(
        """INSERT INTO auth.api_keys (key_hash, prefix, chain_id, name, scopes, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING id""",
        hash_key(key),
        key[:PREFIX_LENGTH],
        chain_id,
        name,
        list(chosen),
        expires_at,
    )
    return NewKey(key_id, key, chosen, expires_at)


async def create_key(
    conn: asyncpg.Connection,
    chain_id: str,
    name: str = "",
    scopes: Iterable[str] = DEFAULT_SCOPES,
    expires_at: datetime | None = None,
) -> str:
    return (await issue_key(conn, chain_id, name, scopes, expires_at)).key


async def revoke_key_id(conn: asyncpg.Connection, key_id: uuid.UUID) -> int:
    result = await conn.execute(
        "UPDATE auth.api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL", key_id
    )
    return int(result.split()[-1])


class AmbiguousPrefix(Exception):
    def __init__(self, prefix: str, ids: list[uuid.UUID]) -> None:
        super().__init__(
            f"{len(ids)} active keys start with {prefix}: {', '.join(map(str, ids))}; "
            "revoke one by its --id (list-keys shows them)"
        )
        self.ids = ids


async def revoke_key(conn: asyncpg.Connection, prefix: str) -> int:
    """Revokes the one active key with this prefix; refuses (AmbiguousPrefix) when more than one has it."""
    async with conn.transaction():
        ids = [
            r["id"]
            for r in await conn.fetch(
                "SELECT id FROM auth.api_keys WHERE prefix = $1 AND revoked_at IS NULL ORDER BY id FOR UPDATE", prefix
            )
        ]
        if len(ids) > 1:
            raise AmbiguousPrefix(prefix, ids)
        return await revoke_key_id(conn, ids[0]) if ids else 0


async def list_keys(conn: asyncpg.Connection, chain_id: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT id, prefix, name, scopes, created_at, expires_at, revoked_at,
                  coalesce(expires_at <= now(), false) AS expired
           FROM auth.api_keys WHERE chain_id = $1 ORDER BY created_at""",
        chain_id,
    )


@dataclass(frozen=True)
class KeyHolder:
    chain_id: str
    scopes: frozenset[str]
    expired: bool


async def holder_of(pool: asyncpg.Pool, key: str) -> KeyHolder | None:
    row = await pool.fetchrow(
        """SELECT chain_id, scopes, coalesce(expires_at <= now(), false) AS expired
           FROM auth.api_keys WHERE key_hash = $1 AND revoked_at IS NULL""",
        hash_key(key),
    )
    return KeyHolder(row["chain_id"], frozenset(row["scopes"]), row["expired"]) if row else None


_bearer = HTTPBearer(
    auto_error=False,
    description=(
        "An API key of the chain in the path, with the route's scope: `read` for GET, `write` for the other "
        "business routes, `admin` for running jobs, `events` for a booking system's events (the gateway)"
    ),
)


async def _authorize(
    request: Request, chain_id: str, credentials: HTTPAuthorizationCredentials | None, scope: str | None
) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(401, "missing bearer API key", headers={"WWW-Authenticate": "Bearer"})
    holder = await holder_of(request.app.state.pool, credentials.credentials)
    if holder is None:
        raise HTTPException(401, "invalid API key", headers={"WWW-Authenticate": "Bearer"})
    if holder.expired:
        raise HTTPException(401, "expired API key", headers={"WWW-Authenticate": "Bearer"})
    if holder.chain_id != chain_id:
        raise HTTPException(404, "not found")
    needed = scope or ("read" if request.method in READ_METHODS else "write")
    if needed not in holder.scopes:
        raise Forbidden(
            "insufficient_scope",
            f"this API key lacks the {needed!r} scope this route needs "
            f"(it has {', '.join(s for s in SCOPES if s in holder.scopes)})",
        )
    return chain_id


def _requiring(scope: str | None) -> Callable[..., Awaitable[str]]:
    """A route's dependency: the key's chain must be the path's, and the key must have `scope` (None: by
    the route's method, `read` for GET, `write` for the others)."""

    async def require(
        request: Request,
        chain_id: Annotated[str, Path(min_length=1, max_length=128)],
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> str:
        return await _authorize(request, chain_id, credentials, scope)

    return require


# The chain a request acts for, authenticated: every chain-scoped route takes one of these.
ChainId = Annotated[str, Depends(_requiring(None))]
AdminChainId = Annotated[str, Depends(_requiring("admin"))]
EventsChainId = Annotated[str, Depends(_requiring("events"))]
# A POST that changes nothing (the checkout quote and its parts): a key that may read may ask it.
ReadChainId = Annotated[str, Depends(_requiring("read"))]
