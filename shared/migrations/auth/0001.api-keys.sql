-- API keys, shared by the four services: a key belongs to one chain and is stored only as its SHA-256.
-- (The key itself is 32 random bytes, so a fast hash is enough: there is nothing to brute-force.)
CREATE TABLE api_keys (
    key_hash   text        PRIMARY KEY,
    prefix     text        NOT NULL,
    chain_id   text        NOT NULL,
    name       text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
CREATE INDEX api_keys_chain ON api_keys (chain_id);
