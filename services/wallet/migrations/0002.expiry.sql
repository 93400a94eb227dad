-- The expiry jobs: which cards are due, and the end a card was last told about (an edit of its validity
-- re-arms the notice).
ALTER TABLE gift_cards ADD COLUMN expiring_noticed_for timestamptz;
CREATE INDEX gift_cards_due ON gift_cards (valid_until) WHERE status = 'active' AND valid_until IS NOT NULL;
