"""Standard gRPC interop cases (unary and server-streaming forms) against grpc.testing.TestService.

Follows the interop client's definitions (grpc/doc/interop-test-descriptions.md), with
StreamingOutputCall standing in where the standard case uses a bidi/full-duplex call (the
streamed-request forms themselves are in test_interop_streaming.py).
Compression on the wire is checked with a raw HTTP/2 peer: grpcio cannot show whether a
received message was compressed.
"""
import gzip
import time

import grpc
import pytest

from conftest import grpc_frame, make_channel, raw_call, streaming_request, unary_request
from grpc_testing import empty_pb2, messages_pb2

UNARY = "/grpc.testing.TestService/UnaryCall"
STREAMING = "/grpc.testing.TestService/StreamingOutputCall"
STREAM_SIZES = [31415, 9, 2653, 58979]
SPECIAL_MESSAGE = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n"
ECHO_METADATA = [("x-grpc-test-echo-initial", "test_initial_metadata_value"),
                 ("x-grpc-test-echo-trailing-bin", b"\x0a\x0b\x0a\x0b\x0a\x0b")]


def frame(msg, compressed=False):
    body = msg.SerializeToString()
    if compressed:
        body = gzip.compress(body)
    return grpc_frame(body, compressed=compressed)


def decode_messages(resp, cls):
    """Decodes every gRPC message of a raw response, honouring grpc-encoding; returns (flags, messages)."""
    encoding = (resp.headers or {}).get("grpc-encoding", "identity")
    flags, out = [], []
    for flag, body in resp.messages:
        flags.append(flag)
        if flag:
            assert encoding == "gzip", f"compressed message but response grpc-encoding is {encoding!r}"
            body = gzip.decompress(body)
        out.append(cls.FromString(body))
    return flags, out


def test_empty_unary(stub):
    reply = stub.EmptyCall(empty_pb2.Empty(), timeout=10)
    assert reply == empty_pb2.Empty(), f"EmptyCall must return an empty Empty, got {reply!r}"


def test_large_unary(stub):
    reply = stub.UnaryCall(unary_request(response_size=314159, payload_size=271828), timeout=10)
    assert reply.payload.type == messages_pb2.COMPRESSABLE
    assert len(reply.payload.body) == 314159, f"response payload must be 314159 bytes, got {len(reply.payload.body)}"
    assert reply.payload.body == bytes(314159), "response payload must be all zero bytes"


class TestClientCompressedUnary:
    @pytest.mark.skip_on_grpc_go(reason="does not check expect_compressed (answers OK)")
    def test_expect_compressed_but_uncompressed_is_invalid_argument(self, stub):
        req = unary_request(response_size=314159, payload_size=271828,
                            expect_compressed=messages_pb2.BoolValue(value=True))
        with pytest.raises(grpc.RpcError) as err:
            stub.UnaryCall(req, timeout=10)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (
            f"expect_compressed=true with an uncompressed request must fail INVALID_ARGUMENT, got {err.value.code()}")

    def test_expect_compressed_and_compressed_is_ok(self, stub):
        req = unary_request(response_size=314159, payload_size=271828,
                            expect_compressed=messages_pb2.BoolValue(value=True))
        reply = stub.UnaryCall(req, timeout=10, compression=grpc.Compression.Gzip)
        assert len(reply.payload.body) == 314159

    def test_not_expected_but_compressed_is_ok(self, stub):
        req = unary_request(response_size=314159, payload_size=271828,
                            expect_compressed=messages_pb2.BoolValue(value=False))
        reply = stub.UnaryCall(req, timeout=10, compression=grpc.Compression.Gzip)
        assert len(reply.payload.body) == 314159

    @pytest.mark.skip_on_grpc_go(reason="does not check expect_compressed (answers OK)")
    def test_expect_compressed_checked_on_the_wire(self, server):
        """Same probe over raw HTTP/2: grpc-encoding gzip announced, message flag 0."""
        req = unary_request(response_size=10, expect_compressed=messages_pb2.BoolValue(value=True))
        resp = raw_call(server, UNARY, frame(req), extra=[("grpc-encoding", "gzip")])
        assert resp.grpc_status == 3, f"uncompressed message with expect_compressed must be INVALID_ARGUMENT: {resp.describe()}"


class TestServerCompressedUnary:
    @pytest.mark.parametrize("compressed", [True, False])
    def test_grpcio_roundtrip(self, stub, compressed):
        req = unary_request(response_size=314159, payload_size=271828,
                            response_compressed=messages_pb2.BoolValue(value=compressed))
        reply = stub.UnaryCall(req, timeout=10)
        assert reply.payload.body == bytes(314159)

    @pytest.mark.skip_on_grpc_go(reason="grpc-go 1.33 cannot choose a compressor per call: it compresses only if the request was compressed")
    def test_response_compressed_on_the_wire(self, server):
        req = unary_request(response_size=314159, payload_size=271828,
                            response_compressed=messages_pb2.BoolValue(value=True))
        resp = raw_call(server, UNARY, frame(req), extra=[("grpc-accept-encoding", "gzip")])
        assert resp.grpc_status == 0, resp.describe()
        assert resp.headers.get("grpc-encoding") == "gzip", f"response must announce grpc-encoding gzip: {resp.headers}"
        flags, msgs = decode_messages(resp, messages_pb2.SimpleResponse)
        assert flags == [1], f"the one response message must carry the compressed flag, flags={flags}"
        assert len(msgs[0].payload.body) == 314159

    def test_response_not_compressed_when_not_asked(self, server):
        req = unary_request(response_size=314159, payload_size=271828,
                            response_compressed=messages_pb2.BoolValue(value=False))
        resp = raw_call(server, UNARY, frame(req), extra=[("grpc-accept-encoding", "gzip")])
        assert resp.grpc_status == 0, resp.describe()
        flags, msgs = decode_messages(resp, messages_pb2.SimpleResponse)
        assert flags == [0], f"response_compressed=false: the message must not be compressed, flags={flags}"
        assert len(msgs[0].payload.body) == 314159

    @pytest.mark.parametrize("accept", [None, "identity"])
    def test_no_compression_when_client_does_not_accept_gzip(self, server, accept):
        req = unary_request(response_size=1000, response_compressed=messages_pb2.BoolValue(value=True))
        extra = [("grpc-accept-encoding", accept)] if accept else []
        resp = raw_call(server, UNARY, frame(req), extra=extra)
        assert resp.grpc_status == 0, resp.describe()
        flags, msgs = decode_messages(resp, messages_pb2.SimpleResponse)
        assert flags == [0], f"client accepts no gzip (grpc-accept-encoding={accept}): must not compress, flags={flags}"
        assert len(msgs[0].payload.body) == 1000


def test_server_streaming(stub):
    call = stub.StreamingOutputCall(streaming_request(STREAM_SIZES), timeout=10)
    sizes = [len(r.payload.body) for r in call]
    assert sizes == STREAM_SIZES, f"one response per response_parameters entry, in order: got {sizes}"
    assert call.code() == grpc.StatusCode.OK


class TestServerCompressedStreaming:
    def request(self):
        return messages_pb2.StreamingOutputCallRequest(response_parameters=[
            messages_pb2.ResponseParameters(size=31415, compressed=messages_pb2.BoolValue(value=True)),
            messages_pb2.ResponseParameters(size=92653, compressed=messages_pb2.BoolValue(value=False)),
        ])

    def test_grpcio_roundtrip(self, stub):
        sizes = [len(r.payload.body) for r in stub.StreamingOutputCall(self.request(), timeout=10)]
        assert sizes == [31415, 92653]

    @pytest.mark.skip_on_grpc_go(reason="grpc-go 1.33 ignores per-message compressed flags")
    def test_per_message_compression_on_the_wire(self, server):
        resp = raw_call(server, STREAMING, frame(self.request()), extra=[("grpc-accept-encoding", "gzip")])
        assert resp.grpc_status == 0, resp.describe()
        flags, msgs = decode_messages(resp, messages_pb2.StreamingOutputCallResponse)
        assert flags == [1, 0], f"first response compressed, second not: flags={flags}"
        assert [len(m.payload.body) for m in msgs] == [31415, 92653]


class TestCustomMetadata:
    def check(self, call):
        initial = dict(call.initial_metadata())
        trailing = dict(call.trailing_metadata())
        assert initial.get("x-grpc-test-echo-initial") == "test_initial_metadata_value", f"initial metadata: {initial}"
        assert trailing.get("x-grpc-test-echo-trailing-bin") == b"\x0a\x0b\x0a\x0b\x0a\x0b", f"trailing metadata: {trailing}"

    def test_unary(self, stub):
        reply, call = stub.UnaryCall.with_call(unary_request(response_size=314159, payload_size=271828),
                                               metadata=ECHO_METADATA, timeout=10)
        assert len(reply.payload.body) == 314159
        self.check(call)

    def test_streaming(self, stub):
        req = streaming_request([314159])
        req.payload.body = bytes(271828)
        call = stub.StreamingOutputCall(req, metadata=ECHO_METADATA, timeout=10)
        assert [len(r.payload.body) for r in call] == [314159]
        self.check(call)


class TestStatusCodeAndMessage:
    status = messages_pb2.EchoStatus(code=2, message="test status message")

    def test_unary(self, stub):
        with pytest.raises(grpc.RpcError) as err:
            stub.UnaryCall(unary_request(response_status=self.status), timeout=10)
        assert (err.value.code(), err.value.details()) == (grpc.StatusCode.UNKNOWN, "test status message")

    def test_streaming(self, stub):
        call = stub.StreamingOutputCall(streaming_request(response_status=self.status), timeout=10)
        with pytest.raises(grpc.RpcError) as err:
            list(call)
        assert (err.value.code(), err.value.details()) == (grpc.StatusCode.UNKNOWN, "test status message")

    @pytest.mark.skip_on_grpc_go(reason="the reference returns response_status before sending any response")
    def test_streaming_status_after_responses(self, stub):
        """response_status is returned after the requested responses."""
        call = stub.StreamingOutputCall(streaming_request([10, 20], response_status=self.status), timeout=10)
        got = []
        with pytest.raises(grpc.RpcError) as err:
            for r in call:
                got.append(len(r.payload.body))
        assert got == [10, 20], f"responses before the status: {got}"
        assert (err.value.code(), err.value.details()) == (grpc.StatusCode.UNKNOWN, "test status message")


class TestSpecialStatusMessage:
    status = messages_pb2.EchoStatus(code=2, message=SPECIAL_MESSAGE)

    def test_roundtrip(self, stub):
        with pytest.raises(grpc.RpcError) as err:
            stub.UnaryCall(unary_request(response_status=self.status), timeout=10)
        assert err.value.code() == grpc.StatusCode.UNKNOWN
        assert err.value.details() == SPECIAL_MESSAGE, f"message must round-trip exactly: {err.value.details()!r}"

    @pytest.mark.parametrize("path", [UNARY, STREAMING])
    def test_percent_encoded_on_the_wire(self, server, path):
        cls = messages_pb2.SimpleRequest if path == UNARY else messages_pb2.StreamingOutputCallRequest
        resp = raw_call(server, path, frame(cls(response_status=self.status)))
        assert resp.grpc_status == 2, resp.describe()
        # grpc_message asserts printable ASCII with valid %XX escapes before decoding
        assert resp.grpc_message == SPECIAL_MESSAGE, f"raw grpc-message {resp.status_block.get('grpc-message')!r}"


@pytest.mark.parametrize("path", ["/grpc.testing.TestService/UnimplementedCall", "/grpc.testing.TestService/Nope"])
def test_unimplemented_method(channel, path):
    call = channel.unary_unary(path)
    with pytest.raises(grpc.RpcError) as err:
        call(b"", timeout=10)
    assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED, f"{path}: {err.value.code()} {err.value.details()}"


@pytest.mark.parametrize("path", ["/grpc.testing.UnimplementedService/UnimplementedCall", "/grpc.testing.Nope/EmptyCall"])
def test_unimplemented_service(channel, path):
    call = channel.unary_unary(path)
    with pytest.raises(grpc.RpcError) as err:
        call(b"", timeout=10)
    assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED, f"{path}: {err.value.code()} {err.value.details()}"


def test_timeout_on_sleeping_server(stub):
    req = streaming_request([31415], interval_us=2_000_000)
    req.payload.body = bytes(27182)
    call = stub.StreamingOutputCall(req, timeout=0.001)
    with pytest.raises(grpc.RpcError) as err:
        list(call)
    assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED, f"{err.value.code()} {err.value.details()}"


def test_deadline_shorter_than_server_delay(stub, server):
    """A 100 ms deadline against a 5 s server delay ends DEADLINE_EXCEEDED well under 1 s."""
    call = stub.StreamingOutputCall(streaming_request([10], interval_us=5_000_000), timeout=0.1)
    start = time.monotonic()
    with pytest.raises(grpc.RpcError) as err:
        list(call)
    elapsed = time.monotonic() - start
    assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED, f"{err.value.code()} {err.value.details()}"
    assert elapsed < 1.0, f"deadline of 0.1 s took {elapsed:.2f}s to expire"
    server.assert_serving("a call past its deadline")


def test_cancel_after_first_response(stub):
    # the later responses wait 1 s each, so the cancel always lands mid-stream
    req = messages_pb2.StreamingOutputCallRequest(response_parameters=[
        messages_pb2.ResponseParameters(size=s, interval_us=0 if i == 0 else 1_000_000)
        for i, s in enumerate(STREAM_SIZES)])
    req.payload.body = bytes(27182)
    call = stub.StreamingOutputCall(req, timeout=30)
    first = next(call)
    assert len(first.payload.body) == 31415
    call.cancel()
    with pytest.raises(grpc.RpcError) as err:
        next(call)
    assert err.value.code() == grpc.StatusCode.CANCELLED, f"{err.value.code()} {err.value.details()}"
    assert call.code() == grpc.StatusCode.CANCELLED


def test_empty_stream(stub):
    call = stub.StreamingOutputCall(streaming_request([]), timeout=10)
    got = list(call)
    assert got == [], f"no response_parameters: no responses expected, got {len(got)}"
    assert call.code() == grpc.StatusCode.OK


def test_empty_request_message_unary(server):
    """A UnaryCall whose request is an empty (zero-length) message is valid protobuf: OK, empty payload."""
    with make_channel(server) as ch:
        reply = ch.unary_unary(UNARY, response_deserializer=messages_pb2.SimpleResponse.FromString)(b"", timeout=10)
    assert reply.payload.body == b""
