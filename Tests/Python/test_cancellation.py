"""A client cancelling a server-streaming call mid-stream makes the server stop producing."""
import time

import pytest

from conftest import make_channel, streaming_request
from grpc_testing import test_pb2_grpc

PATH = "/grpc.testing.TestService/StreamingOutputCall"
WINDOW = 0.5  # seconds of server CPU time watched after the cancel
CPU_BOUND = 0.1  # seconds of CPU the server may spend in that window


@pytest.fixture(scope="module")
def srv(module_server):
    return module_server


def open_stream(channel, interval_us, size):
    """A 100,000-message stream, read until it is surely running."""
    call = test_pb2_grpc.TestServiceStub(channel).StreamingOutputCall(
        streaming_request([size] * 100_000, interval_us=interval_us), timeout=120)
    for _ in range(20):
        next(call)
    return call


@pytest.mark.cellhubd_only(reason="the cancellation log line is cellhubd's")
def test_cancel_is_logged(srv):
    with make_channel(srv) as channel:  # kept open: the cancel alone must reach the server
        call = open_stream(channel, 1000, 10)
        mark = len(srv.log_lines())
        call.cancel()
        line = srv.wait_for_log(lambda s: "cancelled" in s.lower() and PATH in s, timeout=2.0, start=mark)
    assert line is not None, (
        f"no stderr line with 'cancelled' and {PATH} within 2 s of the cancel; stderr since:\n"
        + "\n".join(srv.log_lines()[mark:][-20:]))


@pytest.mark.parametrize("interval_us, size", [(1000, 10), (0, 1024)], ids=["paced-1ms", "unpaced-1KiB"])
def test_cancel_stops_work(srv, interval_us, size):
    with make_channel(srv) as channel:  # kept open: the cancel alone must stop the producer
        call = open_stream(channel, interval_us, size)
        t0, cpu0 = time.monotonic(), srv.cpu_seconds()
        for _ in range(200):
            next(call)
        busy = (srv.cpu_seconds() - cpu0) / (time.monotonic() - t0)
        call.cancel()
        cpu1 = srv.cpu_seconds()
        time.sleep(WINDOW)  # the measurement window, not a synchronisation
        spent = srv.cpu_seconds() - cpu1
    assert spent < CPU_BOUND, (
        f"server spent {spent:.2f}s CPU in the {WINDOW}s after the cancel (while streaming: {busy:.2f} CPU-s/s)")
    srv.assert_serving("a cancelled stream")
