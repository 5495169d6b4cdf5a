"""Connection timers: a silent connection is PINGed (keepalive), and one without calls for
the idle timeout is closed with GOAWAY; a PING the peer never answers is not required."""
import h2.events
import pytest

from conftest import Server


@pytest.mark.cellhubd_only(reason="cellhubd's --keepalive / --idle-timeout flags")
def test_silent_connection_is_pinged_then_closed_when_idle(tmp_path, h2_connect):
    srv = Server(tmp_path / "data", ["--keepalive", "0.2", "--idle-timeout", "0.6"])
    try:
        pings = []
        client = h2_connect(srv)
        original = client._handle

        def handle(event):
            if isinstance(event, h2.events.PingReceived):
                pings.append(event)
            original(event)

        client._handle = handle
        assert client.wait_until(lambda: pings, timeout=5), "no keepalive PING on a silent connection"
        assert client.wait_until(lambda: client.goaway is not None or client.closed, timeout=5), (
            "the idle connection was not closed"
        )
        client.close()
        srv.assert_serving("after closing an idle connection")
    finally:
        srv.kill()
