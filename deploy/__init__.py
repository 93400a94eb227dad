"""Local stack: the Kafka broker and PostgreSQL server, the service processes, and the demo."""
