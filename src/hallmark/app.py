"""The FastAPI application factory: API routers, error shapes, and the instance's resources."""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeout
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from hallmark import __version__
from hallmark.accounts.routes import router as accounts_router
from hallmark.accounts.token_use import TokenUseRecorder
from hallmark.advice.routes import router as advice_router
from hallmark.artworks.routes import router as artworks_router
from hallmark.compute import compute_threads, size_compute_threads
from hallmark.config import Settings, get_settings
from hallmark.db import is_lock_timeout
from hallmark.errors import AppError, Overloaded, TooManyRequests
from hallmark.gallery.routes import router as gallery_router
from hallmark.generations.routes import router as generations_router
from hallmark.health import HealthCheck
from hallmark.instance import Instance
from hallmark.jobs.host import HostWorkerHealth
from hallmark.jobs.routes import router as jobs_router
from hallmark.jobs.runner import WorkerPool
from hallmark.licensing.routes import router as licensing_router
from hallmark.provenance.routes import router as provenance_router
from hallmark.rate_limits import make_rate_limiter
from hallmark.serving import (
    RETRY_AFTER_SECONDS,
    AdmissionMiddleware,
    BodyLimitMiddleware,
    BodyLimits,
    LongPollSlots,
    SecurityHeadersMiddleware,
    size_thread_pool,
    waits_without_a_thread,
)
from hallmark.storage import BlobStoreError
from hallmark.styles.routes import router as styles_router
from hallmark.usage.routes import router as usage_router
from hallmark.web.gallery_routes import router as gallery_pages_router
from hallmark.web.market_routes import router as market_pages_router
from hallmark.web.routes import router as web_router
from hallmark.web.studio_routes import router as studio_pages_router

logger = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "web" / "static"


def _error(status_code: int, code: str, message: str, rule: str | None = None) -> JSONResponse:
    return JSONResponse(
        status_code=status_code, content={"error": {"code": code, "message": message, "rule": rule}}
    )


def _describe_validation_error(error: RequestValidationError) -> str:
    """The first problem of a malformed request in one line: where, and what is wrong."""
    problems = []
    for item in error.errors()[:3]:
        location = ".".join(str(part) for part in item.get("loc", ()) if part != "body")
        problems.append(f"{location or 'request'}: {item.get('msg', 'invalid')}")
    return "; ".join(problems) or "The request is malformed."


HTTP_ERROR_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


def _busy(reason: str) -> JSONResponse:
    """503 with Retry-After: the work was not done, and trying again shortly is the fix."""
    response = _error(503, "overloaded", f"{reason}; try again in {RETRY_AFTER_SECONDS} s.")
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def install_error_handlers(app: FastAPI) -> None:
    """Every error leaves as `{"error": {"code", "message", "rule"}}` with the right status."""

    @app.exception_handler(AppError)
    async def _app_error(_request: Request, error: AppError) -> JSONResponse:
        response = _error(error.status_code, error.code, error.message, error.rule)
        if isinstance(error, TooManyRequests | Overloaded):
            response.headers["Retry-After"] = str(max(1, math.ceil(error.retry_after)))
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, error: RequestValidationError) -> JSONResponse:
        return _error(422, "invalid_request", _describe_validation_error(error))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = HTTP_ERROR_CODES.get(error.status_code, "http_error")
        return _error(error.status_code, code, str(error.detail))

    @app.exception_handler(SQLAlchemyTimeout)
    async def _pool_exhausted(_request: Request, error: SQLAlchemyTimeout) -> JSONResponse:
        logger.warning("database pool exhausted: %s", error)
        return _busy("Every database connection is in use")

    @app.exception_handler(OperationalError)
    async def _database_unavailable(_request: Request, error: OperationalError) -> JSONResponse:
        if is_lock_timeout(error):
            logger.warning("database lock wait ran out: %s", error.orig)
            return _busy("The database is busy")
        logger.exception("database error", exc_info=error)
        return _busy("The database cannot be reached")

    @app.exception_handler(BlobStoreError)
    async def _blob_store_unavailable(_request: Request, error: BlobStoreError) -> JSONResponse:
        logger.error("%s", error)  # names the bucket and endpoint; the client is not told them
        return _busy("The file store cannot be reached")

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, error: Exception) -> JSONResponse:
        logger.exception("unhandled error", exc_info=error)
        return _error(500, "internal_error", "Something went wrong on our side; it was logged.")


def create_app(
    settings: Settings | None = None,
    *,
    run_migrations: bool = True,
    start_workers: bool = False,
    host_worker: bool = False,
) -> FastAPI:
    """Build the studio for one instance: its settings, database, blob store and routes.

    `start_workers` runs job workers as threads of this process (tests, embedding);
    `host_worker` reports on the host's separate job worker process (`hallmark serve`).
    """
    settings = settings or get_settings()
    settings.resolved_secret_key()
    # Opened now (migrations, the fingerprint index); closed when the server's lifespan ends.
    opened = ExitStack()
    instance = opened.enter_context(
        Instance.open(
            settings,
            migrate_schema=run_migrations,
            pool_size=settings.resolved_database_pool_size,
        )
    )
    engine, session_factory = instance.database, instance.sessions
    assert engine is not None
    token_uses = TokenUseRecorder(session_factory)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        size_thread_pool(settings.request_threads)
        size_compute_threads(compute_threads(settings, serves_api=True, runs_jobs=start_workers))
        token_uses.start()
        pool = WorkerPool(instance, session_factory) if start_workers else None
        if pool is not None:
            pool.start()
            app.state.worker_pool = pool
        elif host_worker:
            app.state.worker_pool = HostWorkerHealth(settings, instance.queues)
        yield
        if pool is not None:
            await run_in_threadpool(pool.stop)
        token_uses.stop()
        opened.close()

    app = FastAPI(
        title="Hallmark",
        version=__version__,
        description="An AI studio owned by its artists. Every decision names its ownership rule.",
        lifespan=lifespan,
    )
    app.state.instance = instance
    app.state.engine = engine
    app.state.session_factory = session_factory
    app.state.login_limiter = make_rate_limiter(
        settings, "login", settings.login_attempts_per_minute
    )
    app.state.generation_limiter = make_rate_limiter(
        settings, "generation", settings.generations_per_minute
    )
    app.state.verification_limiter = make_rate_limiter(
        settings, "verification", settings.verifications_per_minute
    )
    app.state.token_uses = token_uses
    app.state.long_polls = LongPollSlots(settings.max_long_polls)
    app.state.worker_pool = None
    app.state.health = HealthCheck(engine, instance)
    install_error_handlers(app)
    # The last added runs first: headers on every answer, then body limits, then admission.
    app.add_middleware(
        AdmissionMiddleware,
        slots=settings.admitted_requests,
        queued=settings.max_queued_requests,
        wait_seconds=settings.request_queue_seconds,
        exempt=waits_without_a_thread,
    )
    app.add_middleware(BodyLimitMiddleware, limits=BodyLimits.from_settings(settings))
    app.add_middleware(SecurityHeadersMiddleware)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    for router in (
        accounts_router,
        artworks_router,
        styles_router,
        generations_router,
        licensing_router,
        gallery_router,
        usage_router,
        provenance_router,
        advice_router,
        jobs_router,
        web_router,
        studio_pages_router,
        market_pages_router,
        gallery_pages_router,
    ):
        app.include_router(router)

    @app.get("/api/health", tags=["meta"], response_model=None)
    async def health(request: Request) -> JSONResponse:
        """The process, its database and its job queue: 200 when all answer, else 503."""
        report = await request.app.state.health.report(request.app.state.worker_pool)
        status_code = 200 if report["status"] == "ok" else 503
        response = JSONResponse(report, status_code=status_code)
        if status_code == 503:
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    return app


def create_app_in_process() -> FastAPI:
    """The app of one of several API processes `hallmark serve --processes N` starts (a uvicorn
    factory, called in each process); the command migrated the database before starting them."""
    settings = get_settings()
    return create_app(
        settings, run_migrations=False, host_worker=settings.resolved_serve_job_workers
    )
