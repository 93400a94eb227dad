"""Every command and query of the loyalty service (the app index)."""

from services.loyalty.usecases.queries import client_loyalty
from services.loyalty.usecases.record_visit import record_arrival, record_no_show, record_payment

__all__ = ["client_loyalty", "record_arrival", "record_no_show", "record_payment"]
