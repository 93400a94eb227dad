"""Local stack: the Kafka broker and PostgreSQL server, the four service processes, and the demo."""
