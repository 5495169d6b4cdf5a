"""grpc.health.v1.Health: Check and Watch."""
import threading
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

UNKNOWN_SERVICE = "cellhub.test.NoSuchService"
Status = health_pb2.HealthCheckResponse


@pytest.fixture(scope="module")
def health(channel):
    return health_pb2_grpc.HealthStub(channel)


def test_check_overall_serving(health):
    reply = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=10)
    assert reply.status == Status.SERVING, f"Check(\"\") must be SERVING, got {Status.ServingStatus.Name(reply.status)}"


def test_check_unknown_service_not_found(health):
    with pytest.raises(grpc.RpcError) as err:
        health.Check(health_pb2.HealthCheckRequest(service=UNKNOWN_SERVICE), timeout=10)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND, f"{err.value.code()} {err.value.details()}"


@pytest.mark.parametrize("service, expected", [("", Status.SERVING), (UNKNOWN_SERVICE, Status.SERVICE_UNKNOWN)])
def test_watch_answers_at_once_and_stays_open(health, service, expected):
    call = health.Watch(health_pb2.HealthCheckRequest(service=service), timeout=30)
    ended = threading.Event()
    call.add_done_callback(lambda _: ended.set())
    try:
        start = time.monotonic()
        first = next(call)
        elapsed = time.monotonic() - start
        assert first.status == expected, (
            f"Watch({service!r}) first status {Status.ServingStatus.Name(first.status)}, want {Status.ServingStatus.Name(expected)}")
        assert elapsed < 2.0, f"Watch({service!r}) took {elapsed:.2f}s for its first answer"
        # stays open: nothing ends the call while we watch for a second
        assert not ended.wait(1.0), f"Watch({service!r}) ended by itself: {call.code()} {call.details()}"
    finally:
        call.cancel()
    assert ended.wait(5), "cancelled Watch did not end"
    assert call.code() == grpc.StatusCode.CANCELLED
