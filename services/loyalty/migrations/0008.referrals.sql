-- The referral program (issue 18): the chain's setting, the clients' referral codes, and one referral per
-- invitee (the first recorded referrer wins: the primary key), with its reward once the invitee's first
-- visit is paid.
CREATE TABLE referral_programs (
    chain_id                 text          PRIMARY KEY,
    enabled                  boolean       NOT NULL,
    invitee_discount_percent numeric(5,2)  NOT NULL,
    referrer_cashback        numeric(14,2) NOT NULL,
    card_type_id             uuid          NOT NULL REFERENCES card_types (id),
    updated_at               timestamptz   NOT NULL DEFAULT now()
);

-- A client's code, made on first ask, stable, unique in the chain (stored upper case).
CREATE TABLE referral_codes (
    chain_id   text        NOT NULL,
    client_id  text        NOT NULL,
    code       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (chain_id, client_id),
    UNIQUE (chain_id, code)
);

CREATE TABLE referrals (
    chain_id       text          NOT NULL,
    invitee_id     text          NOT NULL,
    invitee_phone  text,
    referrer_id    text          NOT NULL,
    source         text          NOT NULL,  -- api or visit
    code           text,                    -- the code it was recorded with, if any
    recorded_at    timestamptz   NOT NULL,
    first_visit_id text,                    -- the invitee's first paid visit, once paid
    first_paid_at  timestamptz,
    reward_status  text          NOT NULL DEFAULT 'pending',  -- pending, rewarded, no_card, program_disabled, balance_full
    reward_amount  numeric(14,2),
    reward_card_id uuid,
    PRIMARY KEY (chain_id, invitee_id)
);
-- The referrals report (GET /reports/referrals): a chain's referrals by the time they were recorded.
CREATE INDEX referrals_report ON referrals (chain_id, recorded_at, invitee_id);

-- A referrer is paid once per invitee's visit, whatever replays: a second referral accrual for the same
-- visit is refused by the database.
CREATE UNIQUE INDEX card_transactions_referral ON card_transactions (chain_id, visit_id) WHERE reason = 'referral';
