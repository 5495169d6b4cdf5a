"""Misbehaving HTTP/2 peers, driven with h2 over raw sockets, against a server of this module's own.

After each case the server must still serve a normal grpcio client; at the end of the module
its RSS must stay within RSS_BOUND of what it was before the first case.
"""
import gzip
import socket
import time

import h2.errors
import h2.exceptions
import h2.settings
import pytest

from conftest import HOST, MiB, Poll, grpc_frame, raw_call, streaming_request, unary_request

UNARY = "/grpc.testing.TestService/UnaryCall"
EMPTY = "/grpc.testing.TestService/EmptyCall"
STREAMING = "/grpc.testing.TestService/StreamingOutputCall"
RSS_BOUND = 50 * MiB
OBSERVE = 3.0  # seconds a resource probe watches the server

OK_BODY = grpc_frame(unary_request(response_size=10).SerializeToString())


@pytest.fixture(scope="module")
def srv(module_server):
    return module_server


@pytest.fixture(scope="module", autouse=True)
def rss_before_bad_peers(srv):
    srv.assert_serving("start-up")
    return srv.rss_bytes()


def assert_status(resp, code, *, trailers_only=False, message_required=False):
    assert resp.grpc_status == code, f"want grpc-status {code}, got: {resp.describe()}"
    message = resp.grpc_message  # asserts percent-encoding when present
    if message_required:
        assert message, f"grpc-message missing or empty: {resp.describe()}"
    if trailers_only:
        assert resp.trailers is None and resp.headers_ended_stream, (
            f"want a Trailers-Only response (one HEADERS frame with END_STREAM): {resp.describe()}")
        assert resp.http_status == 200, f"Trailers-Only :status must be 200: {resp.describe()}"
        assert resp.headers.get("content-type", "").startswith("application/grpc"), (
            f"Trailers-Only content-type must be application/grpc: {resp.describe()}")
        assert not resp.data, "Trailers-Only response carries no DATA"


# -- request headers -----------------------------------------------------------------------------


@pytest.mark.skip_on_grpc_go(reason="resets the stream (PROTOCOL_ERROR) instead of answering 415")
@pytest.mark.parametrize("content_type", ["application/json", "text/plain"])
def test_wrong_content_type_is_415(srv, content_type):
    resp = raw_call(srv, UNARY, OK_BODY, headers={"content-type": content_type})
    assert resp.http_status == 415, f"content-type {content_type}: want :status 415, got: {resp.describe()}"
    if resp.grpc_status is not None:
        resp.grpc_message  # noqa: B018  (percent-encoding check)
    srv.assert_serving(f"content-type {content_type}")


@pytest.mark.skip_on_grpc_go(reason="does not check the te header")
def test_missing_te_is_internal_trailers_only(srv):
    resp = raw_call(srv, UNARY, OK_BODY, headers={"te": None})
    assert_status(resp, 13, trailers_only=True, message_required=True)
    srv.assert_serving("te missing")


@pytest.mark.skip_on_grpc_go(reason="does not check the te header")
@pytest.mark.parametrize("te", ["gzip", "trailers, deflate"], ids=["gzip", "list"])
def test_te_other_than_trailers_is_a_malformed_request(srv, te):
    # RFC 9113 §8.2.2: te may carry only "trailers"; anything else makes the request
    # malformed, a stream error of type PROTOCOL_ERROR (nghttp2 enforces it).
    resp = raw_call(srv, UNARY, OK_BODY, headers={"te": te})
    assert resp.reset_code == 1, f"te {te}: want RST_STREAM(PROTOCOL_ERROR), got: {resp.describe()}"
    srv.assert_serving(f"te {te}")


@pytest.mark.skip_on_grpc_go(reason="resets the stream (PROTOCOL_ERROR) on a malformed grpc-timeout")
@pytest.mark.parametrize("timeout", ["abc", "10", "5X", "123456789S", "S", "1.5S"])
def test_malformed_grpc_timeout_is_invalid_argument(srv, timeout):
    resp = raw_call(srv, UNARY, OK_BODY, extra=[("grpc-timeout", timeout)])
    assert_status(resp, 3, trailers_only=True)
    srv.assert_serving(f"grpc-timeout {timeout}")


@pytest.mark.parametrize("timeout", ["99999999S", "1H", "100000m"])
def test_wellformed_grpc_timeout_is_accepted(srv, timeout):
    """Control for the malformed cases: 8 digits and any unit are fine."""
    resp = raw_call(srv, UNARY, OK_BODY, extra=[("grpc-timeout", timeout)])
    assert_status(resp, 0)


# -- messages ------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", [None, "identity"])
def test_compressed_flag_without_encoding_is_internal(srv, encoding):
    body = grpc_frame(gzip.compress(unary_request(response_size=10).SerializeToString()), compressed=True)
    resp = raw_call(srv, UNARY, body, extra=[("grpc-encoding", encoding)] if encoding else [])
    assert_status(resp, 13)
    srv.assert_serving(f"compressed flag with grpc-encoding {encoding}")


def test_unknown_encoding_is_unimplemented(srv):
    body = grpc_frame(b"\x8b\x03\x80not really brotli", compressed=True)
    resp = raw_call(srv, UNARY, body, extra=[("grpc-encoding", "br")])
    assert_status(resp, 12)
    srv.assert_serving("grpc-encoding br")


@pytest.mark.skip_on_grpc_go(reason="grpc-go 1.33 sends no grpc-accept-encoding with the UNIMPLEMENTED answer")
def test_unknown_encoding_answer_lists_gzip(srv):
    body = grpc_frame(b"\x8b\x03\x80not really brotli", compressed=True)
    resp = raw_call(srv, UNARY, body, extra=[("grpc-encoding", "br")])
    assert_status(resp, 12)
    accept = resp.status_block.get("grpc-accept-encoding") or (resp.headers or {}).get("grpc-accept-encoding")
    assert accept is not None, f"UNIMPLEMENTED for an encoding must carry grpc-accept-encoding: {resp.describe()}"
    assert "gzip" in [e.strip() for e in accept.split(",")], f"grpc-accept-encoding {accept!r} lacks gzip"


def test_message_over_receive_limit(srv, h2_connect):
    client = h2_connect(srv)
    sid = client.send_request(UNARY, grpc_frame(bytes(16384), length=100 * MiB), end_stream=False)
    resp = client.response(sid, timeout=10)
    assert_status(resp, 8)
    # the connection stays usable, or is closed with a GOAWAY
    if client.goaway is None and not client.closed:
        try:
            client.conn.reset_stream(sid, h2.errors.ErrorCodes.CANCEL)
        except h2.exceptions.StreamClosedError:
            pass
        try:
            again = client.response(client.send_request(UNARY, OK_BODY), timeout=10)
        except (OSError, h2.exceptions.ProtocolError) as err:
            pytest.fail(f"connection unusable after RESOURCE_EXHAUSTED, without GOAWAY: {err!r}")
        if again.goaway is None:
            assert not again.connection_closed, "connection closed without GOAWAY after RESOURCE_EXHAUSTED"
            assert_status(again, 0)
    else:
        assert client.goaway is not None, "connection closed without GOAWAY after RESOURCE_EXHAUSTED"
    srv.assert_serving("a 100 MiB message announced")


@pytest.mark.skip_on_grpc_go(reason="answers UNKNOWN (2) 'unexpected EOF' instead of INTERNAL")
def test_truncated_message_is_internal(srv):
    resp = raw_call(srv, UNARY, grpc_frame(bytes(10), length=100))
    assert_status(resp, 13)
    srv.assert_serving("a truncated message")


@pytest.mark.parametrize("path", ["/grpc.testing.TestService/Nope", "/grpc.testing.Nope/EmptyCall"])
def test_unknown_method_or_service_is_unimplemented(srv, path):
    resp = raw_call(srv, path, grpc_frame(b""))
    assert_status(resp, 12)
    srv.assert_serving(path)


# -- connections ---------------------------------------------------------------------------------


@pytest.mark.parametrize("garbage", [
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    bytes(range(256)) * 4,
    b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n",
], ids=["http1", "binary", "bad-preface-tail"])
def test_garbage_preface_closes_connection(srv, garbage):
    sock = socket.create_connection((HOST, srv.port), timeout=5)
    try:
        sock.sendall(garbage)
        deadline = time.monotonic() + 5
        closed = False
        while time.monotonic() < deadline:
            sock.settimeout(max(deadline - time.monotonic(), 0.01))
            try:
                if not sock.recv(65536):
                    closed = True
                    break
            except socket.timeout:
                break
            except ConnectionResetError:
                closed = True
                break
        assert closed, "server kept the connection open after a bad preface"
    finally:
        sock.close()
    srv.assert_serving("a bad preface")


def test_rapid_reset(srv, h2_connect):
    rss0 = srv.rss_bytes()
    client = h2_connect(srv)
    assert client.wait_until(lambda: client.got_settings, 5), "server sent no SETTINGS"
    headers = client.request_headers(STREAMING)
    sent = 0
    try:
        while sent < 5000 and client.goaway is None and not client.closed:
            for _ in range(100):
                sid = client.conn.get_next_available_stream_id()
                client.conn.send_headers(sid, headers)
                client.conn.reset_stream(sid, h2.errors.ErrorCodes.CANCEL)
            client.flush()
            sent += 100
            client.pump(0)
    except (OSError, h2.exceptions.ProtocolError):
        pass  # the server closed the connection (with or without telling): allowed
    srv.assert_serving(f"rapid reset ({sent} HEADERS+RST_STREAM sent, goaway={client.goaway})")
    client.close()
    grown = srv.rss_bytes() - rss0
    assert grown < RSS_BOUND, f"RSS grew {grown / MiB:.1f} MiB during rapid reset"


@pytest.mark.parametrize("mode", ["window-never-updated", "socket-never-read"])
def test_client_that_never_reads(srv, h2_connect, mode):
    """200 x 1 MiB responses asked for by a client that takes none: the server's memory stays bounded."""
    rss0 = srv.rss_bytes()
    if mode == "window-never-updated":
        client = h2_connect(srv, auto_ack=False)
    else:
        client = h2_connect(srv, settings={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 2**31 - 1})
        client.conn.increment_flow_control_window(2**31 - 1 - 65535)
        client.flush()
    sid = client.send_request(STREAMING, grpc_frame(streaming_request([MiB] * 200).SerializeToString()))

    def sample():
        if mode == "window-never-updated":
            client.pump(0.05)  # reads frames but never sends WINDOW_UPDATE
        else:
            time.sleep(0.05)  # sampling interval: this client never calls recv
        return srv.rss_bytes()

    samples = Poll().run(sample, OBSERVE / 2, every=0).samples
    srv.assert_serving(f"a non-reading client ({mode})")
    samples += Poll().run(sample, OBSERVE / 2, every=0).samples
    peak = max(samples) - rss0
    assert peak < RSS_BOUND, f"RSS grew {peak / MiB:.1f} MiB for a client that never reads ({mode})"
    if mode == "window-never-updated":
        got = len(client.streams[sid].data)
        assert got <= 65535, f"server sent {got} bytes past a 65535-byte window"
    client.close()
    srv.assert_serving(f"a non-reading client ({mode}) went away")


def test_rss_bounded_after_all_bad_peers(srv, rss_before_bad_peers):
    """Runs last in this module: the server's RSS after every case above."""
    srv.assert_serving()
    grown = srv.rss_bytes() - rss_before_bad_peers
    assert grown < RSS_BOUND, f"RSS grew {grown / MiB:.1f} MiB over the bad-peer cases (bound {RSS_BOUND // MiB} MiB)"
