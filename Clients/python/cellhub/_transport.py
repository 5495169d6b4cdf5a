"""How the façade reaches the server: one channel, the bearer token on every call, a default
deadline for unary calls, and grpc errors turned into `cellhub.Error` subclasses. The
generated service classes (`_services.py`) call methods by path through here."""
from __future__ import annotations

import os
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final, TypeVar

import grpc
import grpc.aio
from google.protobuf.message import Message

from cellhub._errors import error_from

__all__ = ["DEFAULT_TIMEOUT", "DefaultTimeout", "Metadata", "Transport", "AsyncTransport", "present", "resolve_token"]

Metadata = Sequence[tuple[str, str | bytes]]
Response = TypeVar("Response", bound=Message)

# Images travel in GetImageContent replies and job assignments: far above grpcio's 4 MiB.
MAX_MESSAGE_BYTES: Final = 256 << 20
CHANNEL_OPTIONS: Final[list[tuple[str, Any]]] = [
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    # A server that vanished without closing the connection is noticed within a minute.
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 20_000),
]


class DefaultTimeout:
    """The client's default deadline (`Client(timeout=...)`); pass a number, or None for none."""

    def __repr__(self) -> str:
        return "DEFAULT_TIMEOUT"


DEFAULT_TIMEOUT: Final = DefaultTimeout()


def present(**fields: Any) -> dict[str, Any]:
    """The keyword arguments the caller gave (None = leave the field unset)."""
    return {name: value for name, value in fields.items() if value is not None}


def resolve_token(token: str | None, token_file: str | os.PathLike[str] | None) -> str | None:
    """The token argument, else the token file, else CELLHUB_TOKEN, else CELLHUB_TOKEN_FILE."""
    if token is None and token_file is None:
        token = os.environ.get("CELLHUB_TOKEN") or None
        token_file = os.environ.get("CELLHUB_TOKEN_FILE") or None
    if token is None and token_file is not None:
        token = Path(token_file).read_text().strip()
    return token


def _serializer(message: Message) -> bytes:
    return message.SerializeToString()


class _Base:
    def __init__(self, token: str | None, timeout: float | None) -> None:
        self.metadata: tuple[tuple[str, str | bytes], ...] = (("authorization", f"Bearer {token}"),) if token else ()
        self.timeout = timeout
        # Set by Client.close(): resuming loops stop instead of reconnecting.
        self.closed = threading.Event()

    def call_options(self, timeout: float | None | DefaultTimeout,
                     metadata: Metadata) -> tuple[float | None, tuple[tuple[str, str | bytes], ...]]:
        if isinstance(timeout, DefaultTimeout):
            timeout = self.timeout
        return timeout, (self.metadata + tuple(metadata)) if metadata else self.metadata


class Transport(_Base):
    """Blocking calls on a `grpc.Channel`."""

    def __init__(self, channel: grpc.Channel, token: str | None, timeout: float | None) -> None:
        super().__init__(token, timeout)
        self.channel = channel
        self._unary: dict[str, Callable[..., Any]] = {}
        self._streams: dict[str, Callable[..., Any]] = {}

    def unary(self, path: str, request: Message, response: type[Response],
              timeout: float | None | DefaultTimeout, metadata: Metadata) -> Response:
        method = self._unary.get(path)
        if method is None:
            method = self._unary[path] = self.channel.unary_unary(
                path, request_serializer=_serializer, response_deserializer=response.FromString)
        deadline, headers = self.call_options(timeout, metadata)
        try:
            reply: Response = method(request, timeout=deadline, metadata=headers)
        except grpc.RpcError as error:
            raise error_from(error) from None
        return reply

    def open_stream(self, path: str, request: Message, response: type[Response],
                    timeout: float | None | DefaultTimeout, metadata: Metadata) -> Any:
        """The grpcio call itself (an iterator of responses with `cancel()`); its errors are grpcio's."""
        method = self._streams.get(path)
        if method is None:
            method = self._streams[path] = self.channel.unary_stream(
                path, request_serializer=_serializer, response_deserializer=response.FromString)
        deadline, headers = self.call_options(None if isinstance(timeout, DefaultTimeout) else timeout, metadata)
        return method(request, timeout=deadline, metadata=headers)

    def server_stream(self, path: str, request: Message, response: type[Response],
                      timeout: float | None | DefaultTimeout, metadata: Metadata) -> Iterator[Response]:
        """The call's responses; closing the iterator (or leaving a `for` early) cancels the call."""
        call = self.open_stream(path, request, response, timeout, metadata)
        try:
            yield from call
        except grpc.RpcError as error:
            raise error_from(error) from None
        finally:
            call.cancel()


class AsyncTransport(_Base):
    """asyncio calls on a `grpc.aio.Channel`."""

    def __init__(self, channel: grpc.aio.Channel, token: str | None, timeout: float | None) -> None:
        super().__init__(token, timeout)
        self.channel = channel
        self._unary: dict[str, Callable[..., Any]] = {}
        self._streams: dict[str, Callable[..., Any]] = {}

    async def unary(self, path: str, request: Message, response: type[Response],
                    timeout: float | None | DefaultTimeout, metadata: Metadata) -> Response:
        method = self._unary.get(path)
        if method is None:
            method = self._unary[path] = self.channel.unary_unary(
                path, request_serializer=_serializer, response_deserializer=response.FromString)
        deadline, headers = self.call_options(timeout, metadata)
        try:
            reply: Response = await method(request, timeout=deadline, metadata=headers)
        except grpc.RpcError as error:
            raise error_from(error) from None
        return reply

    def open_stream(self, path: str, request: Message, response: type[Response],
                    timeout: float | None | DefaultTimeout, metadata: Metadata) -> Any:
        """The grpc.aio call itself (an async iterator of responses with `cancel()`)."""
        method = self._streams.get(path)
        if method is None:
            method = self._streams[path] = self.channel.unary_stream(
                path, request_serializer=_serializer, response_deserializer=response.FromString)
        deadline, headers = self.call_options(None if isinstance(timeout, DefaultTimeout) else timeout, metadata)
        return method(request, timeout=deadline, metadata=headers)

    async def server_stream(self, path: str, request: Message, response: type[Response],
                            timeout: float | None | DefaultTimeout, metadata: Metadata) -> AsyncIterator[Response]:
        call = self.open_stream(path, request, response, timeout, metadata)
        try:
            async for item in call:
                yield item
        except grpc.RpcError as error:
            raise error_from(error) from None
        finally:
            call.cancel()
