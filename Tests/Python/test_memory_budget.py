"""Memory bound on requests: a peer cannot make the server buffer more request bytes than
a per-connection budget, whatever it announces. Its own server: the case legitimately
fills the budget, which would skew the RSS accounting of the bad-peer file."""
import time

import pytest

from conftest import MiB

UNARY = "/grpc.testing.TestService/UnaryCall"


@pytest.fixture(scope="module")
def srv(module_server):
    return module_server


@pytest.mark.skip_on_grpc_go(reason="grpc-go refills flow-control windows as data arrives")
def test_partial_requests_cannot_fill_the_server_memory(srv, h2_connect):
    """Streams that each announce a 60 MiB message and never finish it: the server stops
    refilling the flow-control windows once the connection holds its 128 MiB budget, so
    the client can push no more than that (plus the initial windows) however many streams."""
    client = h2_connect(srv)
    client.conn.increment_flow_control_window(2**31 - 1 - 65535)  # our receive side: irrelevant here
    client.flush()
    prefix = bytes([0]) + (60 * MiB).to_bytes(4, "big")
    chunk = bytes(16384)
    sids = [client.send_request(UNARY, b"", end_stream=False) for _ in range(6)]
    started = set()
    sent = 0
    stalled_since = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        progressed = False
        for sid in sids:
            window = min(client.conn.local_flow_control_window(sid), client.conn.max_outbound_frame_size)
            if window <= 0:
                continue
            payload = (chunk if sid in started else prefix + chunk)[:window]
            started.add(sid)
            client.conn.send_data(sid, payload)
            sent += len(payload)
            progressed = True
        client.flush()
        if progressed:
            stalled_since = None
        else:
            stalled_since = stalled_since or time.monotonic()
            if time.monotonic() - stalled_since > 1.0:
                break  # every window stayed closed for a second: the server holds back
        client.pump(0.001 if progressed else 0.05)
    assert time.monotonic() < deadline, "the client could keep sending for 60 s: no memory budget"
    budget = 128 * MiB
    windows = 16 * MiB + 6 * MiB  # connection window + initial stream windows
    assert sent <= budget + windows, f"the server accepted {sent / MiB:.0f} MiB of unfinished requests"
    assert sent >= 100 * MiB, f"only {sent / MiB:.0f} MiB accepted: one 64 MiB message must always fit"
    srv.assert_serving("partial large requests")
    client.close()
