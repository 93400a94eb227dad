-- Chain discount promotions (issue 18): each promotion discount a paid visit applied to a line, as
-- `visit.paid` said it (one row per visit line; a redelivered visit writes nothing twice). `refused`:
-- null when the promotion was the client's to have (it counts for max_uses), else why not (the money is
-- taken already: the row keeps it, flagged).
CREATE TABLE discount_uses (
    chain_id     text          NOT NULL,
    visit_id     text          NOT NULL,
    line         integer       NOT NULL,
    location_id  text          NOT NULL,
    client_id    text          NOT NULL,
    promotion_id uuid          NOT NULL,
    card_id      uuid,
    percent      numeric(5,2)  NOT NULL,
    amount       numeric(14,2) NOT NULL,
    refused      text,
    used_at      timestamptz   NOT NULL,
    PRIMARY KEY (chain_id, visit_id, line)
);
-- max_uses: the visits a promotion discounted on a card.
CREATE INDEX discount_uses_card ON discount_uses (chain_id, card_id, promotion_id) WHERE refused IS NULL;
