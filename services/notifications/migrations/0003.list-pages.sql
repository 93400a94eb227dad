-- GET /notifications answers pages by keyset (shared/paging.py), the latest first: read from this index.
CREATE INDEX notices_page ON notices (chain_id, created_at DESC, id);
