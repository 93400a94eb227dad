"""Errors the HTTP layer turns into clear answers (shared/http.py); domain code raises them."""


class ApiError(Exception):
    status = 400

    def __init__(self, code: str, message: str = "", field: str | None = None) -> None:
        super().__init__(message or code)
        self.code = code
        self.message = message or code.replace("_", " ")
        self.field = field


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    """A rule forbids it (e.g. a price change after the first sale): 409 with the reason."""

    status = 409


class Invalid(ApiError):
    """A body that parses but breaks a rule of its own (422, naming the field)."""

    status = 422
