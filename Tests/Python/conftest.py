"""Shared fixtures for the cellhubd gRPC conformance suite.

Which server runs (environment):
  CELLHUB_SERVER=grpc-go   the grpc-go reference (CELLHUB_GRPC_GO_BIN, else built by
                           /work/shared/peers/build.sh), started as `<bin> -port 0`
  (anything else)          cellhubd (CELLHUB_CELLHUBD, default <repo>/.build/release/cellhubd),
                           started as `<bin> serve --host 127.0.0.1 --port 0 --interop --data-dir TMP`
  CELLHUB_SERVER_CMD       replaces the binary with a command prefix (e.g. `taskset -c 0 path/cellhubd`);
                           the cellhubd arguments are appended to it, a grpc-go command runs as given
                           (its port defaults to 0). PID-based checks (RSS, CPU) read the process
                           the command starts, so a wrapper must exec the server.

Tests the grpc-go reference is known to fail carry `@pytest.mark.skip_on_grpc_go(reason)`:
skipped only when CELLHUB_SERVER=grpc-go, never against cellhubd; `@pytest.mark.cellhubd_only(reason)`
marks checks of cellhubd's own behaviour (its log lines), skipped the same way.

Fixtures: `server` (session), `module_server` (one per module: bad peers, CPU/RSS probes),
`own_server` (one per test: shutdown), `channel`/`stub` (grpcio on `server`), `h2_connect`
(raw HTTP/2 connections). Helpers for tests: `raw_call` (one request on a fresh h2 connection),
`grpc_frame`, `unary_request`, `streaming_request`, `make_channel`.
"""
from __future__ import annotations

import os
import queue
import shlex
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import h2.config
import h2.connection
import h2.events
import h2.exceptions
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent / "interop_stubs"))

from grpc_testing import empty_pb2, messages_pb2, test_pb2_grpc  # noqa: E402

collect_ignore = ["interop_stubs"]  # its test_pb2*.py are stubs, not tests

SERVER_KIND = "grpc-go" if os.environ.get("CELLHUB_SERVER") == "grpc-go" else "cellhubd"
IS_GRPC_GO = SERVER_KIND == "grpc-go"
HOST = "127.0.0.1"
STARTUP_TIMEOUT = float(os.environ.get("CELLHUB_STARTUP_TIMEOUT", "30"))
MiB = 1024 * 1024
CLK_TCK = os.sysconf("SC_CLK_TCK")
# grpcio must not route 127.0.0.1 through an http_proxy from the environment.
CHANNEL_OPTIONS = [("grpc.enable_http_proxy", 0)]


# ---------------------------------------------------------------------------------------------
# markers


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "skip_on_grpc_go(reason): known difference of the grpc-go reference; skipped only when CELLHUB_SERVER=grpc-go",
    )
    config.addinivalue_line("markers", "cellhubd_only(reason): observable only on cellhubd (e.g. its logs)")


def pytest_collection_modifyitems(config, items):
    if not IS_GRPC_GO:
        return
    for item in items:
        for name in ("skip_on_grpc_go", "cellhubd_only"):
            mark = item.get_closest_marker(name)
            if mark is not None:
                reason = mark.kwargs.get("reason") or (mark.args[0] if mark.args else name)
                item.add_marker(pytest.mark.skip(reason=f"grpc-go reference: {reason}"))


# ---------------------------------------------------------------------------------------------
# the server process


def server_command(data_dir: Path, extra_args: list[str] = ()) -> list[str]:
    prefix = os.environ.get("CELLHUB_SERVER_CMD")
    if IS_GRPC_GO:
        if prefix:
            return shlex.split(prefix)
        binary = os.environ.get("CELLHUB_GRPC_GO_BIN")
        if not binary:
            built = subprocess.run(["bash", str(REPO.parent / "shared/peers/build.sh")], capture_output=True, text=True, timeout=1800)
            assert built.returncode == 0, f"build.sh failed:\n{built.stderr[-4000:]}"
            binary = built.stdout.strip().splitlines()[-1]
        return [binary, "-port", "0"]
    if prefix:
        base = shlex.split(prefix)
    else:
        binary = Path(os.environ.get("CELLHUB_CELLHUBD", REPO / ".build/release/cellhubd"))
        assert binary.is_file(), (
            f"cellhubd not found at {binary}: build it (swift build -c release) or set CELLHUB_CELLHUBD, "
            "or run against the reference with CELLHUB_SERVER=grpc-go"
        )
        base = [str(binary)]
    # Tests play the segmentation worker themselves: no built-in worker takes their jobs unless
    # a test asks for one (`--workers N`).
    workers = [] if any(a.startswith("--workers") for a in extra_args) else ["--workers", "0"]
    return base + ["serve", "--host", HOST, "--port", "0", "--interop", "--data-dir", str(data_dir), *workers, *extra_args]


class Server:
    """A running server: address, pid, captured stderr lines, /proc probes."""

    def __init__(self, data_dir: Path, extra_args: list[str] = ()):
        self.cmd = server_command(data_dir, extra_args)
        self.proc = subprocess.Popen(
            self.cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True,  # the terminal's Ctrl-C goes to pytest, which stops us via SIGTERM
        )
        self.pid = self.proc.pid
        self._stdout: queue.Queue[bytes | None] = queue.Queue()
        self._log: list[str] = []
        self._log_lock = threading.Lock()
        threading.Thread(target=self._pump_stdout, daemon=True).start()
        threading.Thread(target=self._pump_stderr, daemon=True).start()
        self.port = self._read_port()
        self.address = f"{HOST}:{self.port}"

    def _pump_stdout(self):
        for line in self.proc.stdout:
            self._stdout.put(line)
        self._stdout.put(None)

    def _pump_stderr(self):
        for line in self.proc.stderr:
            with self._log_lock:
                self._log.append(line.decode("utf-8", "replace").rstrip("\n"))

    def _read_port(self) -> int:
        try:
            line = self._stdout.get(timeout=STARTUP_TIMEOUT)
        except queue.Empty:
            self.kill()
            raise AssertionError(f"no stdout line from {self.cmd} within {STARTUP_TIMEOUT}s; stderr:\n{self.log_text()}")
        if line is None:
            self.proc.wait(timeout=5)
            raise AssertionError(f"{self.cmd} exited ({self.proc.returncode}) before listening; stderr:\n{self.log_text()}")
        text = line.decode().strip()
        prefix = f"listening on {HOST}:"
        assert text.startswith(prefix), f"first stdout line should be '{prefix}PORT', got {text!r}"
        port = int(text[len(prefix):])
        assert 0 < port < 65536, f"bad port in {text!r}"
        return port

    # -- logs
    def log_lines(self) -> list[str]:
        with self._log_lock:
            return list(self._log)

    def log_text(self) -> str:
        return "\n".join(self.log_lines()[-60:])

    def wait_for_log(self, predicate, timeout: float, start: int = 0) -> str | None:
        """First stderr line from index `start` on satisfying predicate, polled until timeout."""
        deadline = time.monotonic() + timeout
        while True:
            for line in self.log_lines()[start:]:
                if predicate(line):
                    return line
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.02)

    # -- /proc probes
    def rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS in /proc status")

    def cpu_seconds(self) -> float:
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2:].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime

    # -- liveness
    def alive(self) -> bool:
        return self.proc.poll() is None

    def assert_serving(self, what: str = "") -> None:
        """The process runs and a fresh grpcio channel gets EmptyCall answered."""
        after = f" after {what}" if what else ""
        assert self.alive(), f"server exited ({self.proc.returncode}){after}; stderr:\n{self.log_text()}"
        with grpc.insecure_channel(self.address, options=CHANNEL_OPTIONS) as channel:
            try:
                reply = test_pb2_grpc.TestServiceStub(channel).EmptyCall(empty_pb2.Empty(), timeout=10)
            except grpc.RpcError as err:
                raise AssertionError(f"server no longer serves{after}: EmptyCall -> {err.code()} {err.details()}") from None
        assert reply == empty_pb2.Empty()

    # -- shutdown
    def stop(self, sig=signal.SIGTERM, timeout: float = 15.0) -> int | None:
        if self.alive():
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                return None
        return self.proc.returncode

    def kill(self):
        if self.alive():
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """One server for the whole session (tests that must not disturb it use `own_server`)."""
    srv = Server(tmp_path_factory.mktemp("cellhub-data"))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def module_server(tmp_path_factory):
    """A server of its own for one test module (bad peers, resource probes)."""
    srv = Server(tmp_path_factory.mktemp("cellhub-data"))
    yield srv
    srv.stop()


@pytest.fixture
def own_server(tmp_path):
    """A server for one test (lifecycle tests that stop it)."""
    srv = Server(tmp_path / "data")
    yield srv
    srv.kill()


def make_channel(srv: Server, **options) -> grpc.Channel:
    opts = CHANNEL_OPTIONS + [(f"grpc.{k}", v) for k, v in options.items()]
    return grpc.insecure_channel(srv.address, options=opts)


@pytest.fixture(scope="session")
def channel(server):
    with make_channel(server) as ch:
        yield ch


@pytest.fixture(scope="session")
def stub(channel):
    return test_pb2_grpc.TestServiceStub(channel)


# ---------------------------------------------------------------------------------------------
# raw HTTP/2 peer (h2 over a socket)


def grpc_frame(payload: bytes, compressed: bool = False, length: int | None = None) -> bytes:
    """A gRPC length-prefixed message; `length` overrides the announced length."""
    return struct.pack(">BI", 1 if compressed else 0, len(payload) if length is None else length) + payload


def parse_grpc_frames(data: bytes) -> list[tuple[int, bytes]]:
    out, i = [], 0
    while i < len(data):
        assert len(data) - i >= 5, f"truncated gRPC message prefix at offset {i} of {len(data)}"
        flag, n = struct.unpack_from(">BI", data, i)
        assert len(data) - i - 5 >= n, f"gRPC message at {i} announces {n} bytes, only {len(data) - i - 5} follow"
        out.append((flag, data[i + 5:i + 5 + n]))
        i += 5 + n
    return out


def assert_percent_encoded(value: str) -> None:
    """grpc-message on the wire: printable ASCII only, every '%' starts a %XX escape."""
    bad = [c for c in value if not 0x20 <= ord(c) <= 0x7E]
    assert not bad, f"grpc-message is not percent-encoded: raw bytes {value.encode('latin-1')!r}"
    for i, c in enumerate(value):
        if c == "%":
            assert all(h in "0123456789abcdefABCDEF" for h in value[i + 1:i + 3]) and len(value[i + 1:i + 3]) == 2, (
                f"grpc-message has a bare '%' at {i}: {value!r}"
            )


@dataclass
class H2Response:
    headers: dict[str, str] | None = None  # first HEADERS block (values latin-1 decoded: bytes 1:1)
    headers_ended_stream: bool = False  # END_STREAM on that block (Trailers-Only)
    trailers: dict[str, str] | None = None
    data: bytes = b""
    reset_code: int | None = None  # RST_STREAM from the server
    ended: bool = False  # END_STREAM seen
    goaway: h2.events.ConnectionTerminated | None = None
    connection_closed: bool = False

    @property
    def done(self) -> bool:
        return self.ended or self.reset_code is not None or self.goaway is not None or self.connection_closed

    @property
    def status_block(self) -> dict[str, str]:
        """Where grpc-status lives: the trailers, or the headers of a Trailers-Only response."""
        if self.trailers is not None:
            return self.trailers
        return self.headers or {}

    @property
    def http_status(self) -> int | None:
        return int(self.headers[":status"]) if self.headers and ":status" in self.headers else None

    @property
    def grpc_status(self) -> int | None:
        value = self.status_block.get("grpc-status")
        return None if value is None else int(value)

    @property
    def grpc_message(self) -> str | None:
        raw = self.status_block.get("grpc-message")
        if raw is None:
            return None
        assert_percent_encoded(raw)
        return urllib.parse.unquote(raw, encoding="utf-8", errors="strict")

    @property
    def messages(self) -> list[tuple[int, bytes]]:
        return parse_grpc_frames(self.data)

    def describe(self) -> str:
        return (f"headers={self.headers} (END_STREAM={self.headers_ended_stream}) trailers={self.trailers} "
                f"data={len(self.data)}B reset={self.reset_code} goaway={self.goaway} closed={self.connection_closed}")


class H2Client:
    """A client HTTP/2 connection driven by hand: preface + SETTINGS on connect, then requests
    with arbitrary headers and bodies. Received DATA is acknowledged (flow control) unless
    auto_ack=False. `wrap` (socket -> socket) puts a layer such as TLS under HTTP/2."""

    def __init__(self, address: tuple[str, int], *, auto_ack: bool = True, settings: dict | None = None,
                 timeout: float = 10.0, wrap=None):
        self.sock = socket.create_connection(address, timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if wrap is not None:
            self.sock = wrap(self.sock)  # e.g. TLS: the HTTP/2 connection runs over what it returns
        self.authority = f"{address[0]}:{address[1]}"
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(
            client_side=True, header_encoding=None, validate_outbound_headers=False,
            normalize_outbound_headers=False))
        self.auto_ack = auto_ack
        self.conn.initiate_connection()
        if settings:
            self.conn.update_settings(settings)
        self.streams: dict[int, H2Response] = {}
        self.server_settings: dict[int, int] = {}
        self.goaway: h2.events.ConnectionTerminated | None = None
        self.closed = False
        self.got_settings = False
        self.flush()

    # -- sending
    def flush(self) -> None:
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def request_headers(self, path: str, overrides: dict | None = None, extra: list | None = None) -> list:
        base = {":method": "POST", ":scheme": "http", ":path": path, ":authority": self.authority,
                "content-type": "application/grpc", "te": "trailers"}
        for k, v in (overrides or {}).items():
            if v is None:
                base.pop(k, None)
            else:
                base[k] = v
        return [(k.encode(), v.encode() if isinstance(v, str) else v) for k, v in base.items()] + [
            (k.encode(), v.encode() if isinstance(v, str) else v) for k, v in (extra or [])]

    def send_request(self, path: str, body: bytes = b"", *, headers: dict | None = None, extra: list | None = None,
                     end_stream: bool = True) -> int:
        """Opens a stream; `body` is sent as DATA (END_STREAM on the last frame if end_stream)."""
        sid = self.conn.get_next_available_stream_id()
        self.streams[sid] = H2Response()
        self.conn.send_headers(sid, self.request_headers(path, headers, extra), end_stream=end_stream and not body)
        self.flush()
        if body:
            self.send_data(sid, body, end_stream=end_stream)
        return sid

    def send_data(self, sid: int, body: bytes, end_stream: bool = False) -> None:
        """Sends body within flow control, reading from the socket while the window is closed."""
        view = memoryview(body)
        deadline = time.monotonic() + 30
        while True:
            window = min(self.conn.local_flow_control_window(sid), self.conn.max_outbound_frame_size)
            if len(view) <= window:
                self.conn.send_data(sid, view.tobytes(), end_stream=end_stream)
                self.flush()
                return
            if window > 0:
                self.conn.send_data(sid, view[:window].tobytes())
                self.flush()
                view = view[window:]
                continue
            assert time.monotonic() < deadline, "server never opened its flow-control window"
            self.pump(0.5)
            if self.streams[sid].done:
                return  # the server answered (e.g. with an error) before taking the whole body

    # -- receiving
    def pump(self, timeout: float) -> bool:
        """Reads what arrives within timeout (one recv) and handles it; False when the peer closed."""
        if self.closed:
            return False
        self.sock.settimeout(max(timeout, 0.001))
        try:
            data = self.sock.recv(1 << 20)
        except socket.timeout:
            return True
        except (ConnectionResetError, BrokenPipeError):
            data = b""
        if not data:
            self._mark_closed()
            return False
        try:
            events = self.conn.receive_data(data)
        except h2.exceptions.ProtocolError as err:
            raise AssertionError(f"server violated HTTP/2: {err!r}") from None
        for ev in events:
            self._handle(ev)
        self.flush_quietly()
        return True

    def flush_quietly(self) -> None:
        try:
            self.flush()
        except OSError:
            self._mark_closed()

    def _mark_closed(self) -> None:
        self.closed = True
        for st in self.streams.values():
            st.connection_closed = True

    def _handle(self, ev) -> None:
        sid = getattr(ev, "stream_id", None)
        st = self.streams.get(sid) if sid else None
        if isinstance(ev, h2.events.ResponseReceived) and st is not None:
            st.headers = {k.decode(): v.decode("latin-1") for k, v in ev.headers}
            st.headers_ended_stream = ev.stream_ended is not None
        elif isinstance(ev, h2.events.TrailersReceived) and st is not None:
            st.trailers = {k.decode(): v.decode("latin-1") for k, v in ev.headers}
        elif isinstance(ev, h2.events.DataReceived):
            if st is not None:
                st.data += ev.data
            if self.auto_ack and ev.flow_controlled_length:
                self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
        elif isinstance(ev, h2.events.StreamEnded) and st is not None:
            st.ended = True
        elif isinstance(ev, h2.events.StreamReset) and st is not None:
            st.reset_code = int(ev.error_code)
        elif isinstance(ev, h2.events.RemoteSettingsChanged):
            self.got_settings = True
            for code, change in ev.changed_settings.items():
                self.server_settings[int(code)] = change.new_value
        elif isinstance(ev, h2.events.ConnectionTerminated):
            self.goaway = ev
            for s in self.streams.values():
                s.goaway = ev

    def wait_until(self, predicate, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not predicate():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if not self.pump(min(left, 0.2)) and not predicate():
                return predicate()
        return True

    def response(self, sid: int, timeout: float = 10.0) -> H2Response:
        st = self.streams[sid]
        assert self.wait_until(lambda: st.done, timeout), f"stream {sid} not finished within {timeout}s: {st.describe()}"
        return st

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


@pytest.fixture
def h2_connect():
    """Factory: h2_connect(server, **kw) -> H2Client, closed after the test."""
    clients: list[H2Client] = []

    def connect(srv: Server, **kw) -> H2Client:
        client = H2Client((HOST, srv.port), **kw)
        clients.append(client)
        return client

    yield connect
    for c in clients:
        c.close()


def raw_call(srv: Server, path: str, body: bytes = b"", *, headers: dict | None = None, extra: list | None = None,
             timeout: float = 10.0) -> H2Response:
    """One request on a fresh HTTP/2 connection; returns headers, trailers and data of its response."""
    client = H2Client((HOST, srv.port))
    try:
        sid = client.send_request(path, body, headers=headers, extra=extra)
        return client.response(sid, timeout)
    finally:
        client.close()


# ---------------------------------------------------------------------------------------------
# small helpers for tests


def unary_request(response_size: int = 0, payload_size: int = 0, **kw) -> messages_pb2.SimpleRequest:
    req = messages_pb2.SimpleRequest(response_type=messages_pb2.COMPRESSABLE, response_size=response_size, **kw)
    if payload_size:
        req.payload.body = bytes(payload_size)
    return req


def streaming_request(sizes=(), interval_us: int = 0, **kw) -> messages_pb2.StreamingOutputCallRequest:
    return messages_pb2.StreamingOutputCallRequest(
        response_type=messages_pb2.COMPRESSABLE,
        response_parameters=[messages_pb2.ResponseParameters(size=s, interval_us=interval_us) for s in sizes], **kw)


@dataclass
class Poll:
    """Samples fn every `every` seconds for `duration`; keeps the samples (for peak checks)."""
    samples: list = field(default_factory=list)

    def run(self, fn, duration: float, every: float = 0.05):
        end = time.monotonic() + duration
        while True:
            self.samples.append(fn())
            if time.monotonic() >= end:
                return self
            time.sleep(every)
