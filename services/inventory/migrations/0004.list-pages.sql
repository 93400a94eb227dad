-- The lists answer pages by keyset (shared/paging.py): each page starts after the last one's key, read
-- from an index in the list's own order, so page 1,000 of a long history costs what page 1 does.
CREATE INDEX operations_page ON operations (chain_id, occurred_at, number);
CREATE INDEX products_page ON products (chain_id, lower(name), (coalesce(location_id, '')), id);
CREATE INDEX storages_page ON storages (chain_id, location_id, name, id);
