-- Membership types, sold memberships and their history (schema "memberships").

CREATE TABLE membership_types (
    id         uuid          PRIMARY KEY,
    chain_id   text          NOT NULL,
    name       text          NOT NULL,
    price      numeric(14,2) NOT NULL,
    archived   boolean       NOT NULL DEFAULT false,
    -- The rest of the definition (balance, services, validity, freeze, ...), as the API gives it.
    spec       jsonb         NOT NULL,
    sold_count integer       NOT NULL DEFAULT 0,
    created_at timestamptz   NOT NULL DEFAULT now(),
    updated_at timestamptz   NOT NULL DEFAULT now()
);
CREATE INDEX membership_types_chain ON membership_types (chain_id, archived, name);

CREATE TABLE memberships (
    id           uuid          PRIMARY KEY,
    chain_id     text          NOT NULL,
    type_id      uuid          NOT NULL REFERENCES membership_types (id),
    code         text,
    sale_id      text          NOT NULL,
    client_id    text          NOT NULL,
    phone        text,
    location_id  text          NOT NULL,
    status       text          NOT NULL,
    balance      jsonb         NOT NULL,
    price        numeric(14,2) NOT NULL,
    sold_at      timestamptz   NOT NULL,
    activated_at timestamptz,
    valid_until  timestamptz,
    updated_at   timestamptz   NOT NULL DEFAULT now(),
    UNIQUE (chain_id, sale_id)
);
-- A code is unique within its chain (codes are case-insensitive: what a cashier types).
CREATE UNIQUE INDEX memberships_code ON memberships (chain_id, upper(code)) WHERE code IS NOT NULL;
CREATE INDEX memberships_client ON memberships (chain_id, client_id);
CREATE INDEX memberships_phone ON memberships (chain_id, phone);

CREATE TABLE membership_history (
    id            bigserial     PRIMARY KEY,
    chain_id      text          NOT NULL,
    membership_id uuid          NOT NULL REFERENCES memberships (id),
    at            timestamptz   NOT NULL,
    kind          text          NOT NULL,  -- sale, deduction, freeze, unfreeze, edit, expiry, ...
    visit_id      text,
    service_id    text,
    units         integer,
    service_cost  numeric(14,2),
    balance       jsonb         NOT NULL,
    detail        jsonb         NOT NULL DEFAULT '{}'
);
CREATE INDEX membership_history_membership ON membership_history (membership_id, id);
