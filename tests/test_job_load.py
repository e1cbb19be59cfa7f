"""The load-and-fault run (coach/devtools/job_load.py) as a test: 8 clients upload 40 keypoint recordings to
one server with 2 workers on a real PostgreSQL and a real Redis; halfway the server and one worker get
SIGKILL and are started again; every upload must end done exactly once, every session and rep stored once.

Marked slow (about half a minute): `make test` leaves it out; run it with
`.venv/bin/python -m pytest -m slow`. The jobs/s figures come from `python -m coach.devtools.job_load`.
"""

from __future__ import annotations

import pytest

from coach.devtools import job_load
from coach.devtools.local_servers import free_port


@pytest.mark.slow
def test_40_uploads_survive_a_sigkill_of_the_server_and_a_worker_done_exactly_once(postgres_server,
                                                                                   redis_server, tmp_path):
    import redis as redis_py

    redis_py.Redis.from_url(redis_server.url(db=15)).flushdb()
    recordings = job_load.make_recordings(tmp_path / "recordings", 40)
    work = tmp_path / "run"
    work.mkdir()
    report = job_load.fault_run(postgres_server.create_database(), redis_server.url(db=15), recordings,
                                clients=8, workers=2, work=work, port=free_port(), log=print)
    print(report)
    assert report.killed_at_upload == 20  # the fault happened halfway
    assert (report.done, report.failed, report.lost, report.duplicated_jobs) == (40, 0, 0, 0), report.errors
    assert (report.sessions, report.duplicated_sessions, report.wrong_reps) == (40, 0, 0)
    assert report.reps_recorded == report.reps_expected == sum(reps for _, reps in recordings)
    assert report.errors == []  # no traceback in any server or worker log
    assert report.ok
