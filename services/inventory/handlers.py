"""Kafka subscriptions of the inventory service: topic → use case."""

from services.inventory import usecases
from shared import topics
from shared.events import (
    GiftCardIssued,
    GiftCardIssueRejected,
    GiftCardTypeChanged,
    MembershipIssued,
    MembershipIssueRejected,
    MembershipTypeChanged,
    VisitPaid,
    VisitStatus,
)
from shared.runtime import Service


def register(service: Service) -> None:
    service.subscribe(
        topics.VISIT_PAID,
        VisitPaid,
        batch=usecases.apply_paid_visits,
        keys=lambda e: [f"visit.paid:{e.visit_id}"],  # a visit is applied once, whatever its event id
        description="A visit's checkout: product lines leave their storage, membership and gift card lines "
        "are sold (membership.sold, gift_card.sold per unit), consumables are written off where the location says so.",
    )
    service.subscribe(
        topics.VISIT_ARRIVED,
        VisitStatus,
        batch=usecases.write_off_on_arrival,
        description="A visit marked arrived: the consumables of its services are written off (once per "
        "visit and service).",
    )
    for topic in (topics.MEMBERSHIP_TYPE_CREATED, topics.MEMBERSHIP_TYPE_CHANGED):
        service.subscribe(
            topic,
            MembershipTypeChanged,
            usecases.sync_membership_type,
            description="A membership type is a product in the Memberships category at each of its locations.",
        )
    service.subscribe(
        topics.MEMBERSHIP_ISSUED,
        MembershipIssued,
        batch=usecases.remember_issued_codes,
        description="A membership was issued (whoever sold it): its code is in use in the chain; a desk sale "
        "of it answers 409 code_taken, a paid visit's unit of it is refused.",
    )
    service.subscribe(
        topics.MEMBERSHIP_ISSUE_REJECTED,
        MembershipIssueRejected,
        usecases.refuse_membership_sale,
        description="One of inventory's own membership sales was not issued: its line records the unit refused, "
        "the unit is back in stock, inventory.membership_sale_refused tells the administrator.",
    )
    for topic in (topics.GIFT_CARD_TYPE_CREATED, topics.GIFT_CARD_TYPE_CHANGED):
        service.subscribe(
            topic,
            GiftCardTypeChanged,
            usecases.sync_gift_card_type,
            description="A gift card type is a product in the Gift cards category at each of its locations.",
        )
    service.subscribe(
        topics.GIFT_CARD_ISSUED,
        GiftCardIssued,
        batch=usecases.remember_issued_gift_card_codes,
        description="A gift card was issued (whoever sold it): its code is in use among the chain's gift cards; "
        "a desk sale of it answers 409 code_taken, a paid visit's unit of it is refused.",
    )
    service.subscribe(
        topics.GIFT_CARD_ISSUE_REJECTED,
        GiftCardIssueRejected,
        usecases.refuse_gift_card_sale,
        description="One of inventory's own gift card sales was not issued: its line records the unit refused, "
        "the unit is back in stock, its code is free, inventory.gift_card_sale_refused tells the administrator.",
    )
