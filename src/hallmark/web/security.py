"""Page security: session cookies backed by revocable tokens, and CSRF tokens.

A page session is an API token named "web session" kept in an HttpOnly, SameSite=Lax cookie;
logging out revokes it and it expires on its own. Every form carries a CSRF token that must
match a signed cookie (double submit) bound to the visitor's session, so another site cannot
post forms as the visitor, nor plant a cookie that still works once they sign in.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SESSION_COOKIE = "hallmark_session"
CSRF_COOKIE = "hallmark_csrf"
CSRF_FIELD = "csrf_token"
WEB_SESSION_NAME = "web session"


def new_csrf_cookie(secret: str, session_token: str | None = None) -> str:
    """A fresh random nonce signed together with the visitor's session, as the CSRF cookie."""
    nonce = secrets.token_urlsafe(24)
    return f"{nonce}.{_sign(secret, nonce, session_token)}"


def csrf_token_from_cookie(
    secret: str, cookie: str | None, session_token: str | None = None
) -> str | None:
    """The token forms must carry for this cookie, or None if it is missing, forged, or was
    issued for another session (a cookie planted before sign-in is worth nothing after it)."""
    if not cookie or "." not in cookie:
        return None
    nonce, signature = cookie.rsplit(".", 1)
    if not hmac.compare_digest(signature, _sign(secret, nonce, session_token)):
        return None
    return nonce


def csrf_matches(
    secret: str, cookie: str | None, submitted: str | None, session_token: str | None = None
) -> bool:
    """Whether a submitted form token belongs to the visitor's signed CSRF cookie and session."""
    expected = csrf_token_from_cookie(secret, cookie, session_token)
    return (
        expected is not None and submitted is not None and hmac.compare_digest(expected, submitted)
    )


def _sign(secret: str, value: str, session_token: str | None) -> str:
    session_part = hashlib.sha256((session_token or "").encode()).hexdigest()
    message = f"csrf:{value}:{session_part}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:32]
