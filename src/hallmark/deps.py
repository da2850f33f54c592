"""FastAPI dependencies shared by every router: the instance, the request's session, the user.

The ones that only read the app's state are `async def`, so they run on the event loop
without a trip to a thread; everything that touches the database is a plain `def`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, BinaryIO

from fastapi import Depends, Request, Response
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from hallmark.accounts.models import User
from hallmark.accounts.service import authenticate_token, normalise_username
from hallmark.accounts.token_use import TokenUseRecorder
from hallmark.config import Settings
from hallmark.db import transaction
from hallmark.errors import NotAuthenticated
from hallmark.instance import Instance
from hallmark.storage import BlobStore

_bearer = HTTPBearer(auto_error=False, description="An API token from POST /api/tokens")


async def get_instance(request: Request) -> Instance:
    """The instance the app was built for."""
    instance: Instance = request.app.state.instance
    return instance


async def get_settings(request: Request) -> Settings:
    """The settings the app was built with."""
    settings: Settings = request.app.state.instance.settings
    return settings


READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the handler returns, rolled back if it raises.

    Reads (GET, HEAD) begin a plain transaction that takes no lock and may not write (see
    `db.open_session`). On SQLite a request that may write takes the write lock when it begins,
    waiting for it under the busy timeout, so it never fails because a job worker wrote
    between its reads and its writes. FastAPI ends it on a thread of its own, never behind the
    route threads, which may all be waiting on the very lock its commit releases.
    """
    reads = request.method in READ_ONLY_METHODS
    factory = request.app.state.session_factory
    with transaction(factory, immediate=not reads, read_only=reads) as session:
        yield session


def client_address(request: Request) -> str:
    """The address a request came from, the key of per-visitor rate limits."""
    return request.client.host if request.client else "unknown"


def sign_in_attempt_key(request: Request, username: str) -> str:
    """What sign-in rate limits count by: the address and the (normalised) name tried."""
    return f"{client_address(request)}/{normalise_username(username)}"


async def get_blob_store(request: Request) -> BlobStore:
    """The blob store the app was built with."""
    blobs: BlobStore = request.app.state.instance.blobs
    return blobs


InstanceDep = Annotated[Instance, Depends(get_instance)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
# Committed before the response is sent ("function" scope): a client acting on the response
# at once (polling the job it just queued) must find what the request wrote.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
BlobStoreDep = Annotated[BlobStore, Depends(get_blob_store)]


def user_for_bearer(request: Request, session: Session, token: str) -> User:
    """The holder of a token; its use is noted for the background writer, never written here."""
    holder = authenticate_token(session, token)
    recorder: TokenUseRecorder | None = getattr(request.app.state, "token_uses", None)
    if recorder is not None:
        recorder.note(holder)
    return holder.user


def get_optional_user(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User | None:
    """The signed-in user or None; a bad token is an error, never silently anonymous."""
    if credentials is None:
        return None
    return user_for_bearer(request, session, credentials.credentials)


async def get_current_user(user: Annotated[User | None, Depends(get_optional_user)]) -> User:
    """The signed-in user; anonymous requests are refused."""
    if user is None:
        raise NotAuthenticated("Sign in: send 'Authorization: Bearer <token>'.")
    return user


OptionalUser = Annotated[User | None, Depends(get_optional_user)]
CurrentUser = Annotated[User, Depends(get_current_user)]


def get_user_without_session(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    """The signed-in user, looked up in a transaction of its own that ends before the route runs.

    For routes that wait (long-polls): they hold no database connection while they wait.
    """
    if credentials is None:
        raise NotAuthenticated("Sign in: send 'Authorization: Bearer <token>'.")
    with transaction(request.app.state.session_factory, read_only=True) as session:
        user = user_for_bearer(request, session, credentials.credentials)
        session.expunge(user)
    return user


UserWithoutSession = Annotated[User, Depends(get_user_without_session)]


BLOB_CHUNK_BYTES = 256 * 1024


def blob_response(blobs: BlobStore, sha256: str, mime: str) -> Response:
    """A stored blob streamed from whichever store holds it, cacheable by its content hash.

    Its reader and length are had before the response starts, so a missing blob is a 404 and a
    store that cannot be used a 503. Opened first: on S3 only a GET tells a missing bucket from
    a missing blob.
    """
    reader = blobs.open(sha256)
    try:
        size = blobs.size(sha256)
    except BaseException:
        reader.close()
        raise
    headers = {
        "ETag": f'"{sha256}"',
        "Cache-Control": "private, max-age=3600",
        "Content-Length": str(size),
    }
    return StreamingResponse(_chunks_of(reader), media_type=mime, headers=headers)


def _chunks_of(reader: BinaryIO) -> Iterator[bytes]:
    """The reader's bytes in chunks; the reader is closed when the stream ends or is dropped."""
    with reader:
        while chunk := reader.read(BLOB_CHUNK_BYTES):
            yield chunk
