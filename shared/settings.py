"""The one settings class. Every value comes from the environment (or `.env`); the defaults point at the
local stack that `make run` starts, so a user's KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL win."""

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_PORTS = {"memberships": 8001, "loyalty": 8002, "inventory": 8003, "notifications": 8004}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    database_url: str = "postgresql://postgres@127.0.0.1:55432/perkstream"

    http_host: str = "127.0.0.1"
    # Per-service port; 0 means "the service's default" (DEFAULT_PORTS).
    http_port: int = 0
    log_level: str = "INFO"

    db_pool_size: int = 10
    # Records taken from Kafka per poll and processed in one transaction.
    consumer_max_records: int = 500
    consumer_batch_timeout_ms: int = 100
    outbox_batch_size: int = 500
    # The relay wakes on pg_notify; this is the fallback poll when a notification is missed.
    outbox_poll_seconds: float = 1.0
    topic_partitions: int = 6
    # Time-driven jobs (expiry, burning, reminders...) run by themselves this often, for every chain.
    jobs_enabled: bool = True
    jobs_interval_seconds: float = 300

    def port_for(self, service: str) -> int:
        return self.http_port or DEFAULT_PORTS[service]


@lru_cache
def get_settings() -> Settings:
    return Settings()
