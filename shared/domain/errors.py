"""Domain errors raised by services; each service maps them to HTTP in one place."""

from __future__ import annotations

from datetime import datetime


class DomainError(Exception):
    """Base class: `message` is safe to show to API clients."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(DomainError):
    """The request is malformed or violates a validation rule (400)."""


class NotFound(DomainError):
    """The addressed resource does not exist (404)."""


class Conflict(DomainError):
    """The resource exists already or is in a state that forbids the operation (409)."""

    def __init__(
        self, message: str, *, status: str | None = None, next_retry_at: datetime | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.next_retry_at = next_retry_at


class RateLimited(DomainError):
    """Too many accepted triggers in the current window (429)."""

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Overloaded(DomainError):
    """Runs wait longer for a runner than the API admits (503 with Retry-After)."""

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Unavailable(DomainError):
    """A dependency (database, Kafka) cannot be reached right now (503)."""


class UnsupportedMediaType(DomainError):
    """The request body is not of a content type the endpoint accepts (415)."""
