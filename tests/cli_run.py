"""Running the `coach` command as a user does, for the hardening tests: in this process through
``coach.cli.main.run`` (what ``python coach.py`` calls: a user error becomes one sentence and exit status
2), or in a child process where a hang or a crash of native code must be seen from outside."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Outcome:
    """What the person at the keyboard sees: the exit status and the two streams."""

    status: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err

    def sentence(self) -> str:
        """What stderr says, whitespace joined and without the frame rich draws around a usage error."""
        return " ".join(self.err.translate({ord(c): " " for c in "│╭╮╰╯─"}).split())


def coach(*args: str, env: dict[str, str] | None = None) -> Outcome:
    """``coach ARGS`` in this process. An exception that escapes ``run`` is what a user would see as a
    traceback: it is not caught here, so the test fails with it."""
    from coach.cli.main import run

    out, err = io.StringIO(), io.StringIO()
    saved = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    status = 0
    try:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                run(list(args))
            except SystemExit as exc:
                status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return Outcome(status, out.getvalue(), err.getvalue())


def coach_process(*args: str | bytes, env: dict[str, str] | None = None, timeout: float = 120.0) -> Outcome:
    """``python coach.py ARGS`` in a child process (arguments may be bytes: file names that are not
    UTF-8). A hang past ``timeout`` seconds is a failure of the test (the child is killed)."""
    full_env = {**os.environ, **(env or {})}
    argv: list[str | bytes] = [sys.executable, "coach.py", *args]
    try:
        proc = subprocess.run(argv, cwd=REPO, capture_output=True, env=full_env, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"coach {' '.join(map(str, args))} did not finish in {timeout:g} s") from None
    return Outcome(proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace"))
