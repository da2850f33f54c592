"""Long-polls during a training: answered, never a 500, and never at anonymous readers' expense.

- A long-poll (`GET /api/jobs/{id}/wait`) read the token and then waited; recording the token's
  first use at its end, on SQLite, found the training's progress writes in between and failed
  with "database is locked": a 500 after the whole wait.
- 45 long-polls of one user took every worker thread and database connection: anonymous reads
  waited for them, and both ended in 500s when the connection pool timed out.
"""

from __future__ import annotations

from tests.server.harness import (
    Outcome,
    Poller,
    Training,
    in_parallel,
    is_training,
    latencies,
    percentile,
    sample,
    server_errors,
    summary,
    timed,
)

POLL_SECONDS = 5  # how long each of the 45 long-polls may wait on the server


def test_a_long_poll_with_an_unused_token_during_a_training_answers(training: Training) -> None:
    server = training.server
    unused = [server.new_token("ana") for _ in range(3)]

    def wait(number: int) -> list[Outcome]:
        with server.client(timeout=60) as api:
            path = f"/api/jobs/{training.job_id}/wait"
            return [timed(api, "GET", path, params={"timeout": 10}, headers=unused[number])]

    outcomes = in_parallel(3, wait)

    assert [outcome.status for outcome in outcomes] == [200] * 3, (
        f"{summary(outcomes)}: {[outcome.describe() for outcome in outcomes]}"
    )
    assert all(is_training(outcome.body) for outcome in outcomes), "the training stopped early"


def test_45_long_polls_of_one_user_neither_fail_nor_starve_anonymous_reads(
    training: Training,
) -> None:
    server = training.server
    with server.client() as api:
        baseline = sample(api, "/api/styles/public", 30)
    assert all(outcome.status == 200 for outcome in baseline), summary(baseline)
    patience = 4 * POLL_SECONDS  # a long-poll answers after POLL_SECONDS; a stuck one never

    def long_poll(_: int) -> list[Outcome]:
        with server.client(timeout=patience) as api:
            path = f"/api/jobs/{training.job_id}/wait"
            return [timed(api, "GET", path, params={"timeout": POLL_SECONDS}, headers=training.ana)]

    with Poller(server, "/api/styles/public", timeout=patience) as anonymous:
        polls = in_parallel(45, long_poll)

    problems = server_errors(polls)
    assert not problems, f"long-polls: {summary(polls)}: {problems[:3]}"
    assert anonymous.outcomes, "no anonymous read was answered"
    assert all(outcome.status == 200 for outcome in anonymous.outcomes), (
        f"anonymous reads: {summary(anonymous.outcomes)}"
    )
    before = percentile(latencies(baseline), 0.99)
    during = percentile(latencies(anonymous.outcomes), 0.99)
    # Starving means waiting about as long as the long-polls themselves.
    assert during <= max(20 * before, POLL_SECONDS / 5), (
        f"anonymous reads before: {summary(baseline)}; beside 45 long-polls: "
        f"{summary(anonymous.outcomes)}"
    )
