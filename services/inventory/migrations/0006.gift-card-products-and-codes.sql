-- Gift cards are sold as memberships are: a product per gift card type (and location) in the "Gift cards"
-- category, each unit its own sale with its own code.
ALTER TABLE products ADD COLUMN gift_card_type_id uuid;
CREATE UNIQUE INDEX products_gift_card ON products (chain_id, gift_card_type_id, coalesce(location_id, ''))
    WHERE gift_card_type_id IS NOT NULL;

-- The codes in use, per chain and kind: a gift card's codes are a namespace of their own, apart from the
-- memberships' (the wallet service issues them; a gift card and a membership may share a code).
ALTER TABLE membership_codes ADD COLUMN kind text NOT NULL DEFAULT 'membership';
ALTER TABLE membership_codes DROP CONSTRAINT membership_codes_pkey;
ALTER TABLE membership_codes ADD PRIMARY KEY (chain_id, kind, code_key);

-- The units sold: memberships' and gift cards' (their sale ids never meet: a line sells one kind).
ALTER TABLE membership_sales ADD COLUMN kind text NOT NULL DEFAULT 'membership';
