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


def changes_apply(
    instance: object, changes: dict[str, object], allowed: tuple[str, ...]
) -> list[str]:
    """Set the fields of `changes` on `instance` (text stripped); return the names that
    changed. A field outside `allowed` is a `DomainError` naming it, and nothing is set."""
    unknown = sorted(set(changes) - set(allowed))
    if unknown:
        raise DomainError(f"{unknown[0]} cannot be changed here.", code="unknown", field=unknown[0])
    changed = []
    for name, value in changes.items():
        value = value.strip() if isinstance(value, str) else value
        if getattr(instance, name) != value:
            setattr(instance, name, value)
            changed.append(name)
    return changed
