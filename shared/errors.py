"""Errors the HTTP layer turns into clear answers (shared/http.py); domain code raises them. And the
bodies of those answers, as every route's OpenAPI document declares them."""

from typing import Any

from pydantic import BaseModel, Field


class ApiError(Exception):
    status = 400

    def __init__(self, code: str, message: str = "", field: str | None = None) -> None:
        super().__init__(message or code)
        self.code = code
        self.message = message or code.replace("_", " ")
        self.field = field


class Forbidden(ApiError):
    """An API key of the chain without the route's scope (`insufficient_scope`)."""

    status = 403


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    """A rule forbids it (e.g. a price change after the first sale): 409 with the reason."""

    status = 409


class TooLarge(ApiError):
    """What the request would make is larger than the system takes (413, naming the field)."""

    status = 413


class Invalid(ApiError):
    """A body that parses but breaks a rule of its own (422, naming the field)."""

    status = 422


# --- what the answers look like (the OpenAPI document of every route under /v1/chains/{chain_id}) ---


class ErrorOut(BaseModel):
    """Every refusal: `error` is the reason for programs (`membership_not_found`, `price_locked`,
    `unauthorized`), `message` the sentence for people, `field` the field at fault when there is one."""

    error: str
    message: str
    field: str | None = None


class FieldProblem(BaseModel):
    field: str
    message: str
    type: str


class ValidationFailedOut(ErrorOut):
    """422: `validation_failed` names every field at fault in `fields` (and `detail` is FastAPI's own
    list, for clients written against it); a rule of the body's own (`Invalid`) names its `field`."""

    fields: list[FieldProblem] = Field(default_factory=list)
    detail: list[dict[str, Any]] = Field(default_factory=list)


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "The body could not be read (not UTF-8)"},
    401: {"model": ErrorOut, "description": "No API key, or a wrong, revoked or expired one"},
    403: {
        "model": ErrorOut,
        "description": "The key lacks the route's scope (`insufficient_scope`): "
        "read for GET, write for the others, admin for jobs",
    },
    404: {"model": ErrorOut, "description": "Not in this chain (a key of another chain finds nothing either)"},
    409: {"model": ErrorOut, "description": "A rule forbids it; `error` names the rule"},
    413: {
        "model": ErrorOut,
        "description": "A body over 4 MiB, refused before it is read (`payload_too_large`); "
        "or an event the request would cause is larger than its topic takes "
        "(`event_too_large`, `field` names the largest part)",
    },
    422: {"model": ValidationFailedOut, "description": "Invalid input, the fields at fault named"},
    503: {
        "model": ErrorOut,
        "description": "The database cannot be reached, or every connection is busy: "
        "retry after the Retry-After header's seconds",
    },
}
