"""One tree of application errors; each maps to an HTTP status and a one-line CLI message."""

from __future__ import annotations


class AppError(Exception):
    """A failure the user can act on: a stable code, a clear message, the rule if one applied."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, rule: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.rule = rule

    def as_dict(self) -> dict[str, str | None]:
        """The error body every API response uses: `{"error": {...}}` holds this."""
        return {"code": self.code, "message": self.message, "rule": self.rule}


class InvalidInput(AppError):
    """The request is well-formed but its content is unacceptable (bad image, bad field)."""

    status_code = 422
    code = "invalid_input"


class UnsupportedMediaType(InvalidInput):
    """A file is not an image format Hallmark accepts."""

    status_code = 415
    code = "unsupported_media_type"


class PayloadTooLarge(InvalidInput):
    """A file is bigger, in bytes or pixels, than the configured limit."""

    status_code = 413
    code = "payload_too_large"


class NotAuthenticated(AppError):
    """No valid credentials were presented."""

    status_code = 401
    code = "not_authenticated"


class Forbidden(AppError):
    """The actor is known but a rule refuses the action."""

    status_code = 403
    code = "forbidden"


class NotFound(AppError):
    """The thing does not exist, or the actor may not know that it exists."""

    status_code = 404
    code = "not_found"


class Conflict(AppError):
    """The action clashes with existing state (a taken name, a work registered by someone else)."""

    status_code = 409
    code = "conflict"


class TooManyRequests(AppError):
    """The actor is going faster than the configured rate; `retry_after` says when to try again."""

    status_code = 429
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Overloaded(AppError):
    """The server is at capacity for this kind of work; nothing was done, try again shortly."""

    status_code = 503
    code = "overloaded"

    def __init__(self, message: str, *, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AcknowledgementRequired(AppError):
    """The action needs the actor's explicit acknowledgement first; the message says how."""

    status_code = 428
    code = "acknowledgement_required"
