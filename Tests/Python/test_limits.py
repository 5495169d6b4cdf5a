"""Message size limits (64 MiB each way), concurrency (1,000 streams) and long streams."""
import grpc
import h2.exceptions
import h2.settings
import pytest

from conftest import MiB, grpc_frame, make_channel, parse_grpc_frames, streaming_request, unary_request
from grpc_testing import messages_pb2, test_pb2_grpc

BIG = 128 * MiB  # client-side limits, above anything the server may send or accept
STREAMING = "/grpc.testing.TestService/StreamingOutputCall"


@pytest.fixture(scope="module")
def big_stub(server):
    with make_channel(server, max_send_message_length=BIG, max_receive_message_length=BIG) as ch:
        yield test_pb2_grpc.TestServiceStub(ch)


@pytest.mark.skip_on_grpc_go(reason="its default receive limit is 4 MiB, not 64 MiB")
def test_5_mib_both_ways(big_stub):
    reply = big_stub.UnaryCall(unary_request(response_size=5 * MiB, payload_size=5 * MiB), timeout=60)
    assert len(reply.payload.body) == 5 * MiB, f"5 MiB response expected, got {len(reply.payload.body)} bytes"


def test_5_mib_response(big_stub):
    reply = big_stub.UnaryCall(unary_request(response_size=5 * MiB), timeout=60)
    assert len(reply.payload.body) == 5 * MiB


@pytest.mark.skip_on_grpc_go(reason="its default receive limit is 4 MiB, not 64 MiB")
def test_63_mib_request_accepted(big_stub):
    reply = big_stub.UnaryCall(unary_request(response_size=1, payload_size=63 * MiB), timeout=120)
    assert len(reply.payload.body) == 1


def test_63_mib_response_sent(big_stub):
    reply = big_stub.UnaryCall(unary_request(response_size=63 * MiB), timeout=120)
    assert len(reply.payload.body) == 63 * MiB


def test_request_over_64_mib_is_resource_exhausted(big_stub, server):
    with pytest.raises(grpc.RpcError) as err:
        big_stub.UnaryCall(unary_request(response_size=1, payload_size=65 * MiB), timeout=120)
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, f"{err.value.code()} {err.value.details()}"
    server.assert_serving("a 65 MiB request")


def test_1000_concurrent_unary_calls_on_one_channel(stub):
    futures = [stub.UnaryCall.future(unary_request(response_size=100 + i % 50, payload_size=100), timeout=60)
               for i in range(1000)]
    failures, sizes = [], []
    for i, f in enumerate(futures):
        try:
            sizes.append(len(f.result().payload.body))
        except grpc.RpcError as err:
            failures.append((i, err.code(), err.details()))
    assert not failures, f"{len(failures)} of 1000 calls failed, first: {failures[:3]}"
    assert sizes == [100 + i % 50 for i in range(1000)], "each call must get its own response size"


def test_max_concurrent_streams_at_least_1000(server, h2_connect):
    client = h2_connect(server)
    assert client.wait_until(lambda: client.got_settings, 5), "server sent no SETTINGS"
    limit = client.server_settings.get(h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS)
    assert limit is None or limit >= 1000, f"SETTINGS_MAX_CONCURRENT_STREAMS {limit} < 1000"


def test_1000_streams_open_at_once_on_one_connection(server, h2_connect):
    """1,000 server-streaming calls in flight on one connection: each gets its first message
    while every one of them is still open (its second message waits 3 s)."""
    client = h2_connect(server)
    assert client.wait_until(lambda: client.got_settings, 5), "server sent no SETTINGS"
    req = messages_pb2.StreamingOutputCallRequest(response_parameters=[
        messages_pb2.ResponseParameters(size=1), messages_pb2.ResponseParameters(size=1, interval_us=3_000_000)])
    body = grpc_frame(req.SerializeToString())
    first_len = 5 + len(messages_pb2.StreamingOutputCallResponse(payload=messages_pb2.Payload(body=b"\0")).SerializeToString())
    sids = []
    for _ in range(1000):
        try:
            sids.append(client.send_request(STREAMING, body))
        except h2.exceptions.TooManyStreamsError as err:
            pytest.fail(f"server allows fewer than 1000 concurrent streams: {len(sids)} opened ({err})")
        client.pump(0)
    streams = [client.streams[s] for s in sids]

    def first_message_everywhere():
        return all(len(st.data) >= first_len or st.done for st in streams)

    assert client.wait_until(first_message_everywhere, 20), (
        f"{sum(len(st.data) < first_len for st in streams)} of 1000 streams got no first message within 20 s")
    finished = [st for st in streams if st.done]
    assert not finished, f"{len(finished)} streams ended early, e.g. {finished[0].describe()}"
    for st in streams[:3]:
        assert [5 + len(m) for _, m in parse_grpc_frames(st.data)] == [first_len], st.describe()
    client.close()
    server.assert_serving("1000 streams dropped by closing their connection")


def test_100000_message_stream_in_order(stub):
    sizes = [i % 97 for i in range(100_000)]
    call = stub.StreamingOutputCall(streaming_request(sizes), timeout=120)
    got = 0
    for i, reply in enumerate(call):
        n = len(reply.payload.body)
        if n != sizes[i]:
            call.cancel()
            pytest.fail(f"message {i} has {n} bytes, want {sizes[i]}: out of order or wrong size")
        got += 1
    assert got == 100_000, f"stream ended after {got} of 100000 messages"
    assert call.code() == grpc.StatusCode.OK
