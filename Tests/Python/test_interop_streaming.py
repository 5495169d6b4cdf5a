"""Standard gRPC interop cases that stream requests: client streaming (StreamingInputCall) and
bidirectional streaming (FullDuplexCall, HalfDuplexCall), with stock grpcio clients.

Follows the interop client's definitions (grpc/doc/interop-test-descriptions.md). What grpcio
cannot show (per-message compression flags, the server's own deadline, the reset after an
early status) is checked with a raw HTTP/2 peer.
"""
import gzip
import queue
import time

import grpc
import pytest

from conftest import grpc_frame, make_channel, raw_call
from grpc_testing import empty_pb2, messages_pb2, test_pb2_grpc

STREAMING_INPUT = "/grpc.testing.TestService/StreamingInputCall"
FULL_DUPLEX = "/grpc.testing.TestService/FullDuplexCall"
REQUEST_SIZES = [27182, 8, 1828, 45904]
RESPONSE_SIZES = [31415, 9, 2653, 58979]
ECHO_METADATA = [("x-grpc-test-echo-initial", "test_initial_metadata_value"),
                 ("x-grpc-test-echo-trailing-bin", b"\x0a\x0b\x0a\x0b\x0a\x0b")]
SPECIAL_MESSAGE = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n"


class Pipe:
    """A request iterator fed while the call runs (grpcio pulls from it on its own thread)."""

    def __init__(self):
        self._queue = queue.Queue()

    def add(self, request):
        self._queue.put(request)

    def close(self):
        self._queue.put(None)

    def __iter__(self):
        while (request := self._queue.get()) is not None:
            yield request


def input_request(size, expect_compressed=None):
    request = messages_pb2.StreamingInputCallRequest(payload=messages_pb2.Payload(body=bytes(size)))
    if expect_compressed is not None:
        request.expect_compressed.value = expect_compressed
    return request


def output_request(response_sizes, payload_size=0, interval_us=0, **kw):
    return messages_pb2.StreamingOutputCallRequest(
        response_type=messages_pb2.COMPRESSABLE,
        response_parameters=[messages_pb2.ResponseParameters(size=s, interval_us=interval_us) for s in response_sizes],
        payload=messages_pb2.Payload(body=bytes(payload_size)), **kw)


def frame(message, compressed=False):
    body = message.SerializeToString()
    return grpc_frame(gzip.compress(body) if compressed else body, compressed=compressed)


def test_client_streaming(stub):
    reply = stub.StreamingInputCall(iter([input_request(size) for size in REQUEST_SIZES]), timeout=10)
    assert reply.aggregated_payload_size == 74922, f"sum of the request payloads: {reply.aggregated_payload_size}"


def test_client_streaming_many_small_messages(stub):
    reply = stub.StreamingInputCall(iter([input_request(3) for _ in range(10_000)]), timeout=30)
    assert reply.aggregated_payload_size == 30_000


def test_ping_pong(stub):
    pipe = Pipe()
    responses = stub.FullDuplexCall(iter(pipe), timeout=10)
    for request_size, response_size in zip(REQUEST_SIZES, RESPONSE_SIZES):
        pipe.add(output_request([response_size], payload_size=request_size))
        response = next(responses)
        assert len(response.payload.body) == response_size, "each request is answered before the next is sent"
    pipe.close()
    assert list(responses) == [], "no response after the client half-closed"
    assert responses.code() == grpc.StatusCode.OK


def test_half_duplex_answers_after_the_half_close(stub):
    responses = stub.HalfDuplexCall(iter([output_request([size]) for size in RESPONSE_SIZES]), timeout=10)
    assert [len(r.payload.body) for r in responses] == RESPONSE_SIZES
    assert responses.code() == grpc.StatusCode.OK


@pytest.mark.parametrize("method", ["FullDuplexCall", "HalfDuplexCall"])
def test_empty_stream(stub, method):
    responses = getattr(stub, method)(iter([]), timeout=10)
    assert list(responses) == [], "no requests: no responses"
    assert responses.code() == grpc.StatusCode.OK


def test_empty_stream_client_streaming(stub):
    assert stub.StreamingInputCall(iter([]), timeout=10).aggregated_payload_size == 0


class TestClientCompressedStreaming:
    @pytest.mark.skip_on_grpc_go(reason="does not check expect_compressed (answers OK)")
    def test_probe_uncompressed_but_expected_is_invalid_argument(self, stub):
        with pytest.raises(grpc.RpcError) as err:
            stub.StreamingInputCall(iter([input_request(27182, expect_compressed=True)]), timeout=10)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, f"{err.value.code()} {err.value.details()}"

    def test_compressed_stream(self, stub):
        requests = [input_request(27182, expect_compressed=True), input_request(45904, expect_compressed=False)]
        reply = stub.StreamingInputCall(iter(requests), timeout=10, compression=grpc.Compression.Gzip)
        assert reply.aggregated_payload_size == 73086

    def test_per_message_compression_on_the_wire(self, server):
        """The interop case as specified: the first message compressed, the second not."""
        body = frame(input_request(27182, expect_compressed=True), compressed=True) + frame(
            input_request(45904, expect_compressed=False))
        resp = raw_call(server, STREAMING_INPUT, body, extra=[("grpc-encoding", "gzip")])
        assert resp.grpc_status == 0, resp.describe()
        _, message = resp.messages[0]
        assert messages_pb2.StreamingInputCallResponse.FromString(message).aggregated_payload_size == 73086

    @pytest.mark.skip_on_grpc_go(reason="does not check expect_compressed (answers OK)")
    def test_expectation_is_checked_per_message(self, server):
        body = frame(input_request(10, expect_compressed=True), compressed=True) + frame(
            input_request(10, expect_compressed=True))
        resp = raw_call(server, STREAMING_INPUT, body, extra=[("grpc-encoding", "gzip")])
        assert resp.grpc_status == 3, f"the second message was expected compressed: {resp.describe()}"


def test_cancel_after_begin(stub):
    pipe = Pipe()
    future = stub.StreamingInputCall.future(iter(pipe), timeout=10)
    future.cancel()
    pipe.close()
    assert future.cancelled(), "cancel() on a running call must cancel it"
    assert future.code() == grpc.StatusCode.CANCELLED


@pytest.mark.cellhubd_only(reason="the cancellation log line is cellhubd's")
def test_cancel_reaches_a_running_bidi_handler(server):
    """After the first response the handler surely runs: the client's cancel ends it (logged)."""
    with make_channel(server) as channel:  # kept open: the RST_STREAM alone must end the call
        pipe = Pipe()
        responses = test_pb2_grpc.TestServiceStub(channel).FullDuplexCall(iter(pipe), timeout=30)
        pipe.add(output_request([10]))
        assert len(next(responses).payload.body) == 10
        mark = len(server.log_lines())
        responses.cancel()
        line = server.wait_for_log(lambda s: "cancelled" in s.lower() and FULL_DUPLEX in s, timeout=2.0, start=mark)
        pipe.close()
    assert responses.code() == grpc.StatusCode.CANCELLED
    assert line is not None, "no 'cancelled' log line for FullDuplexCall within 2 s of the cancel:\n" + "\n".join(
        server.log_lines()[mark:][-20:])
    server.assert_serving("a cancelled bidi call")


def test_timeout_on_sleeping_server(stub):
    pipe = Pipe()
    responses = stub.FullDuplexCall(iter(pipe), timeout=0.001)
    pipe.add(output_request([], payload_size=27182))  # asks for no response: the server "sleeps"
    with pytest.raises(grpc.RpcError) as err:
        next(responses)
    pipe.close()
    assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED, f"{err.value.code()} {err.value.details()}"


@pytest.mark.skip_on_grpc_go(reason="grpc-go resets the stream (CANCEL) on its deadline instead of sending a status")
def test_server_enforces_the_deadline_of_an_open_stream(server, h2_connect):
    """grpcio enforces deadlines itself; a raw peer shows the server's own: a bidi call whose
    client sends nothing more ends DEADLINE_EXCEEDED, then the server resets the stream."""
    client = h2_connect(server)
    start = time.monotonic()
    sid = client.send_request(FULL_DUPLEX, frame(output_request([10])), end_stream=False, extra=[("grpc-timeout", "200m")])
    resp = client.response(sid, timeout=5)
    elapsed = time.monotonic() - start
    assert resp.grpc_status == 4, resp.describe()
    assert len(resp.messages) == 1, "the response sent before the deadline arrives"
    assert 0.15 <= elapsed < 1.5, f"a 200 ms deadline ended the call after {elapsed:.2f}s"
    assert client.wait_until(lambda: resp.reset_code is not None, 2), f"no RST_STREAM after the status: {resp.describe()}"
    assert resp.reset_code == 0, f"RST_STREAM after the status must be NO_ERROR, got {resp.reset_code}"


def test_custom_metadata_full_duplex(stub):
    pipe = Pipe()
    responses = stub.FullDuplexCall(iter(pipe), metadata=ECHO_METADATA, timeout=10)
    pipe.add(output_request([314159], payload_size=271828))
    assert len(next(responses).payload.body) == 314159
    pipe.close()
    assert list(responses) == []
    initial = dict(responses.initial_metadata())
    trailing = dict(responses.trailing_metadata())
    assert initial.get("x-grpc-test-echo-initial") == "test_initial_metadata_value", f"initial metadata: {initial}"
    assert trailing.get("x-grpc-test-echo-trailing-bin") == b"\x0a\x0b\x0a\x0b\x0a\x0b", f"trailing metadata: {trailing}"


@pytest.mark.parametrize("message", ["test status message", SPECIAL_MESSAGE], ids=["plain", "special"])
def test_status_code_and_message_full_duplex(stub, message):
    pipe = Pipe()
    responses = stub.FullDuplexCall(iter(pipe), timeout=10)
    pipe.add(output_request([1], payload_size=1, response_status=messages_pb2.EchoStatus(code=2, message=message)))
    pipe.close()
    with pytest.raises(grpc.RpcError) as err:
        next(responses)
    assert (err.value.code(), err.value.details()) == (grpc.StatusCode.UNKNOWN, message)


def test_status_before_the_half_close_resets_the_stream(server, h2_connect):
    """The handler ends the call while the client still sends: the status goes out first,
    then RST_STREAM(NO_ERROR) tells the client to stop (RFC 9113 §8.1)."""
    client = h2_connect(server)
    request = output_request([1], response_status=messages_pb2.EchoStatus(code=9, message="early"))
    sid = client.send_request(FULL_DUPLEX, frame(request), end_stream=False)
    resp = client.response(sid)
    assert (resp.grpc_status, resp.grpc_message) == (9, "early"), resp.describe()
    assert client.wait_until(lambda: resp.reset_code is not None, 2), f"no RST_STREAM after the status: {resp.describe()}"
    assert resp.reset_code == 0, f"RST_STREAM after the status must be NO_ERROR, got {resp.reset_code}"


def test_unimplemented_method(stub):
    with pytest.raises(grpc.RpcError) as err:
        stub.UnimplementedCall(empty_pb2.Empty(), timeout=10)
    assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED, f"{err.value.code()} {err.value.details()}"


@pytest.mark.skip_on_grpc_go(reason="checks cellhubd's messages for malformed request streams")
class TestMalformedRequestStreams:
    def test_undecodable_message_mid_stream_is_invalid_argument(self, server):
        body = frame(input_request(5)) + grpc_frame(b"\xff\xff\xff")
        resp = raw_call(server, STREAMING_INPUT, body)
        assert resp.grpc_status == 3, resp.describe()

    def test_request_ending_inside_a_message_is_internal(self, server):
        body = frame(input_request(5)) + grpc_frame(bytes(100))[:50]
        resp = raw_call(server, STREAMING_INPUT, body)
        assert resp.grpc_status == 13, resp.describe()
        assert "inside a message" in (resp.grpc_message or "")

    def test_compressed_message_without_an_encoding_is_internal(self, server):
        resp = raw_call(server, STREAMING_INPUT, frame(input_request(5), compressed=True))
        assert resp.grpc_status == 13, resp.describe()

    def test_corrupt_gzip_is_internal(self, server):
        resp = raw_call(server, STREAMING_INPUT, grpc_frame(b"not gzip at all", compressed=True),
                          extra=[("grpc-encoding", "gzip")])
        assert resp.grpc_status == 13, resp.describe()

    @pytest.mark.parametrize("headers, code", [({"te": None}, 13), ({"content-type": "text/plain"}, 3)])
    def test_headers_are_validated_as_for_unary_calls(self, server, headers, code):
        resp = raw_call(server, STREAMING_INPUT, frame(input_request(5)), headers=headers)
        assert resp.grpc_status == code, resp.describe()
