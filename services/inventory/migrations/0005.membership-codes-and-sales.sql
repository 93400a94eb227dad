-- Membership products are stocked like any product (no schema change: their lines now move stock).

-- The membership codes in use in each chain, as inventory knows them: claimed by its own sales when they
-- are recorded (a desk sale of a code another sale holds answers 409 code_taken), and held for good by the
-- sale of every issued membership (`membership.issued`: imports and booking systems' sales too). Codes
-- compare as the memberships service compares them: upper(code).
CREATE TABLE membership_codes (
    chain_id text    NOT NULL,
    code_key text    NOT NULL,
    sale_id  text    NOT NULL,
    issued   boolean NOT NULL DEFAULT false,
    PRIMARY KEY (chain_id, code_key)
);
CREATE INDEX membership_codes_sale ON membership_codes (chain_id, sale_id);

-- Each membership unit an operation sold (its sale id: `inventory:<op or visit>:<line>:<unit>`), its share
-- of the line's amount, and whether it was refused (up front, or by `membership.issue_rejected`): a
-- rejection finds its operation line here, and is applied once.
CREATE TABLE membership_sales (
    chain_id       text          NOT NULL,
    sale_id        text          NOT NULL,
    operation_id   uuid          NOT NULL,
    line           integer       NOT NULL,
    unit           integer       NOT NULL,
    amount         numeric(14,2) NOT NULL,
    refused_reason text,
    refused_at     timestamptz,
    PRIMARY KEY (chain_id, sale_id)
);
