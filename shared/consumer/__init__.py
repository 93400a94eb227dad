"""The consume pattern every service uses: nothing lost, nothing applied twice, no record stops the rest.

For each batch FastStream takes from Kafka (`getmany`, across the partitions this member owns):

1. decode and validate every record (records.py); a record that fails becomes a dead letter
   (`<topic>.dlq`, the original bytes, the reason in the `x-error` header): a key or header name that
   is not UTF-8 (`undecodable`: aiokafka is made to deliver such a record instead of failing the fetch,
   fetch.py), not JSON, invalid, or an inbound event dated too far ahead (`clock_skew`);
2. in ONE transaction: claim the inbox keys of every valid record (`event:<event_id>` plus the
   subscription's business keys, inbox.py); a record whose keys were already there is a duplicate and
   changes nothing, unless its event_id came with a different payload (`event_id_reused`); run the
   handler of every new record, each under a deadline; write the outbox rows they published and the
   dead letters;
3. only then commit the offsets (AckPolicy.MANUAL: FastStream's default would commit before step 2).

A record must not cost the others (batch.py, apply.py): a handler that raises, or a record over its deadline
(CONSUMER_RECORD_SECONDS), rolls the batch back, and the batch is replayed record by record, each inside a
savepoint under its own deadline; the one that fails goes to the DLQ alone, and one that keeps overrunning
(or losing a lock conflict) goes there after CONSUMER_RECORD_ATTEMPTS attempts (`timeout`). A failure that
the database's absence explains (PostgreSQL down, restarting, out of connections) rolls the whole batch
back and retries it with backoff for as long as it lasts, without committing; the inbox makes the replay
harmless. Offsets are therefore never committed past a record that was not durably applied or
dead-lettered. The inbox forgets keys after INBOX_RETENTION_DAYS (InboxPruner).
"""

from shared.consumer.batch import BatchConsumer
from shared.consumer.inbox import InboxPruner
from shared.consumer.records import Reason, describe
from shared.consumer.subscription import BatchHandler, Handler, Subscription

__all__ = ["BatchConsumer", "BatchHandler", "Handler", "InboxPruner", "Reason", "Subscription", "describe"]
