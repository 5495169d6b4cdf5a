"""Client-streaming and bidirectional calls under pressure: request messages queue per stream
up to a bound and the client's flow-control window refills only as the handler reads, so a
client that sends faster than its handler reads is paused, never buffered without bound.
Limits hold per message mid-stream. Servers of its own: RSS is measured, limits are lowered."""
import time

import grpc
import pytest

from conftest import MiB, Poll, Server, grpc_frame, make_channel
from grpc_testing import messages_pb2, test_pb2_grpc

FULL_DUPLEX = "/grpc.testing.TestService/FullDuplexCall"
UNARY = "/grpc.testing.TestService/UnaryCall"
STREAMING_INPUT = "/grpc.testing.TestService/StreamingInputCall"
SMALL_LIMIT = 1 * MiB
STALL_TIMEOUT = 0.5


@pytest.fixture(scope="module")
def srv(module_server):
    return module_server


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory):
    """Requests of at most 1 MiB; an incomplete message may stall 0.5 s."""
    server = Server(tmp_path_factory.mktemp("cellhub-data"), [
        "--max-receive-message-bytes", str(SMALL_LIMIT), "--request-stall-timeout", str(STALL_TIMEOUT)])
    yield server
    server.stop()


def output_request(response_sizes=(), payload_size=0, interval_us=0):
    return messages_pb2.StreamingOutputCallRequest(
        response_type=messages_pb2.COMPRESSABLE,
        response_parameters=[messages_pb2.ResponseParameters(size=s, interval_us=interval_us) for s in response_sizes],
        payload=messages_pb2.Payload(body=bytes(payload_size)))


def input_request(size):
    return messages_pb2.StreamingInputCallRequest(payload=messages_pb2.Payload(body=bytes(size)))


def frame(message):
    return grpc_frame(message.SerializeToString())


@pytest.mark.skip_on_grpc_go(reason="the bounds checked are cellhubd's queue bound and stream window")
@pytest.mark.parametrize("shape", ["64 x 1 MiB", "1 x 48 MiB"])
def test_a_client_faster_than_its_handler_is_paused(srv, h2_connect, shape):
    """64 MiB of requests (or one 48 MiB message: the bytes of a message still arriving
    count too) behind one the handler takes 3 s to answer: while it sleeps, the client gets
    at most a few MiB through (the queue's bound and one stream window), the server's RSS
    stays flat, and once the handler reads again the whole stream goes through."""
    client = h2_connect(srv)
    baseline = srv.rss_bytes()
    sid = client.send_request(FULL_DUPLEX, frame(output_request([10], interval_us=3_000_000)), end_stream=False)
    if shape == "64 x 1 MiB":
        body = memoryview(frame(output_request(payload_size=MiB - 64)) * 64)
    else:
        body = memoryview(frame(output_request(payload_size=48 * MiB)))
    sent = 0
    sent_while_paused = None
    rss = Poll()
    paused_samples = []  # RSS while the window stayed shut, before the handler read again
    closed_since = None
    deadline = time.monotonic() + 60
    while sent < len(body):
        assert time.monotonic() < deadline, f"only {sent / MiB:.1f} MiB of {len(body) / MiB:.0f} sent in 60 s"
        window = min(client.conn.local_flow_control_window(sid), client.conn.max_outbound_frame_size)
        if window > 0:
            chunk = body[sent:sent + window]
            client.conn.send_data(sid, chunk.tobytes())
            client.flush()
            sent += len(chunk)
            closed_since = None
            continue
        closed_since = closed_since or time.monotonic()
        if sent_while_paused is None and time.monotonic() - closed_since > 1.0:
            sent_while_paused = sent  # the window stayed shut for a second: paused
            rss.samples.append(srv.rss_bytes())
        client.pump(0.05)
        assert not client.streams[sid].done, f"the call ended early: {client.streams[sid].describe()}"
        if sent_while_paused is not None:
            rss.samples.append(srv.rss_bytes())
            if sent == sent_while_paused:
                paused_samples.append(rss.samples[-1])
    paused_growth = max(paused_samples, default=baseline) - baseline
    client.conn.end_stream(sid)
    client.flush()
    resp = client.response(sid, timeout=30)
    rss.samples.append(srv.rss_bytes())
    assert sent_while_paused is not None, "the client was never paused: the server took every byte its handler did not read"
    assert sent_while_paused <= 4 * MiB, f"{sent_while_paused / MiB:.1f} MiB accepted while the handler slept"
    assert resp.grpc_status == 0, resp.describe()
    assert len(resp.messages) == 1, "one response: to the first request"
    # Once read, one 48 MiB message is rightly in memory several times (frame, decoded copy):
    # the bound that matters is while the handler did not read.
    growth = max(rss.samples) - baseline if shape == "64 x 1 MiB" else paused_growth
    assert growth < 32 * MiB, f"server RSS grew by {growth / MiB:.0f} MiB ({shape})"
    srv.assert_serving("a paused request stream")


@pytest.mark.skip_on_grpc_go(reason="the bounds checked are cellhubd's queue bound and stream window")
def test_paused_streams_do_not_stall_their_connection(srv, h2_connect):
    """48 bidi calls whose handlers sleep 3 s, each pushed until its stream window closes:
    the credit they hold (a window each) is more than the 16 MiB connection window, yet a
    unary call on the same connection is answered at once: only stream credit waits for a
    handler."""
    client = h2_connect(srv)
    body = frame(output_request(payload_size=MiB - 64)) * 3
    sids = [client.send_request(FULL_DUPLEX, frame(output_request([10], interval_us=3_000_000)), end_stream=False)
            for _ in range(48)]
    start = time.monotonic()
    sent = dict.fromkeys(sids, 0)
    while time.monotonic() - start < 1.0:  # push what the windows take, for a second
        for sid in sids:
            window = min(client.conn.local_flow_control_window(sid), client.conn.max_outbound_frame_size,
                         len(body) - sent[sid])
            if window > 0:
                client.conn.send_data(sid, body[sent[sid]:sent[sid] + window])
                sent[sid] += window
        client.flush()
        client.pump(0.01)
    # Each stream paused (its window, held for the sleeping handler), all of them together
    # past the connection's 16 MiB window: connection credit went back on receipt.
    assert all(MiB // 2 < n < len(body) for n in sent.values()), f"every stream is paused: {sent}"
    assert sum(sent.values()) > 16 * MiB, f"{sum(sent.values()) / MiB:.1f} MiB sent in all"
    unary = client.send_request(UNARY, grpc_frame(messages_pb2.SimpleRequest(response_size=5).SerializeToString()))
    resp = client.response(unary, timeout=1.5)
    assert resp.grpc_status == 0, resp.describe()
    assert time.monotonic() - start < 2.5, "the unary call waited for the sleeping handlers"
    for sid in sids:
        client.conn.end_stream(sid)
    client.flush()


@pytest.mark.skip_on_grpc_go(reason="the reference's limits differ")
class TestLimitsMidStream:
    def test_oversized_message_ends_a_client_stream_resource_exhausted(self, strict_server):
        requests = [input_request(1000), input_request(1000), input_request(2 * MiB), input_request(1000)]
        with make_channel(strict_server) as channel:
            with pytest.raises(grpc.RpcError) as err:
                test_pb2_grpc.TestServiceStub(channel).StreamingInputCall(iter(requests), timeout=10)
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, f"{err.value.code()} {err.value.details()}"
        strict_server.assert_serving("an oversized message mid-stream")

    def test_oversized_message_after_ping_pong_ends_a_bidi_stream_resource_exhausted(self, strict_server, h2_connect):
        client = h2_connect(strict_server)
        sid = client.send_request(FULL_DUPLEX, frame(output_request([7])), end_stream=False)
        assert client.wait_until(lambda: len(client.streams[sid].data) >= 5, 5), "no answer to the first request"
        # Only the prefix is needed: the limit applies to what a message announces.
        client.send_data(sid, grpc_frame(b"", length=SMALL_LIMIT + 1))
        resp = client.response(sid)
        assert resp.grpc_status == 8, resp.describe()
        assert len(resp.messages) == 1, "the response to the first request came before the status"

    def test_message_inflating_past_the_limit_is_resource_exhausted(self, strict_server):
        with make_channel(strict_server) as channel:
            with pytest.raises(grpc.RpcError) as err:
                test_pb2_grpc.TestServiceStub(channel).StreamingInputCall(
                    iter([input_request(10), input_request(2 * MiB)]), timeout=10, compression=grpc.Compression.Gzip)
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, f"{err.value.code()} {err.value.details()}"

    def test_message_at_the_limit_is_accepted(self, strict_server):
        size = SMALL_LIMIT - 16  # the payload's field tag and length take a few bytes
        with make_channel(strict_server) as channel:
            reply = test_pb2_grpc.TestServiceStub(channel).StreamingInputCall(
                iter([input_request(size), input_request(size)]), timeout=10)
        assert reply.aggregated_payload_size == 2 * size


@pytest.mark.skip_on_grpc_go(reason="--request-stall-timeout is cellhubd's")
class TestStalls:
    def test_a_message_left_unfinished_ends_the_call_cancelled(self, strict_server, h2_connect):
        client = h2_connect(strict_server)
        sid = client.send_request(STREAMING_INPUT, frame(input_request(5)) + grpc_frame(bytes(10), length=100),
                                  end_stream=False)
        start = time.monotonic()
        resp = client.response(sid, timeout=5)
        assert resp.grpc_status == 1, resp.describe()
        assert time.monotonic() - start < STALL_TIMEOUT * 6

    def test_an_idle_stream_between_messages_stays_open(self, strict_server, h2_connect):
        """Silence between whole messages is a bidi client thinking, not a stall."""
        client = h2_connect(strict_server)
        sid = client.send_request(FULL_DUPLEX, frame(output_request([3])), end_stream=False)
        assert client.wait_until(lambda: len(client.streams[sid].data) >= 8, 5), "no answer to the first request"
        assert not client.wait_until(lambda: client.streams[sid].done, STALL_TIMEOUT * 4), (
            f"an idle stream was ended: {client.streams[sid].describe()}")
        client.send_data(sid, frame(output_request([4])), end_stream=True)
        resp = client.response(sid)
        assert resp.grpc_status == 0, resp.describe()
        assert [len(m) for _, m in resp.messages] == [len(messages_pb2.StreamingOutputCallResponse(
            payload=messages_pb2.Payload(body=bytes(n))).SerializeToString()) for n in (3, 4)]
