"""Kafka subscriptions of the wallet service: topic -> use case, each given a whole batch of events."""

from services.wallet import usecases
from shared import topics
from shared.events import AccountDeposit, GiftCardSold, VisitCancelled, VisitPaid
from shared.runtime import Service


def register(service: Service) -> None:
    service.subscribe(
        topics.GIFT_CARD_SOLD,
        GiftCardSold,
        batch=usecases.sell,
        keys=lambda e: [f"sale:{e.sale_id}"],  # once, whatever its event id
        description="A gift card was sold: issue it (with its code, a generated one, or none) at its par value.",
    )
    service.subscribe(
        topics.ACCOUNT_DEPOSIT,
        AccountDeposit,
        batch=usecases.deposit,
        keys=lambda e: [f"deposit:{e.deposit_id}"],  # once, whatever its event id
        description="A desk took money onto a client's account: top it up.",
    )
    service.subscribe(
        topics.VISIT_PAID,
        VisitPaid,
        batch=usecases.pay_visits,
        keys=lambda e: [f"visit.paid:{e.visit_id}"],  # a visit is paid once, whatever its event id
        description="A visit's checkout: issue the gift cards its lines sell (once per sale, with their "
        "gift_card.sold), take its lines' gift card and account payments (all or none unless partial_payments).",
    )
    service.subscribe(
        topics.VISIT_CANCELLED,
        VisitCancelled,
        batch=usecases.refund_visits,
        keys=lambda e: [f"visit.cancelled:{e.visit_id}"],
        description="A visit was cancelled: what its gift cards and account paid goes back.",
    )
    for name, (job, description) in usecases.JOBS.items():
        service.job(name, job, description)
