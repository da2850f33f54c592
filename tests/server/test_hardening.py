"""What every deployment needs: guessing passwords is slowed, absurd offsets are a client error,
browsers are told not to sniff, and stopping the server gives a running job back.

- `POST /api/tokens` took any number of wrong passwords (only the page login was limited).
- An `offset` of 2^63 or more overflowed the database's integer: a 500.
- No response carried `X-Content-Type-Options: nosniff`.
- SIGTERM while a job ran left it "running" with its attempt spent, for the watchdog to find a
  minute later and count against the job's three attempts.
"""

from __future__ import annotations

from typing import Any

from tests.server.harness import Launch, Server, is_training, timed

WRONG = "not the password at all"


def test_token_requests_are_rate_limited(launch: Launch) -> None:
    server = launch("sqlite")
    server.sign_up("ana")
    statuses = []
    with server.client() as api:
        for _ in range(15):
            answer = timed(api, "POST", "/api/tokens", json={"username": "ana", "password": WRONG})
            statuses.append(answer.status)
            if answer.status == 429:
                break

    assert statuses[-1] == 429, f"wrong passwords answered {statuses}"
    assert len(statuses) <= 12, f"limited only after {len(statuses) - 1} wrong passwords"
    assert set(statuses[:-1]) == {401}, statuses
    assert answer.body["error"]["code"] == "too_many_requests", answer.body
    assert 1 <= int(answer.headers["retry-after"]) <= 60, answer.headers


HUGE_OFFSETS = [2**63, 2**64, 10**30]
LISTS = ["/api/styles/public", "/api/styles", "/api/artworks", "/api/generations"]


def test_an_offset_past_64_bits_is_refused_with_422(server: Server) -> None:
    ana = server.sign_up("ana")
    wrong = []
    with server.client() as api:
        for path in LISTS:
            for offset in HUGE_OFFSETS:
                answer = timed(api, "GET", path, params={"offset": offset}, headers=ana)
                if answer.status != 422 or "error" not in (answer.body or {}):
                    wrong.append(f"{path}?offset={offset}: {answer.describe()}")

    assert not wrong, wrong


def test_every_response_says_nosniff(launch: Launch) -> None:
    server = launch("sqlite")  # headers are the HTTP layer's: one database is enough
    ana = server.sign_up("ana")
    requests: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", "/api/health", {}),
        ("GET", "/api/styles/public", {}),
        ("GET", "/api/artworks", {"headers": ana}),
        ("GET", "/api/artworks", {}),  # 401
        ("GET", "/api/no-such-thing", {}),  # 404
        ("DELETE", "/api/health", {}),  # 405
        ("POST", "/api/tokens", {"json": {"username": 1}}),  # 422
        ("GET", "/", {}),  # a page
        ("GET", "/docs", {}),
        ("GET", "/openapi.json", {}),
        ("GET", "/static/no-such-file.css", {}),
    ]
    missing = []
    with server.client() as api:
        for method, path, options in requests:
            answer = timed(api, method, path, **options)
            if answer.headers.get("x-content-type-options") != "nosniff":
                missing.append(f"{method} {path} ({answer.status})")

    assert not missing, f"without X-Content-Type-Options: nosniff: {missing}"


def test_sigterm_gives_a_running_job_back_to_the_queue(launch: Launch) -> None:
    # The hand-back is the job worker's, through the same statements on both databases.
    server = launch("sqlite")
    ana = server.sign_up("ana")
    style_id = server.create_style(ana, "Washes", server.upload_works(ana, 4))
    job_id = server.train(ana, style_id, steps=5000)["id"]
    server.wait_for_job(ana, job_id, until=is_training, timeout=120)
    assert server.job_row(job_id)["attempts"] == 1

    exit_code = server.terminate(grace=60)

    assert exit_code is not None, "the server was still running a minute after SIGTERM"
    stored = server.job_row(job_id)
    assert (stored["state"], stored["attempts"]) == ("queued", 0), stored

    server.start()  # the same data directory and database: the job is taken up again
    again = server.wait_for_job(ana, job_id, until=lambda job: job["state"] == "running")
    assert again["attempts"] == 1, again
