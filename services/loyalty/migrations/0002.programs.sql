-- The location program, the clients' computed state, the bonus program (card types, promotions,
-- cards, point lots, transactions) and the background recalculations started by saving a program.

CREATE TABLE clients (
    chain_id  text NOT NULL,
    client_id text NOT NULL,
    phone     text,
    name      text,
    PRIMARY KEY (chain_id, client_id)
);

CREATE INDEX visits_location_client ON visits (chain_id, location_id, client_id);

CREATE TABLE programs (
    chain_id    text        NOT NULL,
    location_id text        NOT NULL,
    spec        jsonb       NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (chain_id, location_id)
);

-- What the location program gave each client last time (what change events compare against).
CREATE TABLE client_loyalty (
    chain_id         text          NOT NULL,
    location_id      text          NOT NULL,
    client_id        text          NOT NULL,
    discount_percent numeric(5,2)  NOT NULL DEFAULT 0,
    level            text,
    categories       text[]        NOT NULL DEFAULT '{}',
    calculated_at    timestamptz,
    PRIMARY KEY (chain_id, location_id, client_id)
);

-- Saving a program recalculates every client of the location in pages, each its own transaction,
-- in the background; the cursor survives a restart (the inactivity job resumes what is left).
CREATE TABLE program_recalcs (
    id           bigserial   PRIMARY KEY,
    chain_id     text        NOT NULL,
    location_id  text        NOT NULL,
    status       text        NOT NULL DEFAULT 'running',  -- running, done, superseded
    cursor       text        NOT NULL DEFAULT '',
    clients_done integer     NOT NULL DEFAULT 0,
    changed      integer     NOT NULL DEFAULT 0,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz
);
CREATE INDEX program_recalcs_running ON program_recalcs (id) WHERE status = 'running';
CREATE INDEX program_recalcs_location ON program_recalcs (chain_id, location_id, id);

CREATE TABLE card_types (
    id           uuid        PRIMARY KEY,
    chain_id     text        NOT NULL,
    name         text        NOT NULL,
    location_ids text[]      NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX card_types_chain ON card_types (chain_id);

CREATE TABLE promotions (
    id         uuid        PRIMARY KEY,
    chain_id   text        NOT NULL,
    spec       jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX promotions_chain ON promotions (chain_id);

CREATE TABLE cards (
    id           uuid          PRIMARY KEY,
    chain_id     text          NOT NULL,
    card_type_id uuid          NOT NULL REFERENCES card_types (id),
    client_id    text          NOT NULL,
    phone        text,
    number       text          NOT NULL,
    balance      numeric(14,2) NOT NULL DEFAULT 0,
    issued_at    timestamptz   NOT NULL DEFAULT now(),
    UNIQUE (chain_id, number)
);
CREATE INDEX cards_client ON cards (chain_id, client_id);

-- Points accrued together; spending and write-offs take the oldest first, burning takes what is left.
CREATE TABLE bonus_lots (
    id           bigserial     PRIMARY KEY,
    chain_id     text          NOT NULL,
    card_id      uuid          NOT NULL REFERENCES cards (id),
    accrued_at   timestamptz   NOT NULL,
    amount       numeric(14,2) NOT NULL,
    remaining    numeric(14,2) NOT NULL,
    burns_at     timestamptz,
    notice_at    timestamptz,
    noticed_at   timestamptz,
    promotion_id uuid,
    visit_id     text
);
CREATE INDEX bonus_lots_card ON bonus_lots (card_id, accrued_at, id) WHERE remaining > 0;
CREATE INDEX bonus_lots_burn ON bonus_lots (chain_id, burns_at) WHERE remaining > 0;
CREATE INDEX bonus_lots_notice ON bonus_lots (chain_id, notice_at) WHERE remaining > 0 AND noticed_at IS NULL;

-- Every change of a card's balance: amount is signed (+ accrual, - spend / burn / write-off), so the
-- sum of a card's transactions is its balance.
CREATE TABLE card_transactions (
    id            bigserial     PRIMARY KEY,
    chain_id      text          NOT NULL,
    card_id       uuid          NOT NULL REFERENCES cards (id),
    at            timestamptz   NOT NULL,
    kind          text          NOT NULL,  -- accrual, spend, burn, manual
    amount        numeric(14,2) NOT NULL,
    balance_after numeric(14,2) NOT NULL,
    visit_id      text,
    promotion_id  uuid,
    location_id   text,
    reason        text
);
CREATE INDEX card_transactions_card ON card_transactions (card_id, id);
CREATE INDEX card_transactions_uses ON card_transactions (card_id, promotion_id) WHERE kind = 'accrual';
