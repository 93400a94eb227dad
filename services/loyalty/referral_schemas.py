"""HTTP bodies and answers of the referral program (`/referral-program`, `/referrals`,
`/clients/{id}/referral-code`, `/reports/referrals`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

from services.loyalty.domain.referrals import MAX_CASHBACK, MAX_CODE_LENGTH, OfferCode, ReferralProgram
from shared.events import Id, Money, NonNegativeMoney
from shared.events.base import STORABLE
from shared.http import Body

Source = Literal["api", "visit"]
RewardStatus = Literal["pending", "rewarded", "no_card", "program_disabled", "balance_full"]
Code = Annotated[str, StringConstraints(min_length=1, max_length=MAX_CODE_LENGTH, strip_whitespace=True), STORABLE]
Phone = Annotated[str, StringConstraints(max_length=32), STORABLE]


class ReferralProgramIn(Body):
    """The chain's referral program: the invitee's discount on their first paid visit (0 < percent <= 100),
    the referrer's cashback (points on their earliest issued card of `card_type_id`)."""

    enabled: bool
    invitee_discount_percent: Annotated[NonNegativeMoney, Field(gt=0, le=100)]
    referrer_cashback: Annotated[NonNegativeMoney, Field(le=MAX_CASHBACK)]
    card_type_id: uuid.UUID

    def program(self) -> ReferralProgram:
        return ReferralProgram(
            self.enabled, self.invitee_discount_percent, self.referrer_cashback, str(self.card_type_id)
        )


class ReferralProgramOut(BaseModel):
    enabled: bool
    invitee_discount_percent: Money
    referrer_cashback: Money
    card_type_id: uuid.UUID

    @classmethod
    def of(cls, p: ReferralProgram) -> ReferralProgramOut:
        return cls(
            enabled=p.enabled,
            invitee_discount_percent=p.invitee_discount_percent,
            referrer_cashback=p.referrer_cashback,
            card_type_id=uuid.UUID(p.card_type_id),
        )


class InviteeIn(Body):
    id: Id
    phone: Phone | None = None


class ReferrerIn(Body):
    """The referrer: their client id, or the code they shared; exactly one."""

    client_id: Id | None = None
    code: Code | None = None

    @model_validator(mode="after")
    def _one_of(self) -> ReferrerIn:
        if (self.client_id is None) == (self.code is None):
            raise ValueError("give exactly one of referrer.client_id or referrer.code")
        return self


class ReferralIn(Body):
    invitee: InviteeIn
    referrer: ReferrerIn


class ReferralOut(BaseModel):
    invitee_id: str
    referrer_id: str
    source: Source
    recorded_at: datetime
    first_visit_id: str | None
    reward_status: RewardStatus


class ReferralCodeOut(BaseModel):
    client_id: str
    code: str


class ReferralOfferOut(BaseModel):
    """The referral discount for a client about to pay: `percent` (0 when none) and why, as a machine code
    (`first_visit_referral`, or `not_first_visit`, `no_referral`, `program_disabled`) and in words."""

    client_id: str
    percent: Money
    code: OfferCode
    reason: str


class ReferralRow(BaseModel):
    """One referral of the report: who brought whom, when and how it was recorded (the API, or the
    invitee's visit naming it), the invitee's first paid visit, and the referrer's reward (`pending` until
    that visit is paid; `no_card`: the referrer held no card of the program's type, no points)."""

    referrer_id: str
    invitee_id: str
    recorded_at: datetime
    source: Source
    code: str | None
    first_visit_id: str | None
    first_paid_at: datetime | None
    reward_status: RewardStatus
    reward_amount: Money | None
    reward_card_id: uuid.UUID | None
    reward_card_number: str | None


REFERRAL_COLUMNS = tuple(ReferralRow.model_fields)
