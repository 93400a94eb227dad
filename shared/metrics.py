"""Prometheus metrics every service exposes on /metrics.

deploy/observability/ holds a Grafana dashboard and Prometheus alert rules built on them; every name they
use is checked against the services' /metrics (tests/unit/test_observability.py, tests/integration/
test_metrics_surface.py). Labels are bounded: services, topics, partitions, jobs, route templates (never
a raw path, an id or a chain), status codes. Nothing here is touched per consumed record beyond a batch's
counters: what the broker and the database know (lag, dead letters, backlog) is read on a timer.
"""

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
QUOTE_PARTS = Histogram(
    "perkstream_quote_part_seconds",
    "The gateway's checkout quote: how long each part's service took to answer, by outcome (ok; unavailable: "
    "failed, an error status, past QUOTE_PART_TIMEOUT_SECONDS or not a quote part)",
    ["part", "outcome"],
    buckets=(0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5),
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
OUTBOX_BACKLOG = Gauge(
    "perkstream_outbox_backlog_rows",
    "Rows waiting in the outbox, counted by the relay leader every few seconds (a count stops at 100000; "
    "0 on the processes that do not lead)",
    ["service"],
)
OUTBOX_LAG = Gauge(
    "perkstream_outbox_lag_seconds",
    "Age of the oldest unpublished outbox row, as the relay leader's last round saw it (0 on the others)",
    ["service"],
)
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
# --- read from the broker on a timer, by the relay leader only (shared/broker_metrics.py) ---------
CONSUMER_LAG = Gauge(
    "perkstream_consumer_lag",
    "Records of a partition the service's consumer group has not committed yet (end offset minus committed "
    "offset), reported by the relay leader only, for every partition of the topics the service consumes",
    ["service", "group", "topic", "partition"],
)
DLQ_DEPTH = Gauge(
    "perkstream_dlq_depth",
    "Dead letters a <topic>.dlq holds (end minus start offsets, across its partitions; they stay until "
    "TOPIC_DLQ_RETENTION_MS, redriven or not), reported by the relay leader of each service consuming <topic>",
    ["service", "topic"],
)
KAFKA_COLLECTED = Gauge(
    "perkstream_kafka_collected_timestamp_seconds",
    "When the relay leader last read the consumer lag and dead-letter depths from the broker (Unix time)",
    ["service"],
)

# --- scheduled jobs (shared/jobs.py) -------------------------------------------------------------
JOB_RUNS = Counter(
    "perkstream_job_runs_total",
    "Scheduled runs of a job on this process, by outcome: ok (every chain done), chains_failed (done, some "
    "chains failed and were skipped), failed (finding the chains failed), postponed (the database away)",
    ["service", "job", "outcome"],
)
JOB_LAST_SUCCESS = Gauge(
    "perkstream_job_last_success_timestamp_seconds",
    "When a scheduled run of the job last completed on this process (ok or chains_failed; Unix time)",
    ["service", "job"],
)
JOB_SECONDS = Histogram(
    "perkstream_job_run_seconds",
    "Duration of a completed scheduled run of a job, every chain",
    ["service", "job"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900),
)
JOB_INTERVAL = Gauge(
    "perkstream_job_interval_seconds",
    "How often the job is scheduled on this process (absent when the schedule is off: JOBS_ENABLED=false)",
    ["service", "job"],
)
JOB_CHAIN_FAILURES = Counter(
    "perkstream_job_chain_failures_total",
    "A scheduled job's run for one chain that failed and was skipped "
    "(the log's job_chain_failed says which chain and why)",
    ["service", "job"],
)

# --- HTTP (shared/http_metrics.py) ---------------------------------------------------------------
HTTP_REQUESTS = Counter(
    "perkstream_http_requests_total",
    "HTTP requests answered, by method, route template (/v1/chains/{chain_id}/...; <unmatched> off the "
    "routes) and status code",
    ["service", "method", "route", "status"],
)
HTTP_SECONDS = Histogram(
    "perkstream_http_request_seconds",
    "Time from a request's arrival to its response's last byte, by method and route template",
    ["service", "method", "route"],
)

# --- notifications -------------------------------------------------------------------------------
NOTICES = Counter(
    "perkstream_notices_total",
    "Notices that entered a status: queued or skipped as they are recorded (skipped too when a held one "
    "is released after its client opted out), sent, delivered or failed by an aggregator's receipt. "
    "Counted in the transaction: a batch replayed after a failure may count its notices again",
    ["channel", "status"],
)
