"""Bearer API keys: each belongs to one chain and is stored only as its SHA-256.

`make key CHAIN=ch-1` (python -m shared.admin create-key) prints a new key once; `revoke-key` ends it.
A request without a valid key answers 401; a valid key on another chain's path answers 404, so a key
never learns whether another chain exists."""

from __future__ import annotations

import hashlib
import secrets
from typing import Annotated

import asyncpg
from fastapi import Depends, HTTPException, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

KEY_PREFIX = "psk_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def create_key(conn: asyncpg.Connection, chain_id: str, name: str = "") -> str:
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    await conn.execute(
        "INSERT INTO auth.api_keys (key_hash, prefix, chain_id, name) VALUES ($1, $2, $3, $4)",
        hash_key(key), key[:10], chain_id, name,
    )
    return key


async def revoke_key(conn: asyncpg.Connection, prefix: str) -> int:
    result = await conn.execute(
        "UPDATE auth.api_keys SET revoked_at = now() WHERE prefix = $1 AND revoked_at IS NULL", prefix
    )
    return int(result.split()[-1])


async def chain_of(pool: asyncpg.Pool, key: str) -> str | None:
    return await pool.fetchval(  # type: ignore[no-any-return]
        "SELECT chain_id FROM auth.api_keys WHERE key_hash = $1 AND revoked_at IS NULL", hash_key(key)
    )


_bearer = HTTPBearer(auto_error=False, description="An API key of the chain in the path")


async def require_chain(
    request: Request,
    chain_id: Annotated[str, Path(min_length=1, max_length=128)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(401, "missing bearer API key", headers={"WWW-Authenticate": "Bearer"})
    owner = await chain_of(request.app.state.pool, credentials.credentials)
    if owner is None:
        raise HTTPException(401, "invalid API key", headers={"WWW-Authenticate": "Bearer"})
    if owner != chain_id:
        raise HTTPException(404, "not found")
    return chain_id


# The chain a request acts for, authenticated: every chain-scoped route takes this.
ChainId = Annotated[str, Depends(require_chain)]
