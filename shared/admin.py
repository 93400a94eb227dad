"""Administration commands.

    python -m shared.admin migrate                 apply every schema's migrations (auth + 4 services)
    python -m shared.admin create-topics [--grow-partitions]
                                                   create every topic and its .dlq twin (idempotent), with
                                                   the TOPIC_* settings; report existing topics' drift
    python -m shared.admin create-key --chain ID [--name TEXT] [--scopes read,write[,admin]] [--expires-in-days N]
                                                   print a new API key for a chain (its id on stderr);
                                                   scopes read,write by default (admin: running jobs)
    python -m shared.admin revoke-key (--id UUID | --prefix psk_XXXXXX)
                                                   revoke a key by its id (or a prefix only one key has)
    python -m shared.admin list-keys --chain ID     id, prefix, name, scopes, expiry, state
    python -m shared.admin redrive --topic visit.paid [--group perkstream.loyalty] [--chain ID] [--dry-run]
                                                   publish a topic's dead letters back onto it (after a fix)
    python -m shared.admin outbox-refused [--service NAME] [--payload]
                                                   the outbox rows Kafka refused, set aside: id, topic, key,
                                                   size, time, reason (payloads only with --payload: PII)
    python -m shared.admin outbox-requeue --service NAME (--id ID ... | --all)
                                                   put them back at the end of the outbox (after a fix)
    python -m shared.admin outbox-drop --service NAME (--id ID ... | --all)

Settings (DATABASE_URL, KAFKA_BOOTSTRAP_SERVERS, KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*, KAFKA_SSL_*) come
from the environment, as for the services.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient
from tenacity import AsyncRetrying, stop_after_delay, wait_fixed

from shared import auth, db, outbox, topic_admin, topics
from shared.kafka import KafkaRefused, check_access, client_kwargs
from shared.redrive import redrive
from shared.settings import DEFAULT_PORTS, Settings, get_settings
from shared.topic_admin import raise_size_limits, topic_configs

__all__ = ["create_topics", "main", "migrate", "raise_size_limits", "topic_configs"]

SERVICES = tuple(DEFAULT_PORTS)
ROOT = Path(__file__).resolve().parent.parent


def migrate(settings: Settings) -> None:
    applied = db.migrate_auth(settings.database_url)
    for service in SERVICES:
        applied += db.migrate_service(settings.database_url, service, ROOT / "services" / service / "migrations")
    print(f"migrations applied: {applied}")


async def create_topics(
    settings: Settings, grow_partitions: bool = False, report: topic_admin.Report = print
) -> list[str]:
    """The topics missing are created with the settings' partitions, replication factor, min ISR and
    retention; the existing ones get their size limits and what shared/topic_admin.py fills in, and what
    differs from the settings is reported (one line each; partitions grown only with grow_partitions)."""
    await check_access(settings, "perkstream-admin")  # a wrong password says so at once, not after 60 s
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers, **client_kwargs(settings))
    async for attempt in AsyncRetrying(stop=stop_after_delay(60), wait=wait_fixed(1), reraise=True):
        with attempt:
            await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [t for t in topics.all_topics() if t not in existing]
        if wanted:
            await admin.create_topics([topic_admin.new_topic(settings, t) for t in wanted])
        there = [t for t in topics.all_topics() if t in existing]
        await raise_size_limits(admin, there)
        await topic_admin.settle_topics(admin, settings, there, grow_partitions, report)
        return wanted
    finally:
        await admin.close()


def print_refused(service: str, rows: list[asyncpg.Record]) -> None:
    print(f"{service}: {len(rows)} refused row(s)")
    for r in rows:
        print(
            f"  {r['id']:>10}  {r['topic']:<32} key {r['key'] or '-':<24} {r['bytes']:>10,} bytes  "
            f"{r['refused_at']:%Y-%m-%d %H:%M:%S%z}  {r['reason'][:300]}"
        )
        if r["value"] is not None:
            print(f"  {'':>10}  payload: {r['value'][:2000].decode(errors='replace')}")


async def refused_rows(settings: Settings, service: str | None, payload: bool) -> None:
    async def show(conn: asyncpg.Connection) -> None:
        for name in [service] if service else SERVICES:
            print_refused(name, await outbox.listing(conn, name, payload))

    await _with_conn(settings, show)


def _scopes(text: str) -> tuple[str, ...]:
    try:
        return auth.scopes_of(text.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _days(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 3650:
        raise argparse.ArgumentTypeError("a whole number of days, 1..3650")
    return int(text)


async def _with_conn(settings: Settings, fn):
    conn = await asyncpg.connect(settings.database_url)
    try:
        return await fn(conn)
    finally:
        await conn.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m shared.admin", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate")
    made = sub.add_parser("create-topics")
    made.add_argument(
        "--grow-partitions",
        action="store_true",
        help="grow existing topics to TOPIC_PARTITIONS (a key's new messages may then go to "
        "another partition than its older ones: see the README first)",
    )
    key = sub.add_parser("create-key")
    key.add_argument("--chain", required=True)
    key.add_argument("--name", default="")
    key.add_argument(
        "--scopes",
        type=_scopes,
        default=auth.DEFAULT_SCOPES,
        help="comma-separated: read (GET), write (the other business routes), admin (jobs); default read,write",
    )
    key.add_argument("--expires-in-days", type=_days, help="the key stops working after N days (1..3650)")
    revoke = sub.add_parser("revoke-key").add_mutually_exclusive_group(required=True)
    revoke.add_argument("--id", type=uuid.UUID, help="the key's id (create-key and list-keys print it)")
    revoke.add_argument("--prefix", help="refused when more than one active key has it")
    listing = sub.add_parser("list-keys")
    listing.add_argument("--chain", required=True)
    again = sub.add_parser("redrive")
    again.add_argument(
        "--topic",
        required=True,
        metavar="TOPIC",
        help="e.g. visit.paid (not its .dlq)",
        choices=sorted(set(topics.all_topics()) - {topics.dlq(t) for t in topics.all_topics()}),
    )
    again.add_argument("--group", help="only what this consumer group dead-lettered, e.g. perkstream.loyalty")
    again.add_argument("--chain", help="only this chain's dead letters")
    again.add_argument("--dry-run", action="store_true")
    shown = sub.add_parser("outbox-refused")
    shown.add_argument("--service", choices=SERVICES)
    shown.add_argument("--payload", action="store_true", help="print the payloads too (they may hold PII)")
    for name in ("outbox-requeue", "outbox-drop"):
        fix = sub.add_parser(name)
        fix.add_argument("--service", choices=SERVICES, required=True)
        which = fix.add_mutually_exclusive_group(required=True)
        which.add_argument("--id", type=int, action="append", dest="ids", metavar="ID")
        which.add_argument("--all", action="store_true")
    args = parser.parse_args(argv)
    settings = get_settings()

    if args.command == "migrate":
        migrate(settings)
    elif args.command == "create-topics":
        created = asyncio.run(create_topics(settings, grow_partitions=args.grow_partitions))
        print(f"topics created: {len(created)}")
    elif args.command == "create-key":
        expires = datetime.now(UTC) + timedelta(days=args.expires_in_days) if args.expires_in_days else None
        made = asyncio.run(
            _with_conn(settings, lambda c: auth.issue_key(c, args.chain, args.name, args.scopes, expires))
        )
        print(made.key)  # alone on stdout: KEY=$(make -s key CHAIN=...)
        print(
            f"id {made.id}  scopes {','.join(made.scopes)}  "
            f"expires {made.expires_at.isoformat(timespec='seconds') if made.expires_at else 'never'}",
            file=sys.stderr,
        )
    elif args.command == "revoke-key":
        try:
            n = asyncio.run(
                _with_conn(
                    settings, lambda c: auth.revoke_key_id(c, args.id) if args.id else auth.revoke_key(c, args.prefix)
                )
            )
        except auth.AmbiguousPrefix as exc:
            sys.exit(f"refused: {exc}")
        print(f"revoked: {n}")
        sys.exit(0 if n else 1)
    elif args.command == "redrive":
        done = asyncio.run(redrive(settings, args.topic, args.group, args.chain, dry_run=args.dry_run))
        verb = "would re-drive" if args.dry_run else "re-driven"
        print(f"{verb}: {done.redriven}; skipped (another group's): {done.skipped}")
    elif args.command == "outbox-refused":
        asyncio.run(refused_rows(settings, args.service, args.payload))
    elif args.command in ("outbox-requeue", "outbox-drop"):
        act = outbox.requeue if args.command == "outbox-requeue" else outbox.drop
        n = asyncio.run(_with_conn(settings, lambda c: act(c, args.service, None if args.all else args.ids)))
        print(f"{'re-queued' if act is outbox.requeue else 'dropped'}: {n}")
        sys.exit(0 if n else 1)
    elif args.command == "list-keys":
        for r in asyncio.run(_with_conn(settings, lambda c: auth.list_keys(c, args.chain))):
            state = (
                f"revoked {r['revoked_at']:%Y-%m-%d}" if r["revoked_at"] else "expired" if r["expired"] else "active"
            )
            expiry = f"expires {r['expires_at']:%Y-%m-%d %H:%M}" if r["expires_at"] else "no expiry"
            print(
                f"{r['id']}  {r['prefix']}…  {r['name'] or '-':20} {','.join(r['scopes']):16} "
                f"created {r['created_at']:%Y-%m-%d}  {expiry:24}  {state}"
            )


if __name__ == "__main__":
    try:
        main()
    except KafkaRefused as exc:  # one line: the broker, the user, the mechanism, its reason (never the password)
        sys.exit(f"refused: {exc}")
    except (OSError, asyncpg.PostgresConnectionError) as exc:
        settings = get_settings()
        sys.exit(
            f"cannot reach PostgreSQL at {settings.database_url} or Kafka at "
            f"{settings.kafka_bootstrap_servers} ({exc}).\nStart the local stack first: `make run` "
            "(or `make infra-up`), or set DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS."
        )
