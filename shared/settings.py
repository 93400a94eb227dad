"""The one settings class. Every value comes from the environment (or `.env`); the defaults point at the
local stack that `make run` starts, so a user's KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL win."""

import os
from functools import lru_cache
from typing import Annotated, Literal

import phonenumbers
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_PORTS = {
    "memberships": 8001,
    "loyalty": 8002,
    "inventory": 8003,
    "notifications": 8004,
    "wallet": 8006,
    "gateway": 8005,
}
# The services that apply the booking systems' events (the gateway only takes them in over HTTP).
DOMAIN_SERVICES = ("memberships", "loyalty", "inventory", "notifications", "wallet")


class Settings(BaseSettings):
    # hide_input_in_errors: a refused setting is named, its value is not (a password must never be printed).
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", hide_input_in_errors=True)

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    # Static group membership (Kafka's KIP-345): a name of this replica's own that outlives its restarts (a
    # StatefulSet pod's name, say), unique among the replicas of a service. A replica back within
    # KAFKA_SESSION_TIMEOUT_MS takes its partitions back at once, without a rebalance of its group; one
    # that stays away leaves them idle that long. Empty: dynamic membership (each start and each stop
    # rebalances the group, every member pausing meanwhile).
    kafka_group_instance_id: str = ""
    kafka_session_timeout_ms: int = 10_000
    # Kafka security (README, "Kafka security"), for every Kafka client of the project (the services'
    # consumers and relays, shared.admin's create-topics and redrive, the demo, the bench): PLAINTEXT (the
    # local broker), SSL (TLS), SASL_PLAINTEXT or SASL_SSL (a managed Kafka). SASL: PLAIN, SCRAM-SHA-256 or
    # SCRAM-SHA-512 with a username and password (never logged). TLS: the CA file (PEM) that signed the
    # brokers' certificates (unset: the system's CAs), the broker's name checked against its certificate;
    # a client certificate and key (PEM) where the brokers ask for one (mutual TLS), the key's password if it
    # is encrypted. A combination that cannot work (SASL without a username, a TLS file with a protocol
    # without TLS, a file that is not there) is refused at start, naming the setting.
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    kafka_sasl_username: Annotated[str, Field(max_length=512)] = ""
    kafka_sasl_password: Annotated[SecretStr, Field(max_length=4096)] = SecretStr("")
    kafka_ssl_cafile: str = ""
    kafka_ssl_certfile: str = ""
    kafka_ssl_keyfile: str = ""
    kafka_ssl_key_password: Annotated[SecretStr, Field(max_length=4096)] = SecretStr("")
    database_url: str = "postgresql://postgres@127.0.0.1:55432/perkstream"

    http_host: str = "127.0.0.1"
    # Per-service port; 0 means "the service's default" (DEFAULT_PORTS).
    http_port: int = 0
    log_level: str = "INFO"

    # PostgreSQL connections of a process, in two pools, so that no HTTP load can take the connections the
    # consumers need: HTTP requests' (a request that finds none free within db_acquire_timeout_seconds
    # answers 503 with Retry-After), and the background work's: the consumer (one batch at a time), the
    # inbox pruning, scheduled jobs, workers such as loyalty's recalculation. The outbox relay has a
    # connection of its own besides. A process opens at most db_http_pool_size + db_work_pool_size + 2.
    db_http_pool_size: int = 10
    db_work_pool_size: int = 5
    db_acquire_timeout_seconds: float = 5
    # False: this process serves the HTTP API (its relay and jobs too, both leased) but never joins the
    # consumer group: HTTP replicas scaled apart from the event workers, answering on a quiet event loop
    # (README, "Operating Perkstream": the checkout quote's parts are served this way under load).
    consumer_enabled: bool = True
    # Records taken from Kafka per poll and processed in one transaction. A poll returns as soon as any
    # record is there; an empty one waits this long, then FastStream pauses as long again before the next
    # poll: a record that comes while the consumer is idle waits up to that pause (20 ms a hop, not 100).
    consumer_max_records: int = 500
    consumer_batch_timeout_ms: int = 20
    # One record's handling may take this long (a normal one takes milliseconds); one that overruns it this
    # many times (a lock it waits on, a statement that never ends) is dead-lettered as `timeout`.
    consumer_record_seconds: float = 10
    consumer_record_attempts: int = 3
    # An inbound event whose occurred_at is further ahead of this service's clock is dead-lettered as
    # `clock_skew` (a booking system's clock may drift a little, never by hours).
    consumer_max_clock_skew_seconds: float = 300
    # The inbox's replay window: a message redelivered within it is recognised (duplicate, or a reused
    # event_id); older keys are pruned, at most `inbox_prune_round_rows` a round, in batches.
    inbox_retention_days: float = 14
    inbox_prune_interval_seconds: float = 3600
    inbox_prune_batch_rows: int = 5000
    inbox_prune_round_rows: int = 200_000
    outbox_batch_size: int = 500
    # The relay wakes on pg_notify; this is the fallback poll when a notification is missed.
    outbox_poll_seconds: float = 1.0
    # The topics `python -m shared.admin create-topics` makes (README, "Kafka topics: durability"): this
    # many partitions (the most consumer processes of one service that have work), replicas of each
    # (production: 3) and in-sync replicas a write needs (acks=all; production: 2, so one broker may be
    # down; at most the replication factor). The local broker is one node: 1 and 1.
    topic_partitions: Annotated[int, Field(ge=1, le=1000)] = 6
    topic_replication_factor: Annotated[int, Field(ge=1, le=7)] = 1
    topic_min_insync_replicas: Annotated[int, Field(ge=1, le=7)] = 1
    # Retention in ms (-1: for ever; else at least an hour, so a value in seconds by mistake is refused):
    # of the topics (unset: the broker's default, 7 days in Kafka's own), and of the dead letters: 90 days,
    # time to notice, fix and redrive them (shared.admin redrive), bounded because they hold payloads
    # (phones, names) and a flood of bad messages must not fill the disks for ever.
    topic_retention_ms: int | None = None
    topic_dlq_retention_ms: int = 90 * 86_400_000
    # Time-driven jobs (expiry, burning, reminders...) run by themselves this often, for every chain.
    jobs_enabled: bool = True
    jobs_interval_seconds: float = 300
    # POST /jobs/{job}/run refuses an as_of later than now plus this (clocks drift a little; a job never
    # runs for the future: expiring or burning everything early is not a back-office action).
    jobs_as_of_skew_seconds: float = 300
    # Graceful shutdown (README, "How a message is handled", 4, Stopping): on SIGTERM a process stops taking
    # records, finishes the batch in hand and commits its offsets, leaves its consumer group (its partitions
    # move to the other replicas at once), lets its relay publish what is committed, and exits, all within
    # this many seconds of the signal (HTTP requests in progress get a third of it). Past the drain bound
    # (this less min(5 s, a quarter of it)) the batch in hand is cut short (rolled back, redelivered) and the
    # process exits with 1; a watchdog ends it at this bound whatever hangs. The orchestrator's grace before
    # SIGKILL must be longer: Kubernetes' terminationGracePeriodSeconds (default 30 s), compose's
    # stop_grace_period (default 10 s: set it to 30s).
    shutdown_grace_seconds: Annotated[float, Field(ge=1, le=600)] = 25

    # Tracing (shared/tracing.py; README, "Tracing"): OpenTelemetry spans exported over OTLP/HTTP to this
    # collector's base URL (e.g. http://otel-collector:4318; spans go to <it>/v1/traces). Empty (the
    # default): tracing off, no span made, a `traceparent` carried on as it came. The exporter's other
    # standard variables (OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT, _CERTIFICATE, OTEL_BSP_*) apply as usual.
    # A trace that starts here (no sampled `traceparent` came with it) is kept with this probability; one
    # that came follows its caller's decision.
    otel_exporter_otlp_endpoint: Annotated[str, Field(max_length=2000, pattern=r"^(https?://\S+)?$")] = ""
    otel_traces_sampler_arg: Annotated[float, Field(ge=0, le=1)] = 1.0

    # Metrics (shared/broker_metrics.py; README, "Metrics, dashboard and alerts"): every this many seconds
    # the relay leader of each service reads its consumer group's lag per partition and its topics'
    # dead-letter depths from the broker (a few requests, never per message). Lower: fresher lag for
    # alerts; higher: fewer requests.
    metrics_collect_seconds: Annotated[float, Field(ge=1, le=300)] = 15

    # The checkout quote (README, "The checkout quote"): the gateway asks these services for their parts,
    # in parallel, each within quote_part_timeout_seconds (a part that fails or takes longer is answered as
    # unavailable, never waited for). The defaults are the local stack's (make run); compose and Kubernetes
    # set the services' names.
    memberships_url: Annotated[str, Field(max_length=2000, pattern=r"^https?://\S+$")] = "http://127.0.0.1:8001"
    loyalty_url: Annotated[str, Field(max_length=2000, pattern=r"^https?://\S+$")] = "http://127.0.0.1:8002"
    wallet_url: Annotated[str, Field(max_length=2000, pattern=r"^https?://\S+$")] = "http://127.0.0.1:8006"
    quote_part_timeout_seconds: Annotated[float, Field(gt=0, le=30)] = 1.0

    # Phones are stored and compared in E.164 (shared/phones.py); one written without its country code is read
    # in this region (ISO 3166 alpha-2), or in its chain's or location's: PHONE_REGIONS, JSON,
    # {"<chain_id>": "AT", "<chain_id>/<location_id>": "SK"} (a location's wins over its chain's).
    phone_region: str = "HU"
    phone_regions: dict[str, str] = {}

    @field_validator("phone_region")
    @classmethod
    def _region(cls, region: str) -> str:
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"{region!r} is not a region phonenumbers knows (ISO 3166 alpha-2, e.g. HU)")
        return region

    @field_validator("phone_regions")
    @classmethod
    def _regions(cls, regions: dict[str, str]) -> dict[str, str]:
        for where, region in regions.items():
            cls._region(region)
            if not where or where.count("/") > 1:
                raise ValueError(f"{where!r}: a chain id, or <chain_id>/<location_id>")
        return regions

    @field_validator("topic_retention_ms", mode="before")
    @classmethod
    def _unset(cls, ms: object) -> object:
        return None if ms == "" else ms  # TOPIC_RETENTION_MS= (empty): the broker's default

    @field_validator("topic_retention_ms", "topic_dlq_retention_ms")
    @classmethod
    def _retention(cls, ms: int | None) -> int | None:
        if ms is not None and ms != -1 and ms < 3_600_000:
            raise ValueError("milliseconds: -1 (for ever) or at least 3600000 (an hour)")
        return ms

    @field_validator("kafka_ssl_cafile", "kafka_ssl_certfile", "kafka_ssl_keyfile")
    @classmethod
    def _readable(cls, path: str) -> str:
        if path and not os.access(path, os.R_OK):
            raise ValueError(f"{path!r}: no such readable file")
        return path

    @model_validator(mode="after")
    def _kafka_security(self) -> "Settings":
        protocol = self.kafka_security_protocol
        sasl = protocol.startswith("SASL_")
        if sasl and not (self.kafka_sasl_username and self.kafka_sasl_password.get_secret_value()):
            raise ValueError(f"KAFKA_SECURITY_PROTOCOL={protocol} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD")
        if not sasl and (self.kafka_sasl_username or self.kafka_sasl_password.get_secret_value()):
            raise ValueError(
                f"KAFKA_SASL_USERNAME/KAFKA_SASL_PASSWORD are set but KAFKA_SECURITY_PROTOCOL={protocol} does not "
                "use them (SASL_SSL or SASL_PLAINTEXT?)"
            )
        tls = {
            "KAFKA_SSL_CAFILE": self.kafka_ssl_cafile,
            "KAFKA_SSL_CERTFILE": self.kafka_ssl_certfile,
            "KAFKA_SSL_KEYFILE": self.kafka_ssl_keyfile,
            "KAFKA_SSL_KEY_PASSWORD": self.kafka_ssl_key_password.get_secret_value(),
        }
        if not protocol.endswith("SSL") and any(tls.values()):
            named = ", ".join(name for name, value in tls.items() if value)
            raise ValueError(f"{named} set but KAFKA_SECURITY_PROTOCOL={protocol} has no TLS (SSL or SASL_SSL?)")
        if (tls["KAFKA_SSL_KEYFILE"] or tls["KAFKA_SSL_KEY_PASSWORD"]) and not tls["KAFKA_SSL_CERTFILE"]:
            raise ValueError("KAFKA_SSL_KEYFILE/KAFKA_SSL_KEY_PASSWORD need KAFKA_SSL_CERTFILE (a client certificate)")
        return self

    @model_validator(mode="after")
    def _min_insync(self) -> "Settings":
        if self.topic_min_insync_replicas > self.topic_replication_factor:
            raise ValueError(
                f"TOPIC_MIN_INSYNC_REPLICAS {self.topic_min_insync_replicas} is above "
                f"TOPIC_REPLICATION_FACTOR {self.topic_replication_factor}: no write could succeed"
            )
        return self

    def port_for(self, service: str) -> int:
        return self.http_port or DEFAULT_PORTS[service]


@lru_cache
def get_settings() -> Settings:
    return Settings()
