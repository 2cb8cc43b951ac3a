"""Markdown rendering in worker processes, with a hard CPU-time budget per body (issue #21).

Python-Markdown is pure Python and some inputs make it slow; forum.markup refuses the known
quadratic shapes before rendering, and this module makes sure that anything it missed cannot
hold a web worker: the body is rendered in a separate process that stops itself when the
render has used its CPU budget (a profiling timer, so a busy shared CPU does not count against
the body), and the web process kills that worker if it does not answer within a wall-clock
limit at all. A web process keeps at most MAX_WORKERS of them, started on first use and
reused for every later render.

The protocol is length-prefixed frames on the worker's stdin and stdout:
request = budget (double) + UTF-8 body; answer = status byte + UTF-8 payload.
"""

from __future__ import annotations

import atexit
import logging
import os
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)

MAX_WORKERS = 2
WALL_FACTOR = 8  # the wall-clock limit is this many budgets (plus a second): CPU is shared
_REQUEST = struct.Struct("!dI")
_ANSWER = struct.Struct("!BI")
OK, OVER_BUDGET, TOO_DEEP, FAILED = range(4)


class RenderRefused(Exception):
    """The body could not be rendered within the limits; `reason` is one of the statuses."""

    def __init__(self, reason: int, detail: str = "") -> None:
        super().__init__(detail or str(reason))
        self.reason = reason


class _Worker:
    def __init__(self) -> None:
        env = dict(os.environ)
        root = str(Path(__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "forum.render_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            close_fds=True,
        )

    def render(self, source: str, budget: float) -> str:
        data = source.encode("utf-8", "surrogatepass")
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        stdin.write(_REQUEST.pack(budget, len(data)) + data)
        stdin.flush()
        deadline = time.monotonic() + budget * WALL_FACTOR + 5.0  # includes the first start-up
        status, length = _ANSWER.unpack(self._read(_ANSWER.size, deadline))
        payload = self._read(length, deadline).decode("utf-8", "surrogatepass")
        if status != OK:
            raise RenderRefused(status, payload)
        return payload

    def _read(self, size: int, deadline: float) -> bytes:
        fd = self.process.stdout.fileno()  # type: ignore[union-attr]
        chunks, missing = [], size
        while missing:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise TimeoutError("the Markdown worker did not answer in time")
            chunk = os.read(fd, missing)
            if not chunk:
                raise EOFError("the Markdown worker exited")
            chunks.append(chunk)
            missing -= len(chunk)
        return b"".join(chunks)

    def stop(self, kill: bool = False) -> None:
        try:
            if kill:
                self.process.kill()
            else:
                self.process.stdin.close()  # type: ignore[union-attr]
            self.process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None and not stream.closed:
                stream.close()


class _Pool:
    """Idle workers of this process; a forked child (gunicorn) starts its own."""

    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.idle: list[_Worker] = []
        self.started = 0
        self.pid = os.getpid()

    def _take(self) -> _Worker:
        with self.lock:
            if self.pid != os.getpid():  # inherited through fork: those pipes belong to the parent
                self.idle, self.started, self.pid = [], 0, os.getpid()
            while not self.idle and self.started >= MAX_WORKERS:
                self.lock.wait()
            if self.idle:
                return self.idle.pop()
            self.started += 1
        try:
            return _Worker()
        except BaseException:
            self._forget()
            raise

    def _give_back(self, worker: _Worker) -> None:
        with self.lock:
            self.idle.append(worker)
            self.lock.notify()

    def _forget(self) -> None:
        with self.lock:
            self.started -= 1
            self.lock.notify()

    def render(self, source: str, budget: float) -> str:
        worker = self._take()
        try:
            html = worker.render(source, budget)
        except RenderRefused:
            self._give_back(worker)  # the worker stopped the render itself and is ready again
            raise
        except (OSError, EOFError, TimeoutError, struct.error) as error:
            log.warning("Markdown worker %s stopped: %s", worker.process.pid, error)
            worker.stop(kill=True)
            self._forget()
            raise RenderRefused(OVER_BUDGET, str(error)) from error
        except BaseException:
            worker.stop(kill=True)
            self._forget()
            raise
        self._give_back(worker)
        return html

    def stop_all(self) -> None:
        with self.lock:
            if self.pid != os.getpid():
                return
            workers, self.idle = self.idle, []
            self.started -= len(workers)
        for worker in workers:
            worker.stop()


_pool = _Pool()
atexit.register(_pool.stop_all)


def render(source: str, budget: float) -> str:
    """Python-Markdown's HTML for `source` (not yet sanitized), or RenderRefused."""
    return _pool.render(source, budget)


# -- the worker process ------------------------------------------------------------------------


class _OverBudget(BaseException):
    """Raised by the profiling timer's signal inside a render."""


def _on_timer(signum: int, frame: object) -> None:
    raise _OverBudget


def _read_exactly(stream, size: int) -> bytes | None:  # noqa: ANN001
    data = stream.read(size)
    return data if len(data) == size else None


def _serve() -> None:
    from forum.markup import new_renderer

    signal.signal(signal.SIGPROF, _on_timer)
    signal.signal(
        signal.SIGINT, signal.SIG_IGN
    )  # Ctrl-C in `flask run` stops the parent, which closes our stdin
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    renderer = new_renderer()
    while True:
        header = _read_exactly(stdin, _REQUEST.size)
        if header is None:
            return
        budget, length = _REQUEST.unpack(header)
        data = _read_exactly(stdin, length)
        if data is None:
            return
        source = data.decode("utf-8", "surrogatepass")
        status, payload = OK, ""
        try:
            signal.setitimer(signal.ITIMER_PROF, budget)
            try:
                renderer.reset()
                payload = renderer.convert(source)
            finally:
                signal.setitimer(signal.ITIMER_PROF, 0)
        except _OverBudget:
            status = OVER_BUDGET
        except RecursionError:
            status = TOO_DEEP
        except Exception as error:  # a renderer bug: the body is refused, the worker lives on
            status, payload = FAILED, f"{type(error).__name__}: {error}"
        if status != OK:
            renderer = new_renderer()  # an interrupted instance may hold half a document
        answer = payload.encode("utf-8", "surrogatepass")
        stdout.write(_ANSWER.pack(status, len(answer)) + answer)
        stdout.flush()


if __name__ == "__main__":
    _serve()
