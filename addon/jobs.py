"""Long work off Blender's UI thread: a worker thread runs a pure-Python job (no bpy inside) and the
modal operator that owns it polls ``progress`` and ``done``; ``cancel()`` asks the job to stop."""
from __future__ import annotations

import threading
import time
from typing import Any, Callable


class Job:
    def __init__(self, fn: Callable[..., Any], *args, **kwargs):
        self._cancel = threading.Event()
        self.progress = ("starting", 0, 1, 0.0)
        self.result: Any = None
        self.error: BaseException | None = None
        self.started = time.perf_counter()
        self._thread = threading.Thread(target=self._run, args=(fn, args, kwargs), daemon=True)
        self._thread.start()

    def _run(self, fn, args, kwargs) -> None:
        try:
            self.result = fn(*args, progress=self._report, cancel=self._cancel.is_set, **kwargs)
        except BaseException as e:  # noqa: BLE001 - handed to the main thread
            self.error = e

    def _report(self, stage: str, done: int, total: int, fps: float) -> None:
        self.progress = (stage, done, total, fps)

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)
