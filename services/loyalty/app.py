"""Composition root of the loyalty service."""

from datetime import datetime
from pathlib import Path
from typing import Any

from services.loyalty import api, handlers, referral_api, usecases
from shared import events, topics
from shared.jobs import PerChain
from shared.runtime import Service
from shared.uow import UnitOfWork


def build() -> Service:
    service = Service("loyalty", Path(__file__).parent / "migrations")
    handlers.register(service)
    recalc = usecases.RecalcWorker(lambda: service.pool)
    service.http.state.recalc = recalc
    service.on_start(recalc.kick)  # resumes a program recalculation a stopped process left unfinished

    async def inactivity(uow: UnitOfWork, chain_id: str, as_of: datetime) -> dict[str, Any]:
        recalc.kick()  # and again on schedule, should a page have failed
        changed = await usecases.inactivity_job(uow, chain_id, as_of)
        return {**changed, **await usecases.warn_discount_expiring(uow, chain_id, as_of)}

    service.job(
        "inactivity",
        PerChain(usecases.chains_for_inactivity, inactivity),
        "Discounts reset, levels removed and 'inactive N days' categories given to clients away long "
        "enough; clients warned before their discount lapses (notify_discount_expiration)",
    )
    service.job(
        "burn",
        usecases.BURN_JOB,
        "Notices of points about to burn (burn_notice_days before), then unused points burned",
    )
    p = service.publishes
    p(topics.LOYALTY_DISCOUNT_CHANGED, events.DiscountChanged, "A client's discount at a location changed")
    p(
        topics.LOYALTY_DISCOUNT_EXPIRING,
        events.DiscountExpiring,
        "A client's discount at a location lapses soon for inactivity unless they come (notify_discount_expiration)",
    )
    p(topics.LOYALTY_LEVEL_CHANGED, events.LevelChanged, "A client's importance level at a location changed")
    p(topics.LOYALTY_CATEGORIES_CHANGED, events.CategoriesChanged, "A client's categories at a location changed")
    p(topics.LOYALTY_BONUS_ACCRUED, events.BonusAccrued, "Points accrued on a card (cashback or manual)")
    p(topics.LOYALTY_BONUS_SPENT, events.BonusSpent, "Points spent on a visit, or written off by hand")
    p(
        topics.LOYALTY_BONUS_SPEND_REJECTED,
        events.BonusSpendRejected,
        "Points asked for a visit could not be spent (reason); nothing taken",
    )
    p(topics.LOYALTY_BONUS_BURNING, events.BonusBurning, "Points will burn soon unless spent")
    p(topics.LOYALTY_BONUS_BURNED, events.BonusBurned, "Unused points burned")
    p(
        topics.LOYALTY_DISCOUNT_APPLIED,
        events.DiscountApplied,
        "The discounts a paid visit applied (each line's; a promotion's checked as the client's to have)",
    )
    p(
        topics.LOYALTY_DISCOUNT_REFUSED,
        events.DiscountRefused,
        "A paid visit applied a promotion's discount the client was not to have (reason); recorded, flagged",
    )
    p(
        topics.LOYALTY_REFERRAL_REWARDED,
        events.ReferralRewarded,
        "A referrer's cashback accrued: the client they referred paid their first visit",
    )
    service.include_router(api.router)
    service.include_router(referral_api.router)
    return service
