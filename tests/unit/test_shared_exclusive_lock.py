"""The engine's lock: generations share it, an adapter change has it alone and is not starved."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ragtune_serving.engines.locking import SharedExclusiveLock

WAIT_S = 5.0


def test_shared_holders_run_together() -> None:
    lock = SharedExclusiveLock()
    inside = threading.Barrier(3, timeout=WAIT_S)

    def reader() -> None:
        with lock.shared():
            inside.wait()  # only passes if all three hold the lock at once

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_S)
    assert not inside.broken


def test_exclusive_waits_for_shared_holders_and_goes_before_later_ones() -> None:
    lock = SharedExclusiveLock()
    events: list[str] = []
    first_in = threading.Event()
    release_first = threading.Event()

    def first_reader() -> None:
        with lock.shared():
            first_in.set()
            release_first.wait(WAIT_S)
            events.append("reader 1 done")

    def writer() -> None:
        with lock.exclusive():
            events.append("writer")

    def late_reader() -> None:
        with lock.shared():
            events.append("reader 2")

    threads = [threading.Thread(target=first_reader)]
    threads[0].start()
    assert first_in.wait(WAIT_S)
    threads.append(threading.Thread(target=writer))
    threads[1].start()
    _wait_until(lambda: lock._writers_waiting == 1)
    threads.append(threading.Thread(target=late_reader))
    threads[2].start()
    time.sleep(0.05)
    assert events == []  # the writer waits for reader 1, reader 2 waits for the writer
    release_first.set()
    for thread in threads:
        thread.join(WAIT_S)
    assert events == ["reader 1 done", "writer", "reader 2"]


def test_the_lock_is_released_when_the_holder_raises() -> None:
    lock = SharedExclusiveLock()
    for hold in (lock.shared, lock.exclusive):
        try:
            with hold():
                raise RuntimeError("boom")
        except RuntimeError:
            pass
    with lock.exclusive():
        pass


def _wait_until(condition: Callable[[], bool], timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)
