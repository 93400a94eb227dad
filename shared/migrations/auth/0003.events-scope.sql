-- A fourth scope, `events`: a booking system's key, which may state visits and sales of its chain through
-- the gateway (POST /events/...) and nothing else (shared/auth.py).
ALTER TABLE api_keys DROP CONSTRAINT api_keys_scopes;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_scopes
    CHECK (cardinality(scopes) > 0 AND scopes <@ '{read,write,admin,events}');
