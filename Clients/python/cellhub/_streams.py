"""Streams that never lose an update: reconnect with jittered exponential backoff and resume
from the (epoch, revision, sequence) of the last event handed to the caller."""
from __future__ import annotations

import asyncio
import logging
import random
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Protocol, TypeVar

from cellhub._errors import Error, ResourceExhausted, Unavailable
from cellhub.v1 import common_pb2

__all__ = ["Backoff", "RESUMABLE", "position_of", "resuming", "resuming_async", "is_resync"]

log = logging.getLogger("cellhub")

# What a stream may end with and still be resumed (see stats_service.proto): the server is
# draining or restarting, the connection broke (grpcio says UNAVAILABLE), or the client fell
# behind. Anything else (NOT_FOUND, PERMISSION_DENIED, UNAUTHENTICATED, INVALID_ARGUMENT,
# a deadline or a cancel the caller asked for) ends the iteration with that error.
RESUMABLE: tuple[type[Error], ...] = (Unavailable, ResourceExhausted)


class Event(Protocol):
    @property
    def epoch(self) -> str: ...

    @property
    def revision(self) -> int: ...

    def WhichOneof(self, name: str) -> str | None: ...


E = TypeVar("E", bound=Event)


@dataclass(frozen=True)
class Backoff:
    """Delays between reconnection attempts: `initial`, times `multiplier` per failure up to
    `maximum`, each scaled by a random factor in [1 - jitter, 1 + jitter] so that clients a
    restart disconnected together do not come back together."""

    initial: float = 0.1
    maximum: float = 10.0
    multiplier: float = 2.0
    jitter: float = 0.2

    def delay(self, failures: int) -> float:
        base = min(self.maximum, self.initial * self.multiplier ** min(failures, 64))
        return base * random.uniform(1 - self.jitter, 1 + self.jitter)


def position_of(event: Event) -> common_pb2.StreamPosition:
    """Where to resume after `event` (dashboard events have no sequence: 0, the whole revision)."""
    return common_pb2.StreamPosition(epoch=event.epoch, revision=event.revision, sequence=getattr(event, "sequence", 0))


def is_resync(event: object) -> bool:
    """True for the event that says a resume could not be honoured and events may have been
    missed: a snapshot with `resync` set, or (activity) CAUGHT_UP with `position_lost`."""
    payload = getattr(event, "WhichOneof")("payload")
    if payload == "snapshot":
        return bool(getattr(getattr(event, "snapshot"), "resync", False))
    if payload == "caught_up":
        return bool(getattr(event, "caught_up").position_lost)
    return False


def resuming(open_stream: Callable[[common_pb2.StreamPosition | None], Iterator[E]],
             position: common_pb2.StreamPosition | None, backoff: Backoff, closed: threading.Event) -> Iterator[E]:
    """Events of `open_stream(position)`, reopened after each resumable end from the position
    of the last event yielded. Ends quietly when the client is closed."""
    failures = 0
    while not closed.is_set():
        # The position is taken from the last event only when it is needed (on reopening):
        # building one per event would cost as much as the façade's whole per-event budget.
        last: E | None = None
        try:
            for event in open_stream(position):
                if failures:
                    failures = 0
                if event.WhichOneof("payload") != "presence":  # ephemeral: never a position
                    last = event
                yield event
            error: Error | None = None  # the server ended the stream with OK: reconnect
        except RESUMABLE as resumable:
            error = resumable
        except Error:
            if closed.is_set():
                return
            raise
        finally:
            if last is not None:
                position = position_of(last)
        delay = backoff.delay(failures)
        failures += 1
        log.info("stream ended (%s); resuming in %.2f s from revision %s", error or "OK", delay,
                 position.revision if position else "-")
        if closed.wait(delay):
            return


async def resuming_async(open_stream: Callable[[common_pb2.StreamPosition | None], AsyncIterator[E]],
                         position: common_pb2.StreamPosition | None, backoff: Backoff,
                         closed: threading.Event) -> AsyncIterator[E]:
    """`resuming` for asyncio streams."""
    failures = 0
    while not closed.is_set():
        last: E | None = None
        try:
            async for event in open_stream(position):
                if failures:
                    failures = 0
                if event.WhichOneof("payload") != "presence":
                    last = event
                yield event
            error: Error | None = None
        except RESUMABLE as resumable:
            error = resumable
        except Error:
            if closed.is_set():
                return
            raise
        finally:
            if last is not None:
                position = position_of(last)
        delay = backoff.delay(failures)
        failures += 1
        log.info("stream ended (%s); resuming in %.2f s from revision %s", error or "OK", delay,
                 position.revision if position else "-")
        await asyncio.sleep(delay)
