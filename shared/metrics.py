"""Prometheus metrics every service exposes on /metrics."""

from prometheus_client import Counter, Gauge, Histogram

CONSUMED = Counter("perkstream_messages_consumed_total", "Messages taken from Kafka", ["service", "topic"])
PROCESSED = Counter("perkstream_messages_processed_total", "Messages applied", ["service", "topic"])
DUPLICATES = Counter("perkstream_messages_duplicate_total", "Messages already seen (inbox hit)", ["service", "topic"])
DEAD_LETTERED = Counter(
    "perkstream_messages_dlq_total",
    "Messages sent to <topic>.dlq, by reason (shared.consumer.Reason)",
    ["service", "topic", "reason"],
)
SQL_STATEMENTS = Counter(
    "perkstream_sql_statements_total",
    "SQL statements sent to PostgreSQL (round trips: a BEGIN, a query, an "
    "executemany's whole pipeline count one each), by the service's pools and its relay",
    ["service"],
)
PARTITIONS_ASSIGNED = Counter(
    "perkstream_consumer_assignments_total",
    "Partition assignments this process's consumer received (one per rebalance of its group that it took part in)",
    ["service"],
)
GATEWAY_EVENTS = Counter(
    "perkstream_gateway_events_total",
    "Events booking systems sent the gateway over HTTP, by topic and status "
    "(accepted: new, published; duplicate: sent before, answered as the first time)",
    ["topic", "status"],
)
GATEWAY_DELIVERIES = Counter(
    "perkstream_gateway_deliveries_total",
    "Booking systems' webhooks: received (pending, kept at once, duplicate) "
    "and applied (applied, ignored, kept, waiting for their API), by resource",
    ["resource", "outcome"],
)
INBOX_PRUNED = Counter("perkstream_inbox_pruned_total", "Inbox keys deleted past the replay window", ["service"])
BATCH_SECONDS = Histogram(
    "perkstream_batch_seconds", "Time to apply one consumed batch in one transaction", ["service", "topic"]
)
BATCH_RETRIES = Counter(
    "perkstream_batch_retries_total", "Batches retried after a transient failure", ["service", "topic"]
)
OUTBOX_PENDING = Gauge(
    "perkstream_outbox_pending", "Outbox rows the relay's last round found waiting (at most one batch)", ["service"]
)
OUTBOX_LAG = Gauge("perkstream_outbox_lag_seconds", "Age of the oldest unpublished outbox row", ["service"])
OUTBOX_PUBLISHED = Counter("perkstream_outbox_published_total", "Outbox rows published", ["service"])
OUTBOX_REFUSED = Counter(
    "perkstream_outbox_refused_total",
    "Outbox rows Kafka or the producer refused, set aside (by reason)",
    ["service", "reason"],
)
OUTBOX_REFUSED_ROWS = Gauge(
    "perkstream_outbox_refused_rows",
    "Rows in outbox_refused, waiting for an operator (python -m shared.admin outbox-refused)",
    ["service"],
)
OUTBOX_LEADER = Gauge(
    "perkstream_outbox_leader",
    "1 while this process holds its schema's relay lease (publishes its outbox)",
    ["service"],
)
JOB_CHAIN_FAILURES = Counter(
    "perkstream_job_chain_failures_total",
    "A scheduled job's run for one chain that failed and was skipped "
    "(the log's job_chain_failed says which chain and why)",
    ["service", "job"],
)
