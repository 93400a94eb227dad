"""Every command and query of the notifications service (the app index)."""

from services.notifications.usecases.notify_deduction import notify_deduction
from services.notifications.usecases.queries import list_notices

__all__ = ["list_notices", "notify_deduction"]
