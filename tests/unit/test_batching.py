"""Batched generation's pure parts: which waiting requests share a batch, and how a batch's
token ids become each request's own text deltas and per-row stop flags."""

from __future__ import annotations

import threading
import time

from ragtune_serving.engines.base import SamplingParams
from ragtune_serving.engines.batching import Pending, RequestQueue, RowStream


def _request(
    adapter: str | None = None, temperature: float = 0.0, max_tokens: int = 8
) -> tuple[Pending, list[str], list[tuple[int, BaseException | None]]]:
    texts: list[str] = []
    ends: list[tuple[int, BaseException | None]] = []
    request = Pending(
        prompt=[1, 2],
        params=SamplingParams(max_tokens=max_tokens, temperature=temperature),
        adapter=adapter,
        emit=texts.append,
        on_end=lambda n, error: ends.append((n, error)),
    )
    return request, texts, ends


def test_a_batch_is_the_oldest_request_and_those_sharing_its_adapter_and_sampling() -> None:
    queue = RequestQueue(max_batch_size=3, wait_s=0)
    base1, base2, base3, base4 = (_request()[0] for _ in range(4))
    tone = _request("tone")[0]
    sampled = _request(temperature=0.7)[0]
    for request in (base1, tone, base2, sampled, base3, base4):
        queue.put(request)
    assert queue.take() == [base1, base2, base3]  # at most 3, in arrival order
    assert queue.take() == [tone]
    assert queue.take() == [sampled]
    assert queue.take() == [base4]
    assert queue.take(timeout_s=0.01) == []


def test_greedy_requests_share_a_batch_whatever_their_top_p() -> None:
    a = Pending([1], SamplingParams(4, 0.0, 0.9), None, print, lambda n, e: None)
    b = Pending([1], SamplingParams(4, 0.0, 1.0), None, print, lambda n, e: None)
    assert a.key == b.key


def test_a_client_that_left_while_waiting_is_not_batched() -> None:
    queue = RequestQueue(max_batch_size=4, wait_s=0)
    gone, stays = _request()[0], _request()[0]
    queue.put(gone)
    queue.put(stays)
    gone.cancelled.set()
    assert queue.take() == [stays]


def test_a_lone_request_waits_briefly_for_company() -> None:
    queue = RequestQueue(max_batch_size=2, wait_s=0.5)
    first, second = _request()[0], _request()[0]
    queue.put(first)
    later = threading.Timer(0.05, lambda: queue.put(second))
    later.start()
    started = time.monotonic()
    assert queue.take() == [first, second]
    assert time.monotonic() - started < 0.45  # a full batch does not wait out the window


def _utf8(ids: list[int]) -> str:
    """Token ids as bytes: a character cut between tokens decodes to U+FFFD, as in BPE."""
    return bytes(ids).decode("utf-8", errors="replace")


def _row(request: Pending) -> RowStream:
    return RowStream(request, _utf8, eos_ids=frozenset({0}))


def test_each_row_streams_its_own_text_and_stops_on_its_own() -> None:
    (short, short_texts, short_ends), (long, long_texts, long_ends) = (
        _request(max_tokens=2),
        _request(max_tokens=10),
    )
    rows = [_row(short), _row(long)]
    for step in ([ord("h"), ord("a")], [ord("i"), ord("b")], [ord("!"), ord("c")]):
        for row, token in zip(rows, step, strict=True):
            row.push(token)
    assert "".join(short_texts) == "hi"  # its own max_tokens: 2
    assert [row.done for row in rows] == [True, False]
    assert rows[1].room_needed == 7
    rows[1].push(0)  # end of sequence
    assert "".join(long_texts) == "abc"
    assert [row.done for row in rows] == [True, True]
    for row in rows:
        row.close()
        row.close()  # a request hears its end once
    assert (short_ends, long_ends) == ([(2, None)], [(3, None)])


def test_a_character_cut_between_tokens_is_held_back_until_whole() -> None:
    request, texts, _ = _request(max_tokens=10)
    row = _row(request)
    euro = "€".encode()  # three bytes
    row.push(euro[0])
    row.push(euro[1])
    assert texts == []
    row.push(euro[2])
    row.push(ord("5"))
    assert texts == ["€", "5"]


def test_a_client_that_left_stops_its_row_only() -> None:
    gone, gone_texts, _ = _request()
    stays, stays_texts, _ = _request()
    rows = [_row(gone), _row(stays)]
    for row, token in zip(rows, [ord("a"), ord("b")], strict=True):
        row.push(token)
    gone.cancelled.set()
    for row, token in zip(rows, [ord("x"), ord("y")], strict=True):
        row.push(token)
    assert [row.done for row in rows] == [True, False]
    assert gone_texts == ["a"] and stays_texts == ["b", "y"]


def test_a_failed_row_tells_its_request_the_error() -> None:
    request, _, ends = _request()
    row = _row(request)
    row.push(ord("a"))
    error = RuntimeError("out of memory")
    row.close(error)
    assert ends == [(1, error)]


def test_requests_of_the_running_key_join_while_none_older_waits_for_another() -> None:
    queue = RequestQueue(max_batch_size=8, wait_s=0)
    base1, base2, base3 = (_request()[0] for _ in range(3))
    tone = _request("tone")[0]
    gone = _request()[0]
    for request in (gone, base1, base2, tone, base3):
        queue.put(request)
    gone.cancelled.set()
    key = base1.key
    assert queue.take_joining(key, room=1) == [base1]  # the client gone is dropped
    assert queue.take_joining(key, room=4) == [base2]  # then tone has waited longest
    assert queue.take_joining(tone.key, room=4) == [tone]  # base3 is not of its key
    assert queue.take_joining(key, room=4) == [base3]
    assert queue.take_joining(key, room=4) == []


def test_a_burst_arriving_one_by_one_is_batched_whole() -> None:
    """Each request arrives within the wait of the one before: the batch waits for them all,
    though the burst lasts longer than one wait."""
    queue = RequestQueue(max_batch_size=8, wait_s=0.05)
    burst = [_request()[0] for _ in range(5)]
    queue.put(burst[0])

    def arrive() -> None:
        for request in burst[1:]:
            time.sleep(0.02)
            queue.put(request)

    feeder = threading.Thread(target=arrive)
    feeder.start()
    assert queue.take() == burst  # 80 ms of arrivals, 20 ms apart, within 8 windows of 50
    feeder.join()
