-- GET /memberships answers pages by keyset (shared/paging.py), the latest sold first: read from this index.
CREATE INDEX memberships_page ON memberships (chain_id, sold_at DESC, id);
