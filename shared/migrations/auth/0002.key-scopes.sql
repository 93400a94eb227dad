-- A key gets an id (shown at creation and by list-keys: revoking by it is never ambiguous, as a
-- 10-character prefix may be), scopes (read: GET routes; write: the other business routes; admin:
-- running jobs, the operator's) and an optional expiry.
-- Keys made before scopes existed keep what booking systems and back offices use them for, read and
-- write, but none of them runs a job any more: an operator makes an admin key for that.
ALTER TABLE api_keys
    ADD COLUMN id         uuid        NOT NULL DEFAULT gen_random_uuid(),
    ADD COLUMN scopes     text[]      NOT NULL DEFAULT '{read,write}',
    ADD COLUMN expires_at timestamptz,
    ADD CONSTRAINT api_keys_scopes CHECK (cardinality(scopes) > 0 AND scopes <@ '{read,write,admin}');
-- From now on every key says its scopes (shared/auth.py).
ALTER TABLE api_keys ALTER COLUMN scopes DROP DEFAULT;
CREATE UNIQUE INDEX api_keys_id ON api_keys (id);
CREATE INDEX api_keys_prefix ON api_keys (prefix);
