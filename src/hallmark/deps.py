"""FastAPI dependencies shared by every router: the instance, the request's session, the user."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request, Response
from fastapi.responses import FileResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from hallmark.accounts.models import User
from hallmark.accounts.service import user_for_token
from hallmark.config import Settings
from hallmark.db import transaction
from hallmark.errors import NotAuthenticated
from hallmark.instance import Instance
from hallmark.storage import BlobStore

_bearer = HTTPBearer(auto_error=False, description="An API token from POST /api/tokens")


def get_instance(request: Request) -> Instance:
    """The instance the app was built for."""
    instance: Instance = request.app.state.instance
    return instance


def get_settings(request: Request) -> Settings:
    """The settings the app was built with."""
    return get_instance(request).settings


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the handler returns, rolled back if it raises.

    On SQLite it takes the write lock when it begins, so a request that reads and then writes
    never fails because a job worker wrote in between; long-polls, which only read, do not.
    """
    immediate = not request.url.path.endswith("/wait")
    with transaction(request.app.state.session_factory, immediate=immediate) as session:
        yield session


def get_blob_store(request: Request) -> BlobStore:
    """The blob store the app was built with."""
    return get_instance(request).blobs


InstanceDep = Annotated[Instance, Depends(get_instance)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
# Committed before the response is sent ("function" scope): a client acting on the response
# at once (polling the job it just queued) must find what the request wrote.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
BlobStoreDep = Annotated[BlobStore, Depends(get_blob_store)]


def get_optional_user(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User | None:
    """The signed-in user or None; a bad token is an error, never silently anonymous."""
    if credentials is None:
        return None
    return user_for_token(session, credentials.credentials)


def get_current_user(user: Annotated[User | None, Depends(get_optional_user)]) -> User:
    """The signed-in user; anonymous requests are refused."""
    if user is None:
        raise NotAuthenticated("Sign in: send 'Authorization: Bearer <token>'.")
    return user


OptionalUser = Annotated[User | None, Depends(get_optional_user)]
CurrentUser = Annotated[User, Depends(get_current_user)]


def blob_response(blobs: BlobStore, sha256: str, mime: str) -> Response:
    """A file response for a stored blob, cacheable by its content hash."""
    headers = {"ETag": f'"{sha256}"', "Cache-Control": "private, max-age=3600"}
    path = blobs.path_for(sha256)
    if path is not None:
        return FileResponse(path, media_type=mime, headers=headers)
    return Response(blobs.get(sha256), media_type=mime, headers=headers)
