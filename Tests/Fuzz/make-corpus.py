#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora (run once; the output is committed):

  Tests/Fuzz/Corpus/server-ingress/    what HTTP/2 peers send: gRPC calls of every kind and
                                       protocol corner cases, framed for FuzzServerIngress
  Tests/Fuzz/Corpus/request-decoders/  one populated encoding per request message type,
                                       framed for FuzzRequestDecoders

Frames are built by hand (hpack for header blocks, the interop, health and cellhub.v1 stubs
for messages) so that broken ones can be written too. Existing files of the same names are
overwritten; others (crash inputs added later) are left alone.

    .venv/bin/python Tests/Fuzz/make-corpus.py
"""
from __future__ import annotations

import base64
import gzip
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "Clients/python"), str(ROOT / "Tests/Python/interop_stubs")]

import hpack  # noqa: E402  (h2's HPACK codec)
from google.protobuf import descriptor as pb_descriptor  # noqa: E402
from google.protobuf import message_factory  # noqa: E402
from grpc_health.v1 import health_pb2  # noqa: E402
from grpc_testing import empty_pb2, messages_pb2, test_pb2  # noqa: E402

from cellhub.v1 import images_pb2, projects_pb2, segmentation_pb2, stats_service_pb2  # noqa: E402
from grpc_reflection.v1alpha import reflection_pb2 as reflection_v1alpha_pb2  # noqa: E402
from grpc_reflection_v1 import reflection_pb2 as reflection_v1_pb2  # noqa: E402

CORPUS = ROOT / "Tests/Fuzz/Corpus"

# -- HTTP/2 ------------------------------------------------------------------------------------

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = range(10)
END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY_FLAG = 0x1, 0x1, 0x4, 0x8, 0x20

UNARY = "/grpc.testing.TestService/UnaryCall"
EMPTY = "/grpc.testing.TestService/EmptyCall"
STREAMING = "/grpc.testing.TestService/StreamingOutputCall"
STREAMING_INPUT = "/grpc.testing.TestService/StreamingInputCall"
FULL_DUPLEX = "/grpc.testing.TestService/FullDuplexCall"
HALF_DUPLEX = "/grpc.testing.TestService/HalfDuplexCall"
CHECK = "/grpc.health.v1.Health/Check"
WATCH = "/grpc.health.v1.Health/Watch"


def frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def settings(*pairs: tuple[int, int], ack: bool = False) -> bytes:
    return frame(SETTINGS, ACK if ack else 0, 0, b"".join(struct.pack(">HI", k, v) for k, v in pairs))


def window_update(stream: int, increment: int) -> bytes:
    return frame(WINDOW_UPDATE, 0, stream, struct.pack(">I", increment))


def rst(stream: int, code: int = 8) -> bytes:
    return frame(RST_STREAM, 0, stream, struct.pack(">I", code))


def grpc_message(payload: bytes, compressed: bool = False, flag: int | None = None) -> bytes:
    body = gzip.compress(payload, mtime=0) if compressed else payload  # mtime=0: same bytes every run
    return bytes([flag if flag is not None else int(compressed)]) + struct.pack(">I", len(body)) + body


class Peer:
    """One client connection's header compression state."""

    def __init__(self) -> None:
        self.encoder = hpack.Encoder()

    def block(self, headers: list[tuple[str, str]]) -> bytes:
        return self.encoder.encode(headers)

    def request_headers(self, path: str, extra: list[tuple[str, str]] = (), *, drop: tuple[str, ...] = (),
                        replace: dict[str, str] | None = None) -> list[tuple[str, str]]:
        base = [(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "localhost"),
                ("content-type", "application/grpc"), ("te", "trailers")]
        replace = replace or {}
        headers = [(k, replace.get(k, v)) for k, v in base if k not in drop]
        return headers + list(extra)

    def headers(self, stream: int, path: str, extra=(), *, end_stream: bool = False, **kw) -> bytes:
        flags = END_HEADERS | (END_STREAM if end_stream else 0)
        return frame(HEADERS, flags, stream, self.block(self.request_headers(path, extra, **kw)))

    def call(self, stream: int, path: str, message: bytes, extra=(), **kw) -> list[bytes]:
        """A complete call: HEADERS, then one DATA frame with END_STREAM."""
        return [self.headers(stream, path, extra, **kw), frame(DATA, END_STREAM, stream, message)]


def opening(*pairs: tuple[int, int]) -> bytes:
    return PREFACE + settings(*pairs)


def ingress(chunks: list[bytes], *, tight: bool = False, preface_flag: bool = False, eof: bool = False) -> bytes:
    """FuzzServerIngress's layout: flags, up to 7 piece lengths, the bytes (see IngressInput.swift)."""
    chunks = [c for c in chunks if c]
    if len(chunks) > 8:
        chunks = chunks[:7] + [b"".join(chunks[7:])]
    lengths = [len(c) for c in chunks[:-1]]
    assert all(n < 1 << 16 for n in lengths)
    flags = len(lengths) | (0x08 if tight else 0) | (0x10 if preface_flag else 0) | (0x20 if eof else 0)
    return bytes([flags]) + b"".join(struct.pack(">H", n) for n in lengths) + b"".join(chunks)


def simple_request(**kw) -> bytes:
    request = messages_pb2.SimpleRequest(response_type=messages_pb2.COMPRESSABLE, **kw)
    return request.SerializeToString()


def streaming_request(sizes: list[int], compressed: tuple[int, ...] = (), **kw) -> bytes:
    request = messages_pb2.StreamingOutputCallRequest(response_type=messages_pb2.COMPRESSABLE, **kw)
    for i, size in enumerate(sizes):
        parameters = request.response_parameters.add(size=size)
        if i in compressed:
            parameters.compressed.value = True
    return request.SerializeToString()


def health(service: str = "") -> bytes:
    return grpc_message(health_pb2.HealthCheckRequest(service=service).SerializeToString())


def server_ingress_seeds() -> dict[str, bytes]:
    seeds: dict[str, bytes] = {}
    empty = grpc_message(empty_pb2.Empty().SerializeToString())
    unary = grpc_message(simple_request(response_size=10, payload=messages_pb2.Payload(body=b"x" * 20)))

    p = Peer()
    seeds["unary-empty-call"] = ingress([opening(), *p.call(1, EMPTY, empty)])

    p = Peer()
    echo = [("x-grpc-test-echo-initial", "hello"),
            ("x-grpc-test-echo-trailing-bin", base64.b64encode(b"\x00\xffbin").decode().rstrip("="))]
    seeds["unary-call-echo-metadata"] = ingress([opening(), *p.call(1, UNARY, unary, echo)])

    p = Peer()
    request = grpc_message(simple_request(response_size=40, expect_compressed=messages_pb2.BoolValue(value=True)), compressed=True)
    seeds["unary-gzip-request"] = ingress(
        [opening(), *p.call(1, UNARY, request, [("grpc-encoding", "gzip"), ("grpc-accept-encoding", "gzip,identity")])])

    p = Peer()
    request = grpc_message(simple_request(response_size=300, response_compressed=messages_pb2.BoolValue(value=True)))
    seeds["unary-gzip-response"] = ingress([opening(), *p.call(1, UNARY, request, [("grpc-accept-encoding", "gzip")])])

    p = Peer()
    request = grpc_message(simple_request(response_status=messages_pb2.EchoStatus(code=3, message="bad % \u00e9 input")))
    seeds["unary-error-status"] = ingress([opening(), *p.call(1, UNARY, request)])

    p = Peer()
    seeds["unary-bad-gzip"] = ingress([opening(), *p.call(1, UNARY, bytes([1, 0, 0, 0, 4]) + b"nope", [("grpc-encoding", "gzip")])])

    p = Peer()
    request = grpc_message(streaming_request([10, 100, 1000], compressed=(1,)))
    seeds["streaming-output"] = ingress([opening(), *p.call(1, STREAMING, request, [("grpc-accept-encoding", "gzip")])])

    # A reader that grants 16 bytes of window, then credit in steps: output waits for it.
    p = Peer()
    request = grpc_message(streaming_request([1000, 1000, 3000, 5000]))
    seeds["streaming-flow-control"] = ingress(
        [opening((4, 16)), *p.call(1, STREAMING, request), window_update(1, 2000), window_update(0, 2000),
         settings((4, 65535)), window_update(1, 100000)])
    p = Peer()
    seeds["streaming-backpressure-tight"] = ingress(
        [opening((4, 0)), *p.call(1, STREAMING, request), settings((4, 4096)), window_update(1, 3000)], tight=True)

    p = Peer()
    request = grpc_message(streaming_request([5, 5], response_status=messages_pb2.EchoStatus(code=9, message="after")))
    seeds["streaming-error-after-messages"] = ingress([opening(), *p.call(1, STREAMING, request)])

    # Request streams: messages in several DATA frames, one compressed, then the half-close;
    # a ping-pong cancelled midway; a half-duplex call cut by EOF.
    p = Peer()
    inputs = [grpc_message(messages_pb2.StreamingInputCallRequest(payload=messages_pb2.Payload(body=b"i" * n)).SerializeToString(),
                           compressed=(n == 50)) for n in (5, 50, 500)]
    seeds["client-streaming"] = ingress([opening(), p.headers(1, STREAMING_INPUT, [("grpc-encoding", "gzip")]),
                                         frame(DATA, 0, 1, inputs[0]), frame(DATA, 0, 1, inputs[1]),
                                         frame(DATA, END_STREAM, 1, inputs[2])])
    p = Peer()
    ping = grpc_message(streaming_request([20]))
    seeds["bidi-ping-pong-cancel"] = ingress([opening(), p.headers(1, FULL_DUPLEX), frame(DATA, 0, 1, ping),
                                              frame(DATA, 0, 1, ping), rst(1)])
    p = Peer()
    seeds["bidi-ping-pong"] = ingress([opening(), p.headers(1, FULL_DUPLEX), frame(DATA, 0, 1, ping),
                                       frame(DATA, END_STREAM, 1, ping)])
    seeds["half-duplex-eof"] = ingress([opening(), Peer().headers(1, HALF_DUPLEX), frame(DATA, 0, 1, ping)], eof=True)

    p = Peer()
    seeds["health-check"] = ingress([opening(), *p.call(1, CHECK, health()), *p.call(3, CHECK, health("unknown.Service"))])

    p = Peer()
    seeds["health-watch-cancel"] = ingress([opening(), *p.call(1, WATCH, health()), rst(1)])
    seeds["health-watch-eof"] = ingress([opening(), *Peer().call(1, WATCH, health())], eof=True)

    seeds["bad-preface-http1"] = ingress([b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"])
    seeds["bad-preface-truncated"] = ingress([PREFACE[:10], PREFACE[10:20]], eof=True)

    # A header block in three frames; and one in more frames than maxContinuations allows.
    p = Peer()
    block = p.block(p.request_headers(UNARY, [("x-padding", "p" * 40), ("x-more", "m" * 40)]))
    third = len(block) // 3
    seeds["continuation"] = ingress([
        opening(), frame(HEADERS, 0, 1, block[:third]), frame(CONTINUATION, 0, 1, block[third:2 * third]),
        frame(CONTINUATION, END_HEADERS, 1, block[2 * third:]), frame(DATA, END_STREAM, 1, unary)])
    p = Peer()
    block = p.block(p.request_headers(UNARY, [("x-padding", "p" * 60)]))
    step = len(block) // 5
    parts = [block[i * step:(i + 1) * step] for i in range(4)] + [block[4 * step:]]
    seeds["continuation-flood-tight"] = ingress(
        [opening(), frame(HEADERS, 0, 1, parts[0])] + [frame(CONTINUATION, 0, 1, x) for x in parts[1:4]]
        + [frame(CONTINUATION, END_HEADERS, 1, parts[4])], tight=True)

    p = Peer()
    seeds["rst-mid-request"] = ingress([opening(), p.headers(1, UNARY), frame(DATA, 0, 1, unary[:9]), rst(1), *p.call(3, EMPTY, empty)])

    p = Peer()
    seeds["ping-goaway"] = ingress([
        opening(), frame(PING, 0, 0, b"12345678"), frame(PING, ACK, 0, b"abcdefgh"), *p.call(1, EMPTY, empty),
        frame(GOAWAY, 0, 0, struct.pack(">II", 0, 0) + b"bye")])

    p = Peer()
    chunks = [opening()]
    for stream in (1, 3, 5, 7, 9):
        chunks.append(p.headers(stream, [EMPTY, UNARY, CHECK, STREAMING, UNARY][stream // 2]))
    bodies = [empty, unary, health(), grpc_message(streaming_request([7, 7])), unary]
    chunks.append(b"".join(frame(DATA, END_STREAM, s, b) for s, b in zip((9, 7, 5, 3, 1), reversed(bodies))))
    seeds["concurrent-streams"] = ingress(chunks)

    bad_headers = {
        "content-type-json": dict(replace={"content-type": "application/json"}),
        "content-type-grpc-proto": dict(replace={"content-type": "application/grpc+proto"}),
        "method-get": dict(replace={":method": "GET"}),
        "te-missing": dict(drop=("te",)),
        "te-gzip": dict(replace={"te": "gzip"}),
        "unknown-method": dict(path="/grpc.testing.TestService/FullDuplexCall"),
        "unknown-service": dict(path="/no.such.Service/Call"),
        "timeout-valid": dict(extra=[("grpc-timeout", "5S")]),
        "timeout-tiny": dict(extra=[("grpc-timeout", "1n")]),
        "timeout-malformed": dict(extra=[("grpc-timeout", "12345678901x")]),
        "encoding-deflate": dict(extra=[("grpc-encoding", "deflate")]),
        "bin-metadata-bad-base64": dict(extra=[("x-trace-bin", "!!!not base64")]),
        "bin-metadata-padded": dict(extra=[("x-trace-bin", "AAEC/w==")]),
        "path-empty": dict(path=""),
    }
    for name, kw in bad_headers.items():
        p = Peer()
        path = kw.pop("path", UNARY)
        extra = kw.pop("extra", [])
        seeds[f"headers-{name}"] = ingress([opening(), *p.call(1, path, unary, extra, **kw)])

    p = Peer()
    padded = bytes([5]) + unary[:8] + b"\0" * 5
    seeds["message-split-padded"] = ingress([
        opening(), p.headers(1, UNARY), frame(DATA, PADDED, 1, padded), frame(DATA, 0, 1, unary[8:12]),
        frame(DATA, END_STREAM, 1, unary[12:])])

    p = Peer()
    seeds["message-truncated"] = ingress([opening(), *p.call(1, UNARY, bytes([0, 0, 0, 0, 100]) + b"short")])
    p = Peer()
    seeds["message-two-on-unary"] = ingress([opening(), *p.call(1, UNARY, unary + unary)])
    p = Peer()
    seeds["message-bad-flag"] = ingress([opening(), *p.call(1, UNARY, grpc_message(b"", flag=2))])
    p = Peer()
    seeds["message-none"] = ingress([opening(), p.headers(1, UNARY, end_stream=True)])
    p = Peer()
    seeds["message-undecodable"] = ingress([opening(), *p.call(1, UNARY, grpc_message(b"\x0a\xff\xff"))])
    p = Peer()
    seeds["message-oversized-tight"] = ingress(
        [opening(), p.headers(1, UNARY), frame(DATA, 0, 1, bytes([0, 0, 16, 0, 0]) + b"x" * 100)], tight=True)

    # Three streams each holding an unfinished 4 KiB message: the per-connection budget,
    # then the server-wide one (soft, then hard) of the tight server.
    p = Peer()
    partial = bytes([0, 0, 0, 0x0f, 0xf0]) + b"y" * 3000
    chunks = [opening((4, 65535))]
    for stream in (1, 3, 5, 7):
        chunks += [p.headers(stream, UNARY), frame(DATA, 0, stream, partial)]
    seeds["request-budget-tight"] = ingress(chunks + [rst(3), frame(DATA, END_STREAM, 1, b"z" * 1000)], tight=True)

    p = Peer()
    seeds["client-trailers"] = ingress([
        opening(), p.headers(1, UNARY), frame(DATA, 0, 1, unary),
        frame(HEADERS, END_HEADERS | END_STREAM, 1, p.block([("x-trailer", "t")]))])

    p = Peer()
    block = p.block(p.request_headers(EMPTY))
    seeds["priority-padding-unknown-frame"] = ingress([
        opening(), frame(PRIORITY, 0, 1, struct.pack(">IB", 0, 15)),
        frame(HEADERS, END_HEADERS | PADDED | PRIORITY_FLAG, 1, bytes([3]) + struct.pack(">IB", 0, 200) + block + b"\0\0\0"),
        frame(0xfa, 0, 0, b"unknown frame type"), frame(DATA, END_STREAM, 1, empty)])

    p = Peer()
    chunks = [opening()]
    for stream in range(1, 22, 2):
        chunks.append(p.headers(stream, UNARY) + rst(stream))
    seeds["rapid-reset-tight"] = ingress(chunks, tight=True)

    p = Peer()
    seeds["header-list-too-large-tight"] = ingress([opening(), *p.call(1, UNARY, unary, [("x-big", "b" * 2000)])], tight=True)
    p = Peer()
    seeds["max-concurrent-streams-tight"] = ingress(
        [opening()] + [p.headers(s, UNARY) for s in range(1, 24, 2)] + [frame(DATA, END_STREAM, 1, unary)], tight=True)

    p = Peer()
    seeds["settings-variety"] = ingress([
        opening((1, 0), (2, 0), (3, 100), (4, 1 << 20), (5, 1 << 15), (6, 8192)), settings(ack=True),
        *p.call(1, UNARY, unary), settings((1, 4096))])

    p = Peer()
    seeds["window-update-overflow"] = ingress(
        [opening(), *p.call(1, STREAMING, grpc_message(streaming_request([10]))), window_update(0, 0x7fffffff), window_update(0, 0x7fffffff)])
    p = Peer()
    seeds["window-update-zero"] = ingress([opening(), p.headers(1, UNARY), window_update(1, 0), frame(DATA, END_STREAM, 1, unary)])

    p = Peer()
    seeds["data-on-idle-stream"] = ingress([opening(), frame(DATA, END_STREAM, 5, unary), *p.call(1, EMPTY, empty)])
    p = Peer()
    seeds["data-after-end-stream"] = ingress([opening(), *p.call(1, EMPTY, empty), frame(DATA, 0, 1, empty)])
    seeds["push-promise-from-client"] = ingress([opening(), frame(PUSH_PROMISE, END_HEADERS, 1, struct.pack(">I", 2) + b"\x82")])

    p = Peer()
    seeds["eof-headers-only"] = ingress([opening(), p.headers(1, UNARY)], eof=True)
    p = Peer()
    seeds["eof-partial-message"] = ingress([opening(), p.headers(1, UNARY), frame(DATA, 0, 1, unary[:7])], eof=True)
    p = Peer()
    seeds["eof-running-stream"] = ingress([opening((4, 0)), *p.call(1, STREAMING, grpc_message(streaming_request([100, 100])))], eof=True)
    p = Peer()
    block = p.block(p.request_headers(UNARY))
    seeds["eof-inside-header-block"] = ingress([opening(), frame(HEADERS, 0, 1, block)], eof=True)

    # Calls with the longest deadline grpc-timeout allows, open when the connection closes.
    p = Peer()
    seeds["deadlines-open-at-close"] = ingress(
        [opening(), b"".join(p.headers(s, UNARY, [("grpc-timeout", "99999999H")]) for s in range(1, 200, 2))])

    # The same call, cut into pieces that end inside the preface, a frame header and a message.
    p = Peer()
    whole = opening() + b"".join(p.call(1, UNARY, unary))
    cuts = [5, 24, 30, 33, len(whole) - len(unary) - 4, len(whole) - 3, len(whole) - 1]
    seeds["unary-split-everywhere"] = ingress([whole[a:b] for a, b in zip([0] + cuts, cuts + [len(whole)])])

    # Preface added by the fuzzer (flag bit 4): the bytes start at SETTINGS.
    p = Peer()
    seeds["preface-flag-unary"] = ingress([settings(), *p.call(1, UNARY, unary)], preface_flag=True)
    return seeds


# -- request messages --------------------------------------------------------------------------

SERVICE_FILES = [projects_pb2, images_pb2, segmentation_pb2, stats_service_pb2, health_pb2, test_pb2,
                 reflection_v1_pb2, reflection_v1alpha_pb2]


def request_types() -> list[pb_descriptor.Descriptor]:
    """Every method's request type, sorted by full name: RequestDecodersFuzzer's numbering."""
    types = {}
    for module in SERVICE_FILES:
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                types[method.input_type.full_name] = method.input_type
    return [types[name] for name in sorted(types)]


def fill(message, depth: int = 0) -> None:
    """Sets every field (the first member of each oneof) to a small, valid value."""
    chosen_oneofs = set()
    for field in message.DESCRIPTOR.fields:
        oneof = field.containing_oneof
        if oneof is not None and not oneof.name.startswith("_"):  # synthetic oneofs: proto3 optional
            if oneof.name in chosen_oneofs:
                continue
            chosen_oneofs.add(oneof.name)
        repeated = field.is_repeated
        if field.type == field.TYPE_MESSAGE:
            if depth >= 3:
                continue
            targets = [getattr(message, field.name).add() for _ in range(2)] if repeated else [getattr(message, field.name)]
            for target in targets:
                fill(target, depth + 1)
                target.SetInParent()
            continue
        value = sample(field)
        if repeated:
            getattr(message, field.name).extend([value, value])
        else:
            setattr(message, field.name, value)


def sample(field):
    t = field.type
    if t == field.TYPE_STRING:
        return {"project_id": "01JPROJECT", "time_zone": "Europe/Prague", "page_token": "tok"}.get(field.name, "s\u00e9g")
    if t == field.TYPE_BYTES:
        return b"\x89PNG\r\n"
    if t == field.TYPE_BOOL:
        return True
    if t == field.TYPE_ENUM:
        values = field.enum_type.values
        return values[1].number if len(values) > 1 else values[0].number
    if t in (field.TYPE_FLOAT, field.TYPE_DOUBLE):
        return 1.5
    if t in (field.TYPE_INT32, field.TYPE_SINT32, field.TYPE_SFIXED32, field.TYPE_INT64, field.TYPE_SINT64, field.TYPE_SFIXED64):
        return -7
    return 7  # unsigned


def request_decoder_seeds() -> dict[str, bytes]:
    seeds: dict[str, bytes] = {}
    for index, descriptor in enumerate(request_types()):
        cls = message_factory.GetMessageClass(descriptor)
        message = cls()
        fill(message)
        seeds[f"{index:02d}-{descriptor.name}"] = bytes([index]) + message.SerializeToString()
    # Wire-format corners, each for one type: unknown fields (kept out of the value), a
    # packed repeated field, a field repeated where one is expected (last one wins).
    names = [d.full_name for d in request_types()]
    simple = names.index("grpc.testing.SimpleRequest")
    seeds["unknown-fields"] = bytes([simple]) + b"\x08\x01" + b"\xf8\x07\x2a" + b"\xfa\x07\x03abc" + b"\xfd\x07\x01\x02\x03\x04"
    seeds["repeated-scalar-field"] = bytes([simple]) + b"\x10\x05\x10\x06"
    streaming = names.index("grpc.testing.StreamingOutputCallRequest")
    seeds["nested-repeated"] = bytes([streaming]) + b"\x08\x00" + b"\x12\x02\x08\x01" * 3 + b"\x12\x04\x08\x02\x10\x03"
    return seeds


def write(directory: Path, seeds: dict[str, bytes]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in seeds.items():
        (directory / name).write_bytes(data)
    print(f"{directory.relative_to(ROOT)}: {len(seeds)} seeds, {sum(map(len, seeds.values()))} bytes")


if __name__ == "__main__":
    write(CORPUS / "server-ingress", server_ingress_seeds())
    write(CORPUS / "request-decoders", request_decoder_seeds())
