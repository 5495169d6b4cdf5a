"""TLS (`serve --tls-cert --tls-key [--tls-client-ca]`): stock grpcio over TLS with a CA made
in the test run (tls_pki.py), mutual TLS, ALPN h2 only, handshakes that stall or are
abandoned, certificate reload on SIGHUP, bad files at start, and the connection hardening
(idle timeout, connection limit, EOF) over TLS."""
from __future__ import annotations

import os
import queue
import shutil
import signal
import socket
import ssl
import subprocess
import time
import warnings

import grpc
import h2.events
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from conftest import HOST, Server, grpc_frame, server_command, unary_request
from grpc_testing import empty_pb2, messages_pb2, test_pb2_grpc
from tls_pki import RELOAD_CN, RELOAD_SERIAL, SERVER_CN, SERVER_SERIAL, Pki, make_pki

pytestmark = pytest.mark.cellhubd_only(reason="cellhubd's --tls-* flags")

# Under valgrind everything runs ~30x slower: timings that bound the server get room.
SLOW = "valgrind" in os.environ.get("CELLHUB_SERVER_CMD", "")
PATIENCE = 60.0 if SLOW else 10.0
# Separate connections per channel: grpcio would otherwise share one between channels.
CHANNEL_OPTIONS = [("grpc.enable_http_proxy", 0), ("grpc.use_local_subchannel_pool", 1)]


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def tls_args(pki: Pki, *extra: str, client_ca: bool = False) -> list[str]:
    args = ["--tls-cert", str(pki.pem("server-chain")), "--tls-key", str(pki.key("server"))]
    if client_ca:
        args += ["--tls-client-ca", str(pki.pem("root"))]
    return args + list(extra)


@pytest.fixture(scope="module")
def tls_server(pki, tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("cellhub-data"), tls_args(pki, "--log-level", "debug"))
    yield srv
    srv.stop()


@pytest.fixture
def start_server(tmp_path):
    """Factory: a server of this test's own with extra arguments, stopped (SIGTERM) afterwards."""
    servers: list[Server] = []

    def start(args: list[str]) -> Server:
        srv = Server(tmp_path / f"data{len(servers)}", args)
        servers.append(srv)
        return srv

    yield start
    for srv in servers:
        srv.stop()


def tls_channel(srv: Server, pki: Pki, root: str = "root", client: str | None = None) -> grpc.Channel:
    """grpcio over TLS trusting `root`; with `client`, presenting that certificate."""
    credentials = grpc.ssl_channel_credentials(
        root_certificates=pki.pem(root).read_bytes(),
        private_key=pki.key(client).read_bytes() if client else None,
        certificate_chain=pki.pem(client).read_bytes() if client else None,
    )
    return grpc.secure_channel(srv.address, credentials, options=CHANNEL_OPTIONS)


def empty_call(channel: grpc.Channel) -> None:
    reply = test_pb2_grpc.TestServiceStub(channel).EmptyCall(empty_pb2.Empty(), timeout=PATIENCE)
    assert reply == empty_pb2.Empty()


def refused(channel: grpc.Channel) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as err:
        empty_call(channel)
    return err.value


def client_context(pki: Pki, root: str = "root", alpn: list[str] | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki.pem(root)))
    if alpn is not None:
        context.set_alpn_protocols(alpn)
    return context


def client_hello(pki: Pki) -> bytes:
    """The first flight of a real TLS client (what a stalled client sent before stopping)."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = client_context(pki, alpn=["h2"]).wrap_bio(incoming, outgoing, server_hostname=HOST)
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


def closed_by_peer(sock: socket.socket, timeout: float) -> float | None:
    """Seconds until the server closed `sock` (EOF or reset; what it sent is read and dropped),
    or None if it stayed open for `timeout`."""
    start = time.monotonic()
    deadline = start + timeout
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            if not sock.recv(65536):
                return time.monotonic() - start
        except socket.timeout:
            return None
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - start
    return None


def still_open(sock: socket.socket) -> bool:
    return closed_by_peer(sock, 0.05) is None


# ---------------------------------------------------------------------------------------------
# calls over TLS


def test_interop_calls_over_tls(tls_server, pki):
    with tls_channel(tls_server, pki) as channel:
        stub = test_pb2_grpc.TestServiceStub(channel)
        empty_call(channel)
        reply = stub.UnaryCall(unary_request(response_size=314_159, payload_size=271_828), timeout=PATIENCE)
        assert len(reply.payload.body) == 314_159
        sizes = [31_415, 9, 2_653, 58_979, 1 << 20]
        streamed = [len(r.payload.body) for r in stub.StreamingOutputCall(
            messages_pb2.StreamingOutputCallRequest(
                response_type=messages_pb2.COMPRESSABLE,
                response_parameters=[messages_pb2.ResponseParameters(size=s) for s in sizes]),
            timeout=PATIENCE)]
        assert streamed == sizes
        uploaded = stub.StreamingInputCall(
            iter(messages_pb2.StreamingInputCallRequest(payload=messages_pb2.Payload(body=bytes(n))) for n in (27_182, 8, 1_828, 45_904)),
            timeout=PATIENCE)
        assert uploaded.aggregated_payload_size == 74_922


def test_full_duplex_ping_pong_over_tls(tls_server, pki):
    with tls_channel(tls_server, pki) as channel:
        stub = test_pb2_grpc.TestServiceStub(channel)
        sizes = [(31_415, 27_182), (9, 8), (2_653, 1_828), (58_979, 45_904)]
        requests: queue.Queue = queue.Queue()

        def request_iterator():
            while (item := requests.get()) is not None:
                yield item

        call = stub.FullDuplexCall(request_iterator(), timeout=PATIENCE)
        for response_size, payload_size in sizes:
            requests.put(messages_pb2.StreamingOutputCallRequest(
                response_type=messages_pb2.COMPRESSABLE,
                response_parameters=[messages_pb2.ResponseParameters(size=response_size)],
                payload=messages_pb2.Payload(body=bytes(payload_size))))
            assert len(next(call).payload.body) == response_size
        requests.put(None)
        assert list(call) == []
        assert call.code() == grpc.StatusCode.OK


def test_health_check_over_tls(tls_server, pki):
    with tls_channel(tls_server, pki) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=PATIENCE)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_server_sends_its_chain_and_speaks_tls12_and_13(tls_server, pki):
    """The client trusts only the root: the intermediate must come from the server's chain file."""
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        context = client_context(pki, alpn=["h2"])
        context.minimum_version = context.maximum_version = version
        with socket.create_connection((HOST, tls_server.port), timeout=PATIENCE) as raw:
            with context.wrap_socket(raw, server_hostname=HOST) as tls:
                assert tls.selected_alpn_protocol() == "h2"
                assert tls.version() == version.name.replace("v1_", "v1.")
                subject = dict(item[0] for item in tls.getpeercert()["subject"])
                assert subject["commonName"] == SERVER_CN


def test_tls11_is_refused(tls_server, pki):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=str(pki.pem("root")))
    context.set_alpn_protocols(["h2"])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.1 is deprecated: the point
            context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_1
        context.set_ciphers("ALL:@SECLEVEL=0")
    except (ValueError, ssl.SSLError):
        pytest.skip("this Python's OpenSSL cannot offer TLS 1.1 at all")
    with socket.create_connection((HOST, tls_server.port), timeout=PATIENCE) as raw:
        with pytest.raises((ssl.SSLError, ConnectionResetError)):
            context.wrap_socket(raw, server_hostname=HOST)


# ---------------------------------------------------------------------------------------------
# mutual TLS


def test_mtls_accepts_a_client_certificate_from_the_ca(start_server, pki):
    srv = start_server(tls_args(pki, client_ca=True))
    with tls_channel(srv, pki, client="client") as channel:
        empty_call(channel)


@pytest.mark.parametrize("client", [None, "other-client"], ids=["no-certificate", "other-ca"])
def test_mtls_refuses_a_client_without_a_good_certificate(start_server, pki, client):
    srv = start_server(tls_args(pki, "--log-level", "debug", client_ca=True))
    with tls_channel(srv, pki, client=client) as channel:
        error = refused(channel)
    assert error.code() == grpc.StatusCode.UNAVAILABLE, f"{error.code()} {error.details()}"
    reason = "peer did not return a certificate" if client is None else "certificate was refused"
    assert srv.wait_for_log(lambda line: "TLS handshake failed" in line and reason in line, timeout=PATIENCE), srv.log_text()
    with tls_channel(srv, pki, client="client") as channel:
        empty_call(channel)


# ---------------------------------------------------------------------------------------------
# ALPN, plaintext against TLS


def test_client_offering_only_http11_is_refused(tls_server, pki):
    start = len(tls_server.log_lines())
    with socket.create_connection((HOST, tls_server.port), timeout=PATIENCE) as raw:
        with pytest.raises(ssl.SSLError, match="NO_APPLICATION_PROTOCOL|no application protocol"):
            client_context(pki, alpn=["http/1.1"]).wrap_socket(raw, server_hostname=HOST)
    assert tls_server.wait_for_log(
        lambda line: "TLS handshake failed" in line and "no application protocol" in line, timeout=PATIENCE, start=start
    ), tls_server.log_text()


def test_client_without_alpn_is_closed_after_the_handshake(tls_server, pki):
    with socket.create_connection((HOST, tls_server.port), timeout=PATIENCE) as raw:
        with client_context(pki).wrap_socket(raw, server_hostname=HOST) as tls:
            assert tls.selected_alpn_protocol() is None
            assert tls.recv(1024) == b"", "the server kept a connection that never agreed to h2"


def test_plaintext_client_against_tls_port_fails_cleanly(tls_server, pki):
    with grpc.insecure_channel(tls_server.address, options=CHANNEL_OPTIONS) as channel:
        error = refused(channel)
    assert error.code() == grpc.StatusCode.UNAVAILABLE, f"{error.code()} {error.details()}"
    # An h2c preface is not a ClientHello: the connection is closed, nothing else happens.
    with socket.create_connection((HOST, tls_server.port), timeout=PATIENCE) as raw:
        raw.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes(9))
        assert closed_by_peer(raw, PATIENCE) is not None, "a plaintext h2 client was not closed"
    with tls_channel(tls_server, pki) as channel:
        empty_call(channel)


# ---------------------------------------------------------------------------------------------
# handshakes that stall or are abandoned


def test_stalled_handshakes_do_not_hold_the_loop_and_time_out(start_server, pki):
    timeout = 8.0 if SLOW else 2.0
    # One loop: a handshake that blocked it would stop every other client.
    srv = start_server(tls_args(pki, "--loops", "1", "--tls-handshake-timeout", str(timeout)))
    hello = client_hello(pki)
    silent = socket.create_connection((HOST, srv.port))
    half_hello = socket.create_connection((HOST, srv.port))
    half_hello.sendall(hello[: len(hello) // 2])
    no_finished = socket.create_connection((HOST, srv.port))
    no_finished.sendall(hello)  # the server answers; the client never sends its Finished
    stalled = [silent, half_hello, no_finished]
    opened = time.monotonic()
    try:
        with tls_channel(srv, pki) as channel:
            for _ in range(20):
                empty_call(channel)
        assert time.monotonic() - opened < timeout, "calls took longer than the handshake timeout: the test proves nothing"
        assert all(still_open(sock) for sock in stalled), "a stalled handshake was closed before its timeout"
        for sock in stalled:
            elapsed = closed_by_peer(sock, timeout + PATIENCE)
            assert elapsed is not None, f"a stalled handshake stayed open past the {timeout} s handshake timeout"
        assert time.monotonic() - opened >= timeout * 0.9
    finally:
        for sock in stalled:
            sock.close()
    with tls_channel(srv, pki) as channel:
        empty_call(channel)


def abandon_handshakes(srv: Server, pki: Pki, count: int) -> None:
    """Connections that give up at each point of the handshake."""
    hello = client_hello(pki)
    for i in range(count):
        with socket.create_connection((HOST, srv.port), timeout=PATIENCE) as raw:
            match i % 3:
                case 0:
                    pass  # connect, close
                case 1:
                    raw.sendall(hello[: len(hello) // 2])
                case 2:
                    raw.sendall(hello)
                    raw.recv(65536)  # the server's flight; then we vanish


def test_rss_stays_bounded_after_abandoned_handshakes(start_server, pki):
    srv = start_server(tls_args(pki, "--loops", "1"))
    with tls_channel(srv, pki) as channel:
        empty_call(channel)
    abandon_handshakes(srv, pki, 60)  # warm-up: allocator arenas, OpenSSL's lazy tables
    time.sleep(0.3)
    before = srv.rss_bytes()
    abandon_handshakes(srv, pki, 200)
    time.sleep(0.3)
    after = srv.rss_bytes()
    growth = after - before
    # Steady at +0.0 MiB here; one leaked SSL object (several KiB) per handshake would pass 1.5 MiB.
    assert growth < 3 << 19, f"RSS grew {growth / 2**20:.1f} MiB over 200 abandoned handshakes ({before >> 20} -> {after >> 20} MiB)"
    with tls_channel(srv, pki) as channel:
        empty_call(channel)


# ---------------------------------------------------------------------------------------------
# certificate reload


def peer_certificate(srv: Server, pki: Pki, root: str) -> dict:
    with socket.create_connection((HOST, srv.port), timeout=PATIENCE) as raw:
        with client_context(pki, root, alpn=["h2"]).wrap_socket(raw, server_hostname=HOST) as tls:
            return tls.getpeercert()


def send_sighup_and_wait(srv: Server, text: str) -> None:
    start = len(srv.log_lines())
    srv.proc.send_signal(signal.SIGHUP)
    assert srv.wait_for_log(lambda line: text in line, timeout=PATIENCE, start=start), srv.log_text()


def test_sighup_reloads_the_certificate_and_keeps_connections(start_server, pki, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    shutil.copy(pki.pem("server-chain"), cert)
    shutil.copy(pki.key("server"), key)
    srv = start_server(["--tls-cert", str(cert), "--tls-key", str(key)])
    assert int(peer_certificate(srv, pki, "root")["serialNumber"], 16) == SERVER_SERIAL

    with tls_channel(srv, pki, root="root") as before:
        empty_call(before)
        # The new certificate comes from another CA: `before` could not reconnect to it, so a
        # call that still succeeds ran on the connection made before the reload.
        shutil.copy(pki.pem("reload-server"), cert)
        shutil.copy(pki.key("reload-server"), key)
        send_sighup_and_wait(srv, "TLS certificate reloaded")
        for _ in range(3):
            empty_call(before)

        seen = peer_certificate(srv, pki, "reload-root")
        assert int(seen["serialNumber"], 16) == RELOAD_SERIAL
        assert dict(item[0] for item in seen["subject"])["commonName"] == RELOAD_CN
        with tls_channel(srv, pki, root="reload-root") as after:
            empty_call(after)
        with tls_channel(srv, pki, root="root") as stale:
            assert refused(stale).code() == grpc.StatusCode.UNAVAILABLE

        # A bad file: logged, and the server keeps the certificate it has.
        key.write_text("not a key\n")
        send_sighup_and_wait(srv, "TLS reload failed")
        assert int(peer_certificate(srv, pki, "reload-root")["serialNumber"], 16) == RELOAD_SERIAL
        with tls_channel(srv, pki, root="reload-root") as after:
            empty_call(after)
        empty_call(before)


# ---------------------------------------------------------------------------------------------
# bad files at start


@pytest.mark.parametrize("case", [
    "missing-cert", "unreadable-key", "key-is-a-directory", "key-of-another-cert", "not-pem", "no-key", "ca-without-cert",
])
def test_bad_tls_files_stop_the_start(pki, tmp_path, case):
    unreadable = tmp_path / "unreadable.key"
    unreadable.write_bytes(pki.key("server").read_bytes())
    unreadable.chmod(0)
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    cert, key = str(pki.pem("server-chain")), str(pki.key("server"))
    args, expected = {
        "missing-cert": (["--tls-cert", str(tmp_path / "nope.pem"), "--tls-key", key], "No such file or directory"),
        "unreadable-key": (["--tls-cert", cert, "--tls-key", str(unreadable)], "private key file"),
        "key-is-a-directory": (["--tls-cert", cert, "--tls-key", str(tmp_path)], "no usable PEM private key"),
        "key-of-another-cert": (["--tls-cert", cert, "--tls-key", str(pki.key("client"))], "does not belong to the certificate"),
        "not-pem": (["--tls-cert", str(garbage), "--tls-key", key], "no usable PEM certificate chain"),
        "no-key": (["--tls-cert", cert], "--tls-cert needs --tls-key"),
        "ca-without-cert": (["--tls-client-ca", str(pki.pem("root"))], "--tls-client-ca needs --tls-cert"),
    }[case]
    if case == "unreadable-key" and os.geteuid() == 0:
        pytest.skip("running as root: a mode-0 file is readable")
    done = subprocess.run(server_command(tmp_path / "data", args), capture_output=True, text=True, timeout=PATIENCE * 3)
    assert done.returncode != 0, f"cellhubd started with {case}: {done.stdout}"
    assert "listening on" not in done.stdout
    assert expected in done.stderr, done.stderr
    assert not (tmp_path / "data").exists(), "the data directory was touched before the TLS files were checked"


# ---------------------------------------------------------------------------------------------
# the connection hardening over TLS


def tls_h2(srv: Server, pki: Pki, h2_connect, **kw):
    context = client_context(pki, alpn=["h2"])
    return h2_connect(srv, wrap=lambda sock: context.wrap_socket(sock, server_hostname=HOST), **kw)


def test_idle_and_keepalive_timers_over_tls(start_server, pki, h2_connect):
    srv = start_server(tls_args(pki, "--keepalive", "0.2", "--idle-timeout", "0.8"))
    client = tls_h2(srv, pki, h2_connect)
    pings = []
    original = client._handle

    def handle(event):
        if isinstance(event, h2.events.PingReceived):
            pings.append(event)
        original(event)

    client._handle = handle
    assert client.wait_until(lambda: pings, timeout=PATIENCE), "no keepalive PING over TLS"
    assert client.wait_until(lambda: client.goaway is not None or client.closed, timeout=PATIENCE), "an idle TLS connection was not closed"


def test_connection_limit_counts_tls_connections(start_server, pki):
    srv = start_server(tls_args(pki, "--max-connections", "2"))
    held = [socket.create_connection((HOST, srv.port)) for _ in range(2)]
    try:
        assert all(still_open(sock) for sock in held)
        # Handshaking or not, two connections fill the server: a third is closed at once.
        with socket.create_connection((HOST, srv.port), timeout=PATIENCE) as third:
            assert closed_by_peer(third, PATIENCE) is not None, "a connection past the limit was kept"
    finally:
        for sock in held:
            sock.close()
    deadline = time.monotonic() + PATIENCE
    while True:
        try:
            with tls_channel(srv, pki) as channel:
                empty_call(channel)
            break
        except grpc.RpcError:
            assert time.monotonic() < deadline, "the server did not take TLS connections again below its limit"
            time.sleep(0.1)


def test_half_close_after_request_still_gets_the_answer_over_tls(tls_server, pki, h2_connect):
    """TCP FIN without close_notify after a complete request: the call still answers."""
    raw_holder = {}
    context = client_context(pki, alpn=["h2"])

    def wrap(sock):
        raw_holder["raw"] = sock.dup()
        return context.wrap_socket(sock, server_hostname=HOST)

    client = h2_connect(tls_server, wrap=wrap)
    request = messages_pb2.SimpleRequest(response_size=1000).SerializeToString()
    sid = client.send_request("/grpc.testing.TestService/UnaryCall", grpc_frame(request))
    raw_holder["raw"].shutdown(socket.SHUT_WR)
    client.flush_quietly = lambda: None  # the answer to the server's PING cannot leave any more
    response = client.response(sid, timeout=PATIENCE)
    raw_holder["raw"].close()
    assert response.grpc_status == 0, response.describe()
    assert len(response.messages) == 1


# ---------------------------------------------------------------------------------------------
# the worker process over TLS


def test_cellhubd_worker_connects_over_tls(pki, tmp_path):
    """`cellhubd worker --ca-file` reaches a TLS-only server and is counted as connected."""
    from api_support import BINARY, Client, add_user
    from cellhub.v1 import segmentation_pb2

    data = tmp_path / "data"
    alice = add_user(data, "alice")
    token_file = tmp_path / "worker.token"
    token_file.write_text(add_user(data, "segmenter", "--worker") + "\n")
    srv = Server(data, tls_args(pki))
    worker = subprocess.Popen(
        [str(BINARY), "worker", "--server", srv.address, "--token-file", str(token_file), "--ca-file", str(pki.pem("root"))],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with tls_channel(srv, pki) as channel:
            client = Client(channel, "alice", alice)
            deadline = time.monotonic() + PATIENCE
            while client.seg.GetQueueStats(segmentation_pb2.GetQueueStatsRequest()).connected_workers != 1:
                assert worker.poll() is None, f"the worker exited: {worker.communicate()[1][-2000:]}"
                assert time.monotonic() < deadline, "the worker did not connect over TLS"
                time.sleep(0.1)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.communicate()
        srv.stop()
    assert worker.returncode == 0
