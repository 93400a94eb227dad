"""Every command and query of the memberships service, one module each (the app index)."""

from services.memberships.usecases.arrive import arrive
from services.memberships.usecases.auto_deduct import deduct_late_cancel, deduct_no_show
from services.memberships.usecases.change_type import duplicate_type, set_archived, update_type
from services.memberships.usecases.create_type import create_type
from services.memberships.usecases.edit import edit
from services.memberships.usecases.freeze import freeze, unfreeze
from services.memberships.usecases.import_memberships import import_memberships
from services.memberships.usecases.jobs import JOBS
from services.memberships.usecases.pay_visit import pay_visits
from services.memberships.usecases.policy import get_policy, put_policy
from services.memberships.usecases.queries import (
    eligibility,
    find_memberships,
    get_membership,
    get_type,
    list_types,
    report,
)
from services.memberships.usecases.quote import quote_part
from services.memberships.usecases.report_sold import sold_report
from services.memberships.usecases.sell import sale_key, sell

__all__ = [
    "JOBS",
    "arrive",
    "create_type",
    "deduct_late_cancel",
    "deduct_no_show",
    "duplicate_type",
    "edit",
    "eligibility",
    "find_memberships",
    "freeze",
    "get_membership",
    "get_policy",
    "get_type",
    "import_memberships",
    "list_types",
    "pay_visits",
    "put_policy",
    "quote_part",
    "report",
    "sale_key",
    "sell",
    "set_archived",
    "sold_report",
    "unfreeze",
    "update_type",
]
