-- An operation's id is its chain's own, like every other id: a retry id a client gives
-- (`POST /operations {"id"}`) that one chain has used neither refuses nor reveals the same id in another.
ALTER TABLE operations DROP CONSTRAINT operations_pkey;
ALTER TABLE operations ADD PRIMARY KEY (chain_id, id);
