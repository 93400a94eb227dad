"""Every command of the gateway (the app index)."""

from services.gateway.usecases.accept import accept_events

__all__ = ["accept_events"]
