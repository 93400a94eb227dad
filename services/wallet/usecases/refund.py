"""Placeholder: being written (issue 17)."""

from shared.events import VisitCancelled
from shared.uow import UnitOfWork


async def refund_visits(uow: UnitOfWork, events: list[VisitCancelled]) -> None:
    raise NotImplementedError("wallet: refund_visits")
