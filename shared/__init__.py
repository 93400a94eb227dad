"""Code every Perkstream service uses, written once: settings, logging, the event contract,
the Kafka and PostgreSQL plumbing (inbox, outbox, DLQ), HTTP scaffolding and API-key auth."""
