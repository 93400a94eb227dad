"""Placeholder: being written (issue 17)."""

from shared.events import VisitPaid
from shared.uow import UnitOfWork


async def pay_visits(uow: UnitOfWork, events: list[VisitPaid]) -> None:
    raise NotImplementedError("wallet: pay_visits")
