-- One source event may cause notices of two types on one channel (a gift card sold: the buyer's and the
-- holder's): a notice is recorded once per (source event, channel, type).
ALTER TABLE notices DROP CONSTRAINT notices_chain_id_source_event_id_channel_key;
ALTER TABLE notices ADD CONSTRAINT notices_once UNIQUE (chain_id, source_event_id, channel, type);
