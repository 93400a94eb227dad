-- Gift card types, gift cards, client accounts and their ledgers (schema "wallet").

CREATE TABLE gift_card_types (
    id                 uuid          PRIMARY KEY,
    chain_id           text          NOT NULL,
    name               text          NOT NULL,
    par_value          numeric(14,2) NOT NULL CHECK (par_value >= 0),
    write_off          text          NOT NULL CHECK (write_off IN ('single', 'multiple')),
    archived           boolean       NOT NULL DEFAULT false,
    allow_without_code boolean       NOT NULL DEFAULT false,
    online_sale        boolean       NOT NULL DEFAULT true,
    location_ids       text[]        NOT NULL DEFAULT '{}',
    limits             jsonb         NOT NULL,
    validity           jsonb         NOT NULL,
    created_at         timestamptz   NOT NULL DEFAULT now(),
    updated_at         timestamptz   NOT NULL DEFAULT now()
);
CREATE INDEX gift_card_types_chain ON gift_card_types (chain_id, archived, name);

CREATE TABLE gift_cards (
    id          uuid          PRIMARY KEY,
    chain_id    text          NOT NULL,
    type_id     uuid          NOT NULL REFERENCES gift_card_types (id),
    code        text,
    sale_id     text          NOT NULL,
    client_id   text          NOT NULL,  -- the buyer
    holder_id   text,
    phone       text,                    -- E.164 of the holder (else the buyer): a no-code card binds to it
    client      jsonb         NOT NULL,  -- the buyer as the sale gave it
    holder      jsonb,
    location_id text          NOT NULL,  -- where it was sold
    price       numeric(14,2) NOT NULL,
    -- The last guard against an overdraft: whatever the code does, no card holds less than nothing.
    balance     numeric(14,2) NOT NULL CHECK (balance >= 0),
    status      text          NOT NULL CHECK (status IN ('active', 'spent', 'expired')),
    sold_at     timestamptz   NOT NULL,
    valid_until timestamptz,
    updated_at  timestamptz   NOT NULL DEFAULT now(),
    UNIQUE (chain_id, sale_id)
);
-- Gift card codes are unique within the chain (their own namespace, apart from memberships'), case-insensitive.
CREATE UNIQUE INDEX gift_cards_code ON gift_cards (chain_id, upper(code)) WHERE code IS NOT NULL;
CREATE INDEX gift_cards_client ON gift_cards (chain_id, client_id);
CREATE INDEX gift_cards_holder ON gift_cards (chain_id, holder_id);

CREATE TABLE gift_card_movements (
    id           bigserial     PRIMARY KEY,
    chain_id     text          NOT NULL,
    gift_card_id uuid          NOT NULL REFERENCES gift_cards (id),
    at           timestamptz   NOT NULL,
    kind         text          NOT NULL,  -- issue, charge, refund, adjust, expire
    amount       numeric(14,2) NOT NULL,  -- signed: what the balance changed by
    balance      numeric(14,2) NOT NULL,  -- after
    location_id  text,
    visit_id     text,
    line         integer,
    source       text          NOT NULL,  -- event:<event_id> or user:<name>
    detail       jsonb         NOT NULL DEFAULT '{}'
);
CREATE INDEX gift_card_movements_card ON gift_card_movements (gift_card_id, id);

-- One account per (chain, client): the chain holds the money; every movement names its location.
CREATE TABLE wallet_settings (
    chain_id     text    PRIMARY KEY,
    allow_credit boolean NOT NULL DEFAULT false
);

CREATE TABLE accounts (
    chain_id     text          NOT NULL,
    client_id    text          NOT NULL,
    balance      numeric(14,2) NOT NULL DEFAULT 0,
    credit_limit numeric(14,2) NOT NULL DEFAULT 0 CHECK (credit_limit >= 0),
    updated_at   timestamptz   NOT NULL DEFAULT now(),
    PRIMARY KEY (chain_id, client_id),
    -- The last guard: never below the client's credit limit (0 unless the chain allows credit and set one).
    CHECK (balance >= -credit_limit)
);

CREATE TABLE account_movements (
    id          bigserial     PRIMARY KEY,
    chain_id    text          NOT NULL,
    client_id   text          NOT NULL,
    at          timestamptz   NOT NULL,
    kind        text          NOT NULL,  -- top_up, charge, refund, adjust
    amount      numeric(14,2) NOT NULL,  -- signed
    balance     numeric(14,2) NOT NULL,  -- after
    location_id text,
    visit_id    text,
    line        integer,
    source      text          NOT NULL,  -- event:<event_id>, deposit:<deposit_id>, user:<name>
    -- A top-up once per deposit id or desk Idempotency-Key.
    once_key    text,
    detail      jsonb         NOT NULL DEFAULT '{}',
    FOREIGN KEY (chain_id, client_id) REFERENCES accounts (chain_id, client_id)
);
CREATE INDEX account_movements_client ON account_movements (chain_id, client_id, at, id);
CREATE UNIQUE INDEX account_movements_once ON account_movements (chain_id, once_key) WHERE once_key IS NOT NULL;

-- What each visit's instrument payment took: once per (visit, line, n-th payment of the line); a refund
-- gives back exactly `taken` (a single write-off card: its whole balance) and marks it.
CREATE TABLE visit_payments (
    chain_id     text          NOT NULL,
    visit_id     text          NOT NULL,
    line         integer       NOT NULL,
    n            integer       NOT NULL,
    instrument   text          NOT NULL,
    gift_card_id uuid          REFERENCES gift_cards (id),
    client_id    text,
    amount       numeric(14,2) NOT NULL,  -- what the visit said
    taken        numeric(14,2) NOT NULL,  -- what left the instrument
    location_id  text          NOT NULL,
    paid_at      timestamptz   NOT NULL,
    refunded_at  timestamptz,
    PRIMARY KEY (chain_id, visit_id, line, n)
);
