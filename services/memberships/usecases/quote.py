"""The checkout quote's memberships part: for each service line of a visit about to be paid, the membership
that would pay it and why, and why each other of the client's cannot. Changes nothing.

The rules are the deduction's own: a line naming a membership is checked as `visit.paid` would deduct it
(domain.deduct); a line naming none gets the client's membership the automatic deduction would take
(domain.choose_membership: the eligible one that expires soonest), then checked the same way for its
quantity. Lines are decided in order on one ledger, so a later line sees the visits an earlier one would
take (two lines, one membership with one visit left: the second is `exhausted`)."""

from __future__ import annotations

import uuid

import asyncpg

from services.memberships import domain
from services.memberships.domain.ledger import USABLE
from services.memberships.repository import Repository
from services.memberships.usecases.deduct import client_phone
from shared.events import utcnow
from shared.paging import Page
from shared.quote import MembershipLine, MembershipOption, MembershipsPart, QuoteLine, QuotePartIn

# The client's memberships a quote looks at: the latest sold (a client never holds this many in use).
MAX_OWNED = 200

REASONS = {
    "chosen": "this membership would pay the line",
    "usable": "it could pay the line too, but the one chosen comes first (it expires sooner, or was named)",
    "no_membership": "the client has no membership",
    "none_eligible": "none of the client's memberships can pay this service here now",
    "unknown_code": "no membership has the code or id the line names",
    domain.Reason.PHONE_MISMATCH.value: "a membership without a code pays only for its buyer's phone",
    domain.Reason.FROZEN.value: "the membership is frozen on the visit's day",
    domain.Reason.EXPIRED.value: "the membership has expired",
    domain.Reason.EXHAUSTED.value: "the membership has fewer visits of this service left than the line's quantity",
    domain.Reason.SERVICE_NOT_INCLUDED.value: "the membership's type does not cover this service",
    domain.Reason.LOCATION_NOT_ALLOWED.value: "the membership's type is not valid at this location",
    domain.Status.EXPIRED.value: "the membership has expired",
    domain.Status.EXHAUSTED.value: "the membership has no visits left",
    domain.Status.FROZEN.value: "the membership is frozen",
}


def ref_of(line: QuoteLine) -> str | None:
    return (line.membership.code or str(line.membership.id)) if line.membership is not None else None


async def quote_part(conn: asyncpg.Connection, chain_id: str, q: QuotePartIn) -> MembershipsPart:
    repo = Repository(conn, chain_id)
    owned = await repo.find(q.client.id, None, Page(limit=MAX_OWNED))
    refs = sorted({ref for line in q.lines if (ref := ref_of(line)) is not None})
    named = [m for ref in refs if (m := await repo.get(ref)) is not None]
    ledger = domain.Ledger([*owned, *named])
    types = await repo.types_by_id({m.type_id for m in ledger.all()})
    phone = client_phone(chain_id, q.location_id, q.client, ledger.all())
    quoter = _Quoter(ledger, types, q, phone)
    return MembershipsPart(lines=[quoter.line(i, line) for i, line in enumerate(q.lines) if line.kind == "service"])


class _Quoter:
    def __init__(
        self, ledger: domain.Ledger, types: dict[str, domain.MembershipType], q: QuotePartIn, phone: str | None
    ) -> None:
        self.ledger, self.types, self.q, self.phone = ledger, types, q, phone
        self.now = utcnow()

    def _pairs(self) -> list[tuple[domain.Membership, domain.MembershipType]]:
        """The client's memberships (latest sold first) with their types."""
        mine = sorted(
            (m for m in self.ledger.all() if m.client_id == self.q.client.id), key=lambda m: (m.sold_at, m.id)
        )
        return [(m, self.types[m.type_id]) for m in reversed(mine) if m.type_id in self.types]

    def line(self, index: int, line: QuoteLine) -> MembershipLine:
        at, service_id = self.q.occurred_at, line.item_id
        ref = ref_of(line)
        pairs = self._pairs()
        chosen: tuple[domain.Membership, domain.MembershipType] | None = None
        because = ""
        if ref is not None:
            m = self.ledger.find(ref)
            t = self.types.get(m.type_id) if m is not None else None
            if m is None or t is None:
                return self._out(index, line, pairs, None, "unknown_code", REASONS["unknown_code"])
            chosen, because = (m, t), "the line names it"
        else:
            usable = [(m, t) for m, t in pairs if m.status in USABLE]
            picked = domain.choose_membership(
                usable, service_id=service_id, location_id=self.q.location_id, at=at, phone=self.phone
            )
            if picked is None:
                code = "none_eligible" if pairs else "no_membership"
                return self._out(index, line, pairs, None, code, REASONS[code])
            m, because = picked
            chosen = (m, self.types[m.type_id])
        m, t = chosen
        outcome = domain.deduct(
            m,
            t,
            service_id=service_id,
            location_id=self.q.location_id,
            units=line.quantity,
            at=at,
            phone=self.phone,
            now=self.now,
        )
        if isinstance(outcome, domain.Rejected):
            code = outcome.reason.value
            return self._out(index, line, pairs, self._option(m, t, line, code, usable=False), code, REASONS[code])
        option = self._option(m, t, line, "chosen", usable=True, why=f"{REASONS['chosen']}: {because}")
        self.ledger.put(outcome.membership)  # the next lines see what this one would take
        out = self._out(index, line, pairs, option, "chosen", option.reason, covered=True)
        out.units = line.quantity
        return out

    def _out(
        self,
        index: int,
        line: QuoteLine,
        pairs: list[tuple[domain.Membership, domain.MembershipType]],
        chosen: MembershipOption | None,
        code: str,
        reason: str,
        covered: bool = False,
    ) -> MembershipLine:
        skip = chosen.membership_id if chosen is not None else None
        options = [self._judge(m, t, line) for m, t in pairs if uuid.UUID(m.id) != skip]
        return MembershipLine(line=index, covered=covered, chosen=chosen, options=options, code=code, reason=reason)

    def _judge(self, m: domain.Membership, t: domain.MembershipType, line: QuoteLine) -> MembershipOption:
        """Why `m` would not pay the line: the deduction's reason, else its status (a frozen one whose
        freeze has ended but the job has not yet turned back, say), else usable."""
        rejected = domain.eligibility(
            m, t, service_id=line.item_id, location_id=self.q.location_id, at=self.q.occurred_at, phone=self.phone
        )
        code = rejected.reason.value if rejected is not None else m.status.value if m.status not in USABLE else "usable"
        return self._option(m, t, line, code, usable=code == "usable")

    def _option(
        self,
        m: domain.Membership,
        t: domain.MembershipType,
        line: QuoteLine,
        code: str,
        *,
        usable: bool,
        why: str | None = None,
    ) -> MembershipOption:
        key = t.balance_key(line.item_id) if t.covers(line.item_id) else None
        return MembershipOption(
            membership_id=uuid.UUID(m.id),
            code_ref=m.code,
            type_id=uuid.UUID(m.type_id),
            usable=usable,
            valid_until=m.valid_until,
            visits_left=m.balance.get(key, 0) if key is not None else None,
            code=code,
            reason=why or REASONS[code],
        )
