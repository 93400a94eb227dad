"""All SQL of the memberships service. Every query is scoped by chain_id.

`Repository` answers one chain's requests and jobs, a module per seam (types.py: types and policies,
memberships.py: memberships and their history, jobs.py: what the time-driven jobs read, report.py: the
report of memberships sold); batch.py holds the statements of a consumed batch, each one for the whole
batch's rows of a table."""

from services.memberships.repository.jobs import JobQueries, chains_with_work
from services.memberships.repository.memberships import MembershipQueries
from services.memberships.repository.report import ReportQueries, SoldFilter
from services.memberships.repository.rows import membership_from_row, spec_of, type_from_row
from services.memberships.repository.types import TypeQueries, type_cache


class Repository(TypeQueries, MembershipQueries, JobQueries, ReportQueries):
    """One chain's queries (`batch`: a consumer's uow.batch, where the types read are kept for the batch)."""


__all__ = [
    "Repository",
    "SoldFilter",
    "chains_with_work",
    "membership_from_row",
    "spec_of",
    "type_cache",
    "type_from_row",
]
