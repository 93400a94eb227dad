"""Every command and query of the memberships service, one module each (the app index)."""

from services.memberships.usecases.create_type import create_type
from services.memberships.usecases.pay_visit import pay_visit
from services.memberships.usecases.queries import find_memberships, get_membership, get_type, list_types
from services.memberships.usecases.sell import sell

__all__ = ["create_type", "find_memberships", "get_membership", "get_type", "list_types", "pay_visit", "sell"]
