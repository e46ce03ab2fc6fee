"""The engine's lock: generations through one adapter share it, another adapter waits its turn,
an adapter change has it alone, and nobody is starved."""

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
    _wait_until(lambda: lock.exclusive_waiting)  # the holder can see it should let go
    threads.append(threading.Thread(target=late_reader))
    threads[2].start()
    time.sleep(0.05)
    assert events == []  # the writer waits for reader 1, reader 2 waits for the writer
    release_first.set()
    for thread in threads:
        thread.join(WAIT_S)
    assert events == ["reader 1 done", "writer", "reader 2"]
    assert not lock.exclusive_waiting


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


def test_holders_of_another_key_wait_and_are_not_starved() -> None:
    lock = SharedExclusiveLock()
    events: list[str] = []
    first_in = threading.Event()
    release_first = threading.Event()

    def first_reader() -> None:
        with lock.shared("tone"):
            first_in.set()
            release_first.wait(WAIT_S)
            events.append("tone 1 done")

    def other_key() -> None:
        with lock.shared("json"):
            events.append("json")

    def late_same_key() -> None:
        with lock.shared("tone"):
            events.append("tone 2")

    threads = [threading.Thread(target=first_reader)]
    threads[0].start()
    assert first_in.wait(WAIT_S)
    assert lock.key == "tone"
    threads.append(threading.Thread(target=other_key))
    threads[1].start()
    _wait_until(lambda: lock._readers_waiting["json"] == 1)
    threads.append(threading.Thread(target=late_same_key))
    threads[2].start()
    time.sleep(0.05)
    # "json" waits for the tone holder; a later "tone" waits behind "json" instead of jumping it
    assert events == []
    release_first.set()
    for thread in threads:
        thread.join(WAIT_S)
    assert events == ["tone 1 done", "json", "tone 2"]
    assert lock.key is None


def _wait_until(condition: Callable[[], bool], timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)


def test_holders_queued_under_one_key_enter_together() -> None:
    lock = SharedExclusiveLock()
    inside = threading.Barrier(3, timeout=WAIT_S)
    with lock.exclusive():  # everyone queues up behind a writer, then enters at once
        threads = [threading.Thread(target=_hold, args=(lock, "tone", inside)) for _ in range(3)]
        for thread in threads:
            thread.start()
        _wait_until(lambda: lock._readers_waiting["tone"] == 3)
    for thread in threads:
        thread.join(WAIT_S)
    assert not inside.broken


def _hold(lock: SharedExclusiveLock, key: str, inside: threading.Barrier) -> None:
    with lock.shared(key):
        inside.wait()
