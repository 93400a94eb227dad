"""The referral program on a batch of paid visits, in the batch's transaction: a referral a visit names
(`visit.paid`'s `referral`, source `visit`) is recorded by the rules of domain/referrals.py (a refused one
is logged with its reason; the visit itself counts as ever), then the invitee's first paid visit settles
the referral once: the referrer's cashback accrued on their card (transaction reason `referral`) and
`loyalty.referral_rewarded`, or the reason no points were given (`no_card`, ...).

Once per invitee: the referral is settled only while it has no first visit (its row locked first, the
update conditional on it), a replayed visit finds it settled, and the database refuses a second referral
accrual for a visit (card_transactions_referral)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace

import structlog

from services.loyalty import batch_repository as batch
from services.loyalty import referral_repository as repo
from services.loyalty.domain.referrals import Person, Referral, ReferralProgram, normalize_code, refusal, reward
from services.loyalty.repository import Repository
from services.loyalty.usecases.record_visit import record_payments
from services.loyalty.usecases.referrals import person, referrer_of
from shared import phones, topics
from shared.events import Client, ReferralRewarded, VisitPaid
from shared.uow import UnitOfWork

log = structlog.get_logger("loyalty.referrals")
Pair = tuple[str, str]


@dataclass
class Before:
    """What the batch's referral step reads before the batch's visits are saved."""

    referrals: dict[Pair, Referral] = field(default_factory=dict)  # (chain, invitee): locked
    visited: set[tuple[str, str, str]] = field(default_factory=set)  # (chain, client, visit) with another visit
    programs: dict[str, ReferralProgram] = field(default_factory=dict)


async def record_payments_and_referrals(uow: UnitOfWork, events: list[VisitPaid]) -> None:
    """`visit.paid`'s batch: the visits (record_visit.record_payments), then the referral program."""
    before = await _before(uow, events)
    await record_payments(uow, events)
    if before.referrals or any(e.referral for e in events):
        await _referrals(uow, events, before)


async def _before(uow: UnitOfWork, events: list[VisitPaid]) -> Before:
    b = Before()
    clients = {(e.chain_id, e.client.id) for e in events}
    await repo.hold_invitees(uow.conn, clients)
    b.referrals = await repo.lock_referrals(uow.conn, clients)
    naming = [e for e in events if e.referral is not None and (e.chain_id, e.client.id) not in b.referrals]
    if not (naming or b.referrals):
        return b
    b.visited = await repo.visited_besides(uow.conn, {(e.chain_id, e.client.id, e.visit_id) for e in naming})
    b.programs = await repo.programs(uow.conn, {e.chain_id for e in naming} | {c for c, _ in b.referrals})
    return b


async def _referrals(uow: UnitOfWork, events: list[VisitPaid], b: Before) -> None:
    paid_in_batch: set[Pair] = set()  # the batch's earlier visits: a later one is not a first visit
    for e in events:
        key = (e.chain_id, e.client.id)
        if e.referral is not None:
            await _named(uow, e, b, key in paid_in_batch)
        found = b.referrals.get(key)
        if found is not None and found.first_visit_id is None and key not in paid_in_batch:
            b.referrals[key] = await _settle(uow, e, found, b.programs.get(e.chain_id))
        paid_in_batch.add(key)


async def _named(uow: UnitOfWork, e: VisitPaid, b: Before, paid_earlier: bool) -> None:
    """The referral the visit names, recorded (source `visit`) unless a rule refuses it."""
    assert e.referral is not None
    key = (e.chain_id, e.client.id)
    conn = uow.conn
    referrer_id = await referrer_of(conn, e.chain_id, e.referral.referrer_client_id, e.referral.code)
    invitee = Person(e.client.id, phones.e164_at(e.client.phone, e.chain_id, e.location_id))
    referrer = await person(conn, e.chain_id, referrer_id) if referrer_id is not None else None
    visited = paid_earlier or (e.chain_id, e.client.id, e.visit_id) in b.visited
    why = refusal(b.programs.get(e.chain_id), invitee, referrer, b.referrals.get(key), visited)
    if why is None and referrer is not None:
        code = normalize_code(e.referral.code) if e.referral.code else None
        added = await repo.add_referral(
            conn, e.chain_id, e.client.id, invitee.phone, referrer.client_id, "visit", code, e.occurred_at
        )
        if added is not None:
            b.referrals[key] = added
            return
        why = "already_referred"
    log.info("referral_refused", chain_id=e.chain_id, visit_id=e.visit_id, reason=why)


async def _settle(uow: UnitOfWork, e: VisitPaid, r: Referral, program: ReferralProgram | None) -> Referral:
    """The invitee's first paid visit: the referrer rewarded (or why not), once."""
    conn = uow.conn
    cards = await repo.cards_of(conn, e.chain_id, r.referrer_id, program.card_type_id) if program else []
    got = reward(program, cards)
    balance = None
    if got.status == "rewarded" and got.card is not None:
        cards_repo = Repository(conn, e.chain_id)
        await cards_repo.add_lot(got.card.id, e.occurred_at, got.amount, None, None, None, e.visit_id)
        balance = await cards_repo.move_points(
            got.card.id,
            e.occurred_at,
            "accrual",
            got.amount,
            visit_id=e.visit_id,
            location_id=e.location_id,
            reason="referral",
        )
    card_id = got.card.id if got.card is not None and balance is not None else None
    amount = got.amount if balance is not None else None
    if not await repo.settle(conn, e.chain_id, r.invitee_id, e.visit_id, e.occurred_at, got.status, amount, card_id):
        raise RuntimeError(f"referral of {r.invitee_id} settled twice")  # its row is locked: never
    if got.card is not None and balance is not None:
        told = await batch.clients(conn, [(e.chain_id, r.referrer_id)])
        phone, name = told.get((e.chain_id, r.referrer_id), (got.card.phone, None))
        uow.publish(
            topics.LOYALTY_REFERRAL_REWARDED,
            r.referrer_id,
            ReferralRewarded(
                chain_id=e.chain_id,
                location_id=e.location_id,
                referrer=Client(id=r.referrer_id, phone=phone or got.card.phone, name=name),
                invitee=e.client,
                amount=got.amount,
                card_id=uuid.UUID(got.card.id),
                card_number=got.card.number,
                card_type_id=uuid.UUID(got.card.card_type_id),
                balance=balance,
                visit_id=e.visit_id,
            ),
            cause=e,
        )
    log.info("referral_settled", chain_id=e.chain_id, visit_id=e.visit_id, status=got.status)
    return replace(r, first_visit_id=e.visit_id, reward_status=got.status)
