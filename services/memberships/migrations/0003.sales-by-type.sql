-- "Has this type been sold?" is answered from the memberships themselves (an index lookup) instead
-- of a counter on the type row, which every sale had to lock and update.
CREATE INDEX memberships_type ON memberships (chain_id, type_id);
ALTER TABLE membership_types DROP COLUMN sold_count;
