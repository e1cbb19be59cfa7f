"""The frame pipeline: decoding, pose inference and what follows run at once, so only inference sets the pace.

    file:    source ─(decoding thread)─► queue(2) ─(inference thread)─► queue(3) ─► consumer: engine, overlay, sinks
    camera:  source ─(capture thread)──► latest-frame slot ─(inference thread)─► queue(1) ─► consumer

The pose model releases the GIL while it runs (MediaPipe computes on its own threads), as does OpenCV while
it decodes, draws and encodes; so on two cores the engine and the drawing of frame t happen while the
model works on frame t+1. Every queue is bounded: memory does not grow with the length of the source, and
a slow consumer slows the producers instead of piling frames up.

A camera never queues: a frame that arrives while the model is busy replaces the one waiting
(`LatestFrames`), so what is shown is at most one frame behind the model; the replaced frames are counted
(`LatestFrames.dropped`). Files are never dropped: every frame is processed, in order.

Order and timestamps are those of the source; an exception raised in a thread is raised in the consumer;
closing the iterator (a `break`, `close()`, the end of a `with`) stops the threads.

While stages run, Python switches threads every `GIL_SWITCH_S` (instead of 5 ms): the inference thread
takes the GIL back several times per frame (MediaPipe's result objects are built in Python), and each
time the engine's thread holds it, it would otherwise wait up to a whole switch interval.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
from typing import Callable, Generic, Iterable, Iterator, TypeVar

from coach.app.sources import Frame, FrameSource
from coach.pose.series import PoseFrame

T = TypeVar("T")
U = TypeVar("U")

_DONE = object()
#: seconds between forced GIL switches while a pipeline runs (Python's default is 0.005)
GIL_SWITCH_S = 0.001
#: seconds a stopping thread is waited for
_JOIN_S = 5.0


#: niceness added to the threads whose work can wait (decoding ahead, writing the annotated video): when the
#: cores are busy they yield to the model, which sets the pace
BACKGROUND_NICE = 10


def _lower_priority(nice: int) -> None:
    """Make the calling thread `nice` steps nicer (Linux schedules threads on their own; elsewhere and
    when not allowed, nothing happens)."""
    if nice <= 0 or not hasattr(os, "setpriority"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + nice))
    except OSError:
        pass


def _short_gil_switches() -> None:
    """Shorten the interpreter's thread switch interval to `GIL_SWITCH_S` (process-wide; never lengthened)."""
    if sys.getswitchinterval() > GIL_SWITCH_S:
        sys.setswitchinterval(GIL_SWITCH_S)


def _stop_thread(stop: threading.Event, thread: threading.Thread) -> None:
    """Tell a stage's thread to stop and wait for it (up to `_JOIN_S`; never from that thread itself)."""
    stop.set()
    if thread.is_alive() and thread is not threading.current_thread():
        thread.join(timeout=_JOIN_S)


class _Failure:
    """An exception raised in a stage's thread, carried to the consumer."""

    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class ThreadedStage(Generic[U]):
    """`fn` applied to every item of `items` on a thread, results delivered in order through a queue of
    `depth` items. Iterate it once; `close()` (or leaving the iteration early) stops the thread."""

    def __init__(self, items: Iterable[T], fn: Callable[[T], U], *, depth: int, name: str, nice: int = 0) -> None:
        """depth: results queued at most. nice: how much nicer than the caller the thread runs (Linux)."""
        self._nice = nice
        self._items = items
        self._fn = fn
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._started = False

    def _put(self, item) -> bool:
        """Put `item`, waiting for room; False when told to stop meanwhile."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        _lower_priority(self._nice)
        try:
            for item in self._items:
                if self._stop.is_set() or not self._put(self._fn(item)):
                    return
            self._put(_DONE)
        except BaseException as exc:  # handed to the consumer, raised there
            self._put(_Failure(exc))
        finally:
            if isinstance(self._items, (ThreadedStage, LatestFrames)):  # an upstream stage: stop its thread
                self._items.close()

    def __iter__(self) -> Iterator[U]:
        if self._started:
            raise RuntimeError("a pipeline stage is iterated once")
        self._started = True
        _short_gil_switches()
        self._thread.start()
        try:
            while True:
                item = self._queue.get()
                if item is _DONE:
                    return
                if isinstance(item, _Failure):
                    raise item.exc
                yield item
        finally:
            self.close()

    def close(self) -> None:
        """Stop the thread (it finishes the item in hand) and wait for it."""
        _stop_thread(self._stop, self._thread)


class LatestFrames:
    """The frames of a live source with no queue: a capture thread reads the source as fast as it delivers,
    and the consumer always gets the newest frame not yet taken. A frame replaced before it was taken is
    dropped and counted in `dropped`. Iterate once; `close()` stops the capture thread."""

    def __init__(self, source: Iterable[Frame]) -> None:
        self._source = source
        self._lock = threading.Condition()
        self._waiting: Frame | None = None
        self._ended = False
        self._failure: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._capture, name="frame-capture", daemon=True)
        self.dropped = 0  #: frames replaced by a newer one before the consumer took them
        self.delivered = 0  #: frames taken by the consumer

    def _capture(self) -> None:
        try:
            for frame in self._source:
                with self._lock:
                    if self._waiting is not None:
                        self.dropped += 1
                    self._waiting = frame
                    self._lock.notify()
                if self._stop.is_set():
                    return
        except BaseException as exc:
            with self._lock:
                self._failure = exc
        finally:
            with self._lock:
                self._ended = True
                self._lock.notify()

    def __iter__(self) -> Iterator[Frame]:
        self._thread.start()
        try:
            while True:
                with self._lock:
                    while self._waiting is None and not self._ended:
                        self._lock.wait(0.1)
                    frame, self._waiting = self._waiting, None
                    if frame is None:  # ended, nothing left
                        if self._failure is not None:
                            raise self._failure
                        return
                self.delivered += 1
                yield frame
        finally:
            self.close()

    def close(self) -> None:
        """Stop capturing (the source's current read finishes first)."""
        _stop_thread(self._stop, self._thread)


def posed_frames(frames: Iterable[Frame], detect: Callable[[Frame], PoseFrame], *, depth: int = 3
                 ) -> ThreadedStage[tuple[Frame, PoseFrame]]:
    """(frame, keypoints) of every frame of `frames`, the model (`detect`) running on its own thread
    `depth` frames ahead of the consumer at most. Order and timestamps are those of `frames`."""
    return ThreadedStage(frames, lambda frame: (frame, detect(frame)), depth=depth, name="pose-inference")


def prefetched(frames: Iterable[Frame], depth: int = 2) -> ThreadedStage[Frame]:
    """`frames` read (decoded) on a thread, `depth` frames ahead of the consumer at most; every frame, in
    order. The thread runs `BACKGROUND_NICE` nicer: on busy cores it waits for the model, not the reverse."""
    return ThreadedStage(frames, _same, depth=depth, name="frame-reader", nice=BACKGROUND_NICE)


def _same(frame: Frame) -> Frame:
    return frame


def frames_of(source: FrameSource) -> "ThreadedStage[Frame] | LatestFrames":
    """The frames of `source` ready for the model: a file decoded ahead on a thread (every frame, in order);
    a camera through a `LatestFrames` slot (never queued; dropped frames counted)."""
    if source.is_live:
        return LatestFrames(source)
    return prefetched(source)


class BackgroundWorker(Generic[T]):
    """`fn` applied to submitted items, in order, on one thread behind a queue of `depth` items: for sinks
    whose work (drawing, encoding) need not delay the engine. `submit` waits when the queue is full (no
    unbounded growth); an exception raised by `fn` is raised by the next `submit` or by `close`, which
    finishes every submitted item first."""

    def __init__(self, fn: Callable[[T], object], *, depth: int = 4, name: str = "sink-worker",
                 nice: int = BACKGROUND_NICE) -> None:
        self._fn = fn
        self._nice = nice
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        self._closed = False

    def _run(self) -> None:
        _lower_priority(self._nice)
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            if self._failure is None:
                try:
                    self._fn(item)
                except BaseException as exc:  # raised in the submitting thread
                    self._failure = exc

    def _raise(self) -> None:
        if self._failure is not None:
            exc, self._failure = self._failure, None
            raise exc

    def submit(self, item: T) -> None:
        """Queue one item (waits while `depth` items are queued)."""
        if self._closed:
            raise RuntimeError("the worker is closed")
        self._raise()
        self._queue.put(item)

    def close(self) -> None:
        """Finish every queued item, stop the thread, and raise what `fn` raised if it failed. Idempotent."""
        if not self._closed:
            self._closed = True
            self._queue.put(_DONE)
            self._thread.join()
        self._raise()
