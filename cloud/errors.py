"""Domain errors: each carries a stable code, a Russian message and an HTTP status.

Services raise them; the API middleware turns them into ``{"code", "message"}`` bodies
and vendor adapters into their own error shapes.
"""

from __future__ import annotations


class DomainError(Exception):
    status = 400

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class BadRequest(DomainError):
    status = 400


class Unauthorized(DomainError):
    status = 401


class Forbidden(DomainError):
    status = 403


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    status = 409


class Unprocessable(DomainError):
    """Well-formed but impossible: insufficient bonuses, an expired hold."""

    status = 422


class PaymentRequired(DomainError):
    status = 402


class TooManyRequests(DomainError):
    status = 429


class Unavailable(DomainError):
    """A service we depend on (Telegram, a gateway) did not answer: try again later."""

    status = 503


class DatabaseUnavailable(Unavailable):
    """The database cannot be reached (restarting, refusing connections, a connection cut
    mid-statement). Raised by the database layer for every such failure, so every door
    answers it in its own shape as a retryable 503, never a 500: whatever the transaction
    had written was rolled back with it, and the till's repeat of the call is safe."""

    def __init__(self) -> None:
        super().__init__("database_unavailable", "Сервис не готов: база данных не отвечает")
