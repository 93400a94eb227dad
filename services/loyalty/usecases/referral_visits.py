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
from decimal import Decimal

import structlog

from services.loyalty import batch_repository as batch
from services.loyalty import referral_repository as repo
from services.loyalty.domain.referrals import (
    Person,
    Referral,
    ReferralProgram,
    normalize_code,
    referral_discount_refusal,
    referral_offer,
    reward,
)
from services.loyalty.repository import Repository
from services.loyalty.usecases.record_visit import record_payments
from services.loyalty.usecases.referrals import judge
from shared import phones, topics
from shared.events import Client, ReferralRewarded, VisitPaid
from shared.uow import UnitOfWork

log = structlog.get_logger("loyalty.referrals")
Pair = tuple[str, str]


@dataclass(frozen=True)
class Named:
    """What becomes of the referral a visit names (decided before the batch's visits are saved)."""

    why: str | None  # refused (REFUSALS), or None: recorded
    referrer_id: str | None
    invitee_phone: str | None
    code: str | None


@dataclass
class Before:
    """What the batch's referral step decides before the batch's visits are saved, visit by visit in the
    batch's order: the referral each visit names, and the invitee's referral as each visit is paid."""

    referrals: dict[Pair, Referral] = field(default_factory=dict)  # (chain, invitee): locked, as stored
    programs: dict[str, ReferralProgram] = field(default_factory=dict)
    named: dict[Pair, Named] = field(default_factory=dict)  # (chain, visit)
    standing: dict[Pair, Referral] = field(default_factory=dict)  # (chain, visit): the client's referral then
    paid_earlier: set[Pair] = field(default_factory=set)  # (chain, visit): its client paid earlier in the batch

    def discount_refusal(self, e: VisitPaid, percent: Decimal) -> str | None:
        """Why a referral discount the visit applied was not the client's to have (the offer the quote
        made before it: `referral_offer`), or None: it stands."""
        key = (e.chain_id, e.visit_id)
        offer = referral_offer(self.programs.get(e.chain_id), self.standing.get(key), key in self.paid_earlier)
        return referral_discount_refusal(offer, percent)


def _referral_discount(e: VisitPaid) -> bool:
    return any(line.discount is not None and line.discount.source == "referral" for line in e.lines)


async def record_payments_and_referrals(uow: UnitOfWork, events: list[VisitPaid]) -> None:
    """`visit.paid`'s batch: the visits (record_visit.record_payments, a referral discount checked against
    the first-visit offer), then the referral program."""
    before = await _before(uow, events)
    await record_payments(uow, events, referral_check=before.discount_refusal)
    if before.referrals or before.named:
        await _referrals(uow, events, before)


async def _before(uow: UnitOfWork, events: list[VisitPaid]) -> Before:
    b = Before()
    conn = uow.conn
    clients = {(e.chain_id, e.client.id) for e in events}
    await repo.hold_invitees(conn, clients)
    b.referrals = await repo.lock_referrals(conn, clients)
    naming = [e for e in events if e.referral is not None]
    chains = {e.chain_id for e in events if e.referral is not None or _referral_discount(e)}
    if not (chains or b.referrals):
        return b
    b.programs = await repo.programs(conn, chains | {c for c, _ in b.referrals})
    visited = await repo.visited_besides(conn, {(e.chain_id, e.client.id, e.visit_id) for e in naming})
    referrals: dict[Pair, Referral] = dict(b.referrals)
    seen: set[Pair] = set()
    for e in events:  # in the batch's order: each visit sees what the earlier ones did
        key, visit = (e.chain_id, e.client.id), (e.chain_id, e.visit_id)
        earlier = key in seen
        if e.referral is not None:
            n = await _decide(uow, e, b, referrals.get(key), earlier or (*key, e.visit_id) in visited)
            b.named[visit] = n
            if n.why is None and n.referrer_id is not None:
                referrals[key] = Referral(e.client.id, n.referrer_id, "visit", e.occurred_at)
        if key in referrals:
            b.standing[visit] = referrals[key]
        if earlier:
            b.paid_earlier.add(visit)
        seen.add(key)
    return b


async def _decide(uow: UnitOfWork, e: VisitPaid, b: Before, existing: Referral | None, visited: bool) -> Named:
    """The referral the visit names: recorded (source `visit`) unless a rule refuses it."""
    assert e.referral is not None
    invitee = Person(e.client.id, phones.e164_at(e.client.phone, e.chain_id, e.location_id))
    program = b.programs.get(e.chain_id)
    named = e.referral
    why, referrer_id = await judge(
        uow.conn, e.chain_id, program, invitee, named.referrer_client_id, named.code, existing, visited
    )
    code = normalize_code(e.referral.code) if e.referral.code else None
    return Named(why, referrer_id, invitee.phone, code)


async def _referrals(uow: UnitOfWork, events: list[VisitPaid], b: Before) -> None:
    for e in events:
        key, visit = (e.chain_id, e.client.id), (e.chain_id, e.visit_id)
        n = b.named.get(visit)
        if n is not None and n.why is None and n.referrer_id is not None:
            added = await repo.add_referral(
                uow.conn, e.chain_id, e.client.id, n.invitee_phone, n.referrer_id, "visit", n.code, e.occurred_at
            )
            assert added is not None  # the invitee is held (hold_invitees) and had none
            b.referrals[key] = added
        elif n is not None:
            log.info("referral_refused", chain_id=e.chain_id, visit_id=e.visit_id, reason=n.why)
        found = b.referrals.get(key)
        if found is not None and found.first_visit_id is None and visit not in b.paid_earlier:
            b.referrals[key] = await _settle(uow, e, found, b.programs.get(e.chain_id))


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
