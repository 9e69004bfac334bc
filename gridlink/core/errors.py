"""Domain errors raised by services; the API, web and CLI layers turn them into replies."""

from __future__ import annotations


class DomainError(Exception):
    """A refusal the user can act on. `field` names the input at fault, if any."""

    status = 400

    def __init__(self, message: str, *, code: str = "invalid", field: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field

    def as_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "field": self.field, "message": self.message}


class NotPermitted(DomainError):
    status = 403

    def __init__(self, message: str, *, code: str = "forbidden", field: str | None = None):
        super().__init__(message, code=code, field=field)
