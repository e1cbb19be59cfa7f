"""Keeping native libraries' console chatter (FFmpeg, TFLite, glog/absl) away from the user's terminal.

Two tools, both acting on file descriptor 2 (where native code writes, below Python's `sys.stderr`):

- `native_stderr_silenced()`: for a short call whose native output is all noise (opening a damaged video,
  loading a model): fd 2 goes to /dev/null for the duration.
- `acquire_native_log_filter()` / `release_native_log_filter()`: for as long as a pose engine lives,
  fd 2 goes through a pipe whose reader thread passes everything on except native INFO and WARNING log
  lines (`W1124 12:00:00.123456  3163 file.cc:81] ...`; before absl is set up the time reads
  `00:00:1795522864.273574`). MediaPipe prints such a warning now and then in
  the middle of a workout ("Using NORM_RECT without IMAGE_DIMENSIONS ...") and its log level cannot be
  set at run time. Native ERROR lines and anything else pass through. Python's own `sys.stderr`, when it
  is the process's fd 2, is pointed straight at the terminal meanwhile, so that rich still sees a
  terminal (live progress bars) and Python's output is never delayed. Set `COACH_NATIVE_LOG=1` to see
  the native log unfiltered.

Both are process-wide: one lock orders them, the filter is reference-counted (one pipe however many
engines), and the filter is taken down at exit so that nothing written last (a traceback) is lost.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import sys
import threading
from typing import Iterator

ENV_UNFILTERED = "COACH_NATIVE_LOG"

#: A native INFO or WARNING log line (glog and absl share the format); ERROR/FATAL lines are kept.
NATIVE_LOG_LINE = re.compile(rb"^[IW]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [^\]\n]*:\d+\] [^\n]*\n")
#: How much of a line that starts like a log line is held back waiting for its end before it is passed on.
_MAX_HELD = 8192
#: How long taking the filter down waits for its reader to pass on what is left, seconds.
_DRAIN_S = 2.0

_lock = threading.RLock()


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Redirect file descriptor 2 to /dev/null for the duration; Python exceptions are unaffected."""
    with _lock:
        _flush_python_stderr()
        try:
            saved = os.dup(2)
        except OSError:
            yield
            return
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(devnull)


class _Filter:
    """The installed filter: the pipe's write end sits on fd 2, a thread copies the rest to `out`."""

    def __init__(self) -> None:
        self.users = 0
        self.restore_fd = -1  #: a copy of the original fd 2, put back when the filter is taken down
        self.thread: threading.Thread | None = None
        self.python_stderr: tuple | None = None  #: (the replaced sys.stderr, our stand-in writing to the tty)


_filter = _Filter()


def acquire_native_log_filter() -> None:
    """Start filtering native log lines out of fd 2 (or count one more user of the running filter)."""
    if os.environ.get(ENV_UNFILTERED):
        return
    with _lock:
        _filter.users += 1
        if _filter.users > 1:
            return
        try:
            _install()
        except OSError:
            _filter.users = 0  # no pipe to be had: leave stderr as it is


def release_native_log_filter() -> None:
    """One user fewer; the last one puts the original fd 2 back and lets the reader drain and stop."""
    if os.environ.get(ENV_UNFILTERED):
        return
    with _lock:
        if _filter.users == 0:
            return
        _filter.users -= 1
        if _filter.users == 0:
            _uninstall()


def _install() -> None:
    _flush_python_stderr()
    out = os.dup(2)  # the reader's own copy of the original stderr; it closes it when done
    try:
        restore = os.dup(2)
        read_end, write_end = os.pipe()
    except OSError:
        os.close(out)
        raise
    os.dup2(write_end, 2)
    os.close(write_end)  # fd 2 is now the only write end
    thread = threading.Thread(target=_pump, args=(read_end, out), name="native-log-filter", daemon=True)
    thread.start()
    _filter.restore_fd, _filter.thread = restore, thread
    if _is_process_stderr(sys.stderr):
        stand_in = open(os.dup(restore), "w", buffering=1, closefd=True,  # noqa: SIM115 - closed in _uninstall
                        encoding=getattr(sys.stderr, "encoding", None) or "utf-8",
                        errors=getattr(sys.stderr, "errors", None) or "backslashreplace")
        _filter.python_stderr = (sys.stderr, stand_in)
        sys.stderr = stand_in


def _uninstall() -> None:
    _flush_python_stderr()
    if _filter.python_stderr is not None:
        original, stand_in = _filter.python_stderr
        _filter.python_stderr = None
        if sys.stderr is stand_in:
            sys.stderr = original
            with contextlib.suppress(OSError):
                stand_in.close()
        # else something (rich's live display) has wrapped our stand-in since and will put it back when it
        # stops: it must stay open. It still writes straight to the terminal, which is what it is for.
    os.dup2(_filter.restore_fd, 2)  # closes the pipe's last write end (unless a child process holds one)
    os.close(_filter.restore_fd)
    thread, _filter.thread, _filter.restore_fd = _filter.thread, None, -1
    if thread is not None:
        thread.join(_DRAIN_S)


def _at_exit() -> None:
    with _lock:
        if _filter.users:
            _filter.users = 0
            _uninstall()


atexit.register(_at_exit)


def _is_process_stderr(stream) -> bool:
    try:
        return stream.fileno() == 2
    except (AttributeError, ValueError, OSError):
        return False  # a test runner's capture, a closed stream


def _flush_python_stderr() -> None:
    with contextlib.suppress(Exception):
        sys.stderr.flush()


def _pump(read_end: int, out: int) -> None:
    """Copy the pipe to `out`, leaving out native INFO/WARNING lines; ends at end of file."""
    passer = LogLineFilter(lambda data: _write_all(out, data))
    try:
        while True:
            try:
                chunk = os.read(read_end, 65536)
            except OSError:
                break
            if not chunk:
                break
            passer.feed(chunk)
        passer.flush()
    finally:
        os.close(read_end)
        os.close(out)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view):]
        except InterruptedError:
            continue
        except OSError:
            return  # the terminal is gone: nothing to be done about it


class LogLineFilter:
    """Byte-stream filter: passes data on as soon as it can, except whole native INFO/WARNING log lines.

    Native code writes each log line in one piece, but in a pipe it may follow other output that has no
    newline yet (a progress bar's carriage-return line), so log lines are looked for anywhere. Data is
    held back only from a point that could still become a log line ("W11" …) until its line ends;
    everything else — partial lines, carriage returns, escape sequences — goes straight on.
    """

    def __init__(self, write) -> None:
        self._write = write
        self._buf = b""

    def feed(self, data: bytes) -> None:
        """Take more bytes; pass on whatever can be decided."""
        buf = self._buf + data
        while True:
            match = _LOG_LINE_ANYWHERE.search(buf)
            if match is None:
                break
            if match.start():
                self._write(buf[:match.start()])
            buf = buf[match.end():]
        hold = _possible_start(buf)
        if hold > 0:
            self._write(buf[:hold])
        self._buf = buf[hold:]

    def flush(self) -> None:
        """Pass on what is held back (at end of file)."""
        if self._buf:
            self._write(self._buf)
        self._buf = b""


_LOG_LINE_ANYWHERE = re.compile(NATIVE_LOG_LINE.pattern.removeprefix(b"^"))
_MAYBE_START = re.compile(rb"[IW]\d{0,4}$|[IW]\d{4} [^\n]*$")


def _possible_start(buf: bytes) -> int:
    """Where an unfinished line of `buf` could still turn out to be a log line; len(buf) if nowhere."""
    line_start = max(buf.rfind(b"\n"), -1) + 1
    tail = buf[line_start:]
    if len(tail) > _MAX_HELD:
        return len(buf)
    for match in re.finditer(rb"[IW]", tail):
        if _MAYBE_START.match(tail, match.start()):
            return line_start + match.start()
    return len(buf)
