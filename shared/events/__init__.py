"""Pydantic models of every message in the public contract (docs/contract.md), written once.

A service that consumes another's event reads the model here, never the other service's code:
- inbound.py: what booking systems publish (`visit.*`, `membership.sold`);
- memberships.py, loyalty.py, inventory.py: the domain events each service publishes;
- notifications.py: notices for aggregators and their delivery receipts;
- base.py: money, ids, times, the base classes.
"""

from shared.events.base import (
    CENTS,
    DomainEvent,
    Id,
    Model,
    Money,
    NonNegativeMoney,
    PastTime,
    Time,
    new_event_id,
    utcnow,
)
from shared.events.inbound import (
    Client,
    Envelope,
    MembershipRef,
    MembershipSold,
    VisitCancelled,
    VisitLine,
    VisitPaid,
    VisitService,
    VisitStatus,
)
from shared.events.inventory import MembershipSaleRefused, SaleRecorded, StockChanged, StockLow
from shared.events.loyalty import (
    BonusAccrued,
    BonusBurned,
    BonusBurning,
    BonusSpendRejected,
    BonusSpent,
    CardEvent,
    CategoriesChanged,
    ClientLoyaltyEvent,
    DiscountChanged,
    DiscountExpiring,
    LevelChanged,
)
from shared.events.memberships import (
    MembershipActivated,
    MembershipDeducted,
    MembershipDeductionRejected,
    MembershipDeductionReversed,
    MembershipExpired,
    MembershipExpiring,
    MembershipFrozen,
    MembershipIssued,
    MembershipIssueRejected,
    MembershipStateEvent,
    MembershipTypeChanged,
    MembershipTypeService,
    MembershipUnfrozen,
)
from shared.events.notifications import DeliveryReceipt, Notice

__all__ = [
    "CENTS",
    "BonusAccrued",
    "BonusBurned",
    "BonusBurning",
    "BonusSpendRejected",
    "BonusSpent",
    "CardEvent",
    "CategoriesChanged",
    "Client",
    "ClientLoyaltyEvent",
    "DeliveryReceipt",
    "DiscountChanged",
    "DiscountExpiring",
    "DomainEvent",
    "Envelope",
    "Id",
    "LevelChanged",
    "MembershipActivated",
    "MembershipDeducted",
    "MembershipDeductionRejected",
    "MembershipDeductionReversed",
    "MembershipExpired",
    "MembershipExpiring",
    "MembershipFrozen",
    "MembershipIssueRejected",
    "MembershipIssued",
    "MembershipRef",
    "MembershipSaleRefused",
    "MembershipSold",
    "MembershipStateEvent",
    "MembershipTypeChanged",
    "MembershipTypeService",
    "MembershipUnfrozen",
    "Model",
    "Money",
    "NonNegativeMoney",
    "Notice",
    "PastTime",
    "SaleRecorded",
    "StockChanged",
    "StockLow",
    "Time",
    "VisitCancelled",
    "VisitLine",
    "VisitPaid",
    "VisitService",
    "VisitStatus",
    "new_event_id",
    "utcnow",
]
