-- GET /cards answers pages by keyset (shared/paging.py), in the order cards were issued: read from this index.
CREATE INDEX cards_page ON cards (chain_id, issued_at, id);
