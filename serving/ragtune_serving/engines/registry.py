"""The adapters one serving replica was given, held within a memory bound, and where each stands.

A deployment (generator, reranker) gets its adapters from its Serve `user_config`. Each one is
loaded and then probed (one real generation or score through it); only a probed adapter is
`ready`. Loading retries a bounded number of times, then the adapter is `failed` with the
reason, and requests naming it get that reason back. At most `max_loaded` adapters stay in
memory: the least recently used one that no request is using is unloaded, and reloaded the
next time a request names it. A replica that restarts gets its `user_config` again and loads
everything anew, so the reports never say loaded when it is not.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

from ragtune_serving.config import AdapterArgs
from ragtune_serving.engines.adapters import adapter_problem
from ragtune_serving.errors import Unavailable
from ragtune_serving.rag.records import AdapterReport, AdapterState

logger = logging.getLogger("ray.serve")

Load = Callable[[str, AdapterArgs], None]  # blocking; raises when the adapter does not load
Unload = Callable[[str], None]
Probe = Callable[[str], Awaitable[None]]  # raises when a generation/score through it fails
Refuse = Callable[[str, AdapterArgs], str | None]  # why this replica cannot serve it, or None


@dataclass(slots=True)
class _Entry:
    args: AdapterArgs
    state: AdapterState = "loading"
    reason: str = ""
    in_use: int = 0


class AdapterRegistry:
    """Adapters by name: their state, which are in memory, and loading on demand."""

    def __init__(
        self,
        *,
        load: Load,
        unload: Unload,
        probe: Probe,
        refuse: Refuse,
        max_loaded: int,
        attempts: int = 3,
        retry_delay_s: float = 1.0,
    ) -> None:
        if max_loaded < 1 or attempts < 1:
            raise ValueError("max_loaded and attempts must be at least 1")
        self._load, self._unload, self._probe, self._refuse = load, unload, probe, refuse
        self._max_loaded = max_loaded
        self._attempts = attempts
        self._retry_delay_s = retry_delay_s
        self._entries: dict[str, _Entry] = {}
        self._loaded: OrderedDict[str, None] = OrderedDict()  # least recently used first
        self._changing = asyncio.Lock()

    def reports(self) -> list[AdapterReport]:
        """Every adapter given, sorted by name."""
        return [
            AdapterReport(
                name=name,
                purpose=entry.args.purpose,
                state=entry.state,
                reason=entry.reason,
                loaded=name in self._loaded,
            )
            for name, entry in sorted(self._entries.items())
        ]

    def loaded(self) -> list[str]:
        """Names of the adapters in memory, sorted."""
        return sorted(self._loaded)

    async def reconfigure(self, wanted: Mapping[str, AdapterArgs]) -> None:
        """Make the given adapters `wanted`: unload removed or changed ones, load and probe new
        ones (the most recent `max_loaded` stay in memory)."""
        async with self._changing:
            for name in [n for n, e in self._entries.items() if wanted.get(n) != e.args]:
                del self._entries[name]
                await self._evict(name)
            for name, args in sorted(wanted.items()):
                if name in self._entries:
                    continue
                entry = self._entries[name] = _Entry(args)
                reason = self._refuse(name, args)
                if reason:
                    entry.state, entry.reason = "failed", reason
                    logger.error("adapter %s refused: %s", name, reason)
                    continue
                await self._bring_in(name, entry)

    @asynccontextmanager
    async def use(self, name: str, purpose: str, field: str) -> AsyncIterator[None]:
        """Hold adapter `name` in memory while the body runs (loading it if it was evicted).

        NotFound for an adapter this replica was not given; InvalidArgument for one of another
        purpose; FailedPrecondition for one that failed to load. `field` is the request field
        that named it.
        """
        async with self._changing:
            problem = adapter_problem(self.reports(), name, purpose, field)
            if problem is not None:
                raise problem
            entry = self._entries[name]
            if name not in self._loaded:
                await self._bring_in(name, entry)
                if entry.state != "ready":
                    raise Unavailable(f"adapter {name!r} could not be reloaded: {entry.reason}")
            self._loaded.move_to_end(name)
            await self._trim(keep=name)  # adapters in use earlier may be idle now
            entry.in_use += 1
        try:
            yield
        finally:
            entry.in_use -= 1

    async def _bring_in(self, name: str, entry: _Entry) -> None:
        """Make room, then load and probe `name`, retrying. Holds `_changing`."""
        await self._trim(keep=name, room=1)
        for attempt in range(1, self._attempts + 1):
            try:
                await asyncio.to_thread(self._load, name, entry.args)
                self._loaded[name] = None
                await self._probe(name)
            except Exception as error:
                await self._evict(name)
                entry.state, entry.reason = "failed", f"{error} (after {attempt} attempts)"
                logger.warning("adapter %s: attempt %d failed: %s", name, attempt, error)
                if attempt < self._attempts:
                    await asyncio.sleep(self._retry_delay_s * attempt)
                continue
            entry.state, entry.reason = "ready", ""
            logger.info("adapter %s ready", name)
            break

    async def _trim(self, keep: str, room: int = 0) -> None:
        """Unload least recently used idle adapters until `room` more fit within the bound."""
        while len(self._loaded) + room > self._max_loaded:
            idle = [n for n in self._loaded if n != keep and not self._entries[n].in_use]
            if not idle:
                logger.warning("%d adapters in use at once, over the bound", len(self._loaded))
                return
            await self._evict(idle[0])

    async def _evict(self, name: str) -> None:
        if name in self._loaded:
            del self._loaded[name]
            try:
                await asyncio.to_thread(self._unload, name)
            except Exception:
                logger.exception("unloading adapter %s failed", name)
