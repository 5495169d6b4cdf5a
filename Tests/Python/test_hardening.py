"""Hardening of cellhubd against hostile or sloppy peers, end to end.

Each section specifies a defect being fixed (the tests fail against the server as it was
before the fixes; see the docstrings):

1. EOF with a partial request: a peer that closes (fully or half) while a request message is
   unfinished must not leave a loop spinning; a half-closed peer gets CANCELLED, then EOF.
2. grpc-message is bounded: at most 1,024 bytes of UTF-8 (+ "…" when cut, never inside a
   UTF-8 sequence), for every status; the answer always arrives (no oversized header block).
3. Every string field of the API is bounded in UTF-8 bytes as well as characters; names are
   stored trimmed; bidi controls and invisible characters are refused in names; a viewer
   asking to share as OWNER is refused for its role (PERMISSION_DENIED).
4. Memory bound across connections (--max-buffered-request-bytes), stalled requests
   (--request-stall-timeout), a connection limit (--max-connections), and keepalive PINGs
   that go unanswered (--keepalive-timeout).

Raw HTTP/2 peers are `h2` over sockets (conftest's H2Client, extended here with PING sync
and half-close); API cases use grpcio through api_support's `start_api`.
"""
from __future__ import annotations

import select
import socket
import time
import uuid

import grpc
import h2.events
import h2.exceptions
import pytest

from api_support import (
    Code,
    common_pb2,
    expect_error,
    images_pb2,
    ok,
    projects_pb2,
    start_api,
    upload_of,
)
from conftest import (
    HOST,
    H2Client,
    MiB,
    Server,
    grpc_frame,
    raw_call,
    unary_request,
)

pytestmark = pytest.mark.cellhubd_only(reason="cellhubd's hardening (its flags, limits and API rules)")

UNARY = "/grpc.testing.TestService/UnaryCall"
EMPTY = "/grpc.testing.TestService/EmptyCall"
OK_BODY = grpc_frame(unary_request(response_size=10).SerializeToString())
EMPTY_BODY = grpc_frame(b"")

MESSAGE_BYTES = 1024  # grpc-message limit, in UTF-8 bytes, before the ellipsis
ELLIPSIS = "\u2026"
MESSAGE_BOUND = MESSAGE_BYTES + len(ELLIPSIS.encode())  # 1,027

CANCELLED, INVALID_ARGUMENT, RESOURCE_EXHAUSTED, UNIMPLEMENTED = 1, 3, 8, 12


# ---------------------------------------------------------------------------------------------
# helpers


class Peer(H2Client):
    """H2Client plus: PING round trips as a sync point (everything sent before the PING has
    been processed by the server, everything it sent before the ACK has been read), a TCP
    half-close after which nothing more is written."""

    def __init__(self, srv: Server, **kw):
        self.write_shut = False
        self.acked_pings: set[bytes] = set()
        super().__init__((HOST, srv.port), **kw)

    def flush(self) -> None:
        if self.write_shut:
            self.conn.data_to_send()  # our side is shut: drop (e.g. a SETTINGS ACK)
            return
        super().flush()

    def _handle(self, ev) -> None:
        if isinstance(ev, h2.events.PingAckReceived):
            self.acked_pings.add(bytes(ev.ping_data))
        super()._handle(ev)

    def sync(self, timeout: float = 5.0) -> None:
        """One PING round trip."""
        data = uuid.uuid4().bytes[:8]
        self.conn.ping(data)
        self.flush()
        assert self.wait_until(lambda: data in self.acked_pings, timeout), (
            f"no PING ACK within {timeout}s (closed={self.closed}, goaway={self.goaway})")

    def half_close(self) -> None:
        self.flush()
        self.sock.shutdown(socket.SHUT_WR)
        self.write_shut = True


@pytest.fixture
def peers():
    """Factory: peers(srv, **kw) -> Peer, closed after the test."""
    made: list[Peer] = []

    def connect(srv: Server, **kw) -> Peer:
        peer = Peer(srv, **kw)
        made.append(peer)
        return peer

    yield connect
    for p in made:
        p.close()


@pytest.fixture
def start_server(tmp_path):
    """Factory: start_server(*flags) -> Server with extra `cellhubd serve` flags, killed after the test."""
    started: list[Server] = []

    def start(*flags: str) -> Server:
        srv = Server(tmp_path / f"data-{len(started)}", list(flags))
        started.append(srv)
        return srv

    yield start
    for s in started:
        s.kill()


def pump_all(clients, timeout: float) -> None:
    """Waits up to `timeout` for any of the clients' sockets to be readable and handles what came."""
    live = [c for c in clients if not c.closed]
    if not live:
        time.sleep(timeout)  # nothing to wait on: only the clock
        return
    readable, _, _ = select.select([c.sock for c in live], [], [], timeout)
    for c in live:
        if c.sock in readable:
            c.pump(0.001)


def assert_bounded(message: str | None, what: str, *, cut: bool = False) -> None:
    """grpc-message (percent-decoded) within 1,024 UTF-8 bytes, plus "…" when cut."""
    assert message is not None, f"{what}: no grpc-message"
    size = len(message.encode("utf-8"))
    body_size = len((message[:-1] if message.endswith(ELLIPSIS) else message).encode("utf-8"))
    within = body_size <= MESSAGE_BYTES
    assert within, (
        f"{what}: grpc-message is {size} bytes of UTF-8 (bound {MESSAGE_BYTES} + '…'): {message[:120]!r}…")
    if cut:
        assert message.endswith(ELLIPSIS), f"{what}: a cut grpc-message must end with '…': ...{message[-80:]!r}"


def tcp_state(sock: socket.socket) -> int:
    """tcpi_state of the socket (Linux TCP_INFO): 8 = CLOSE_WAIT (peer sent FIN), 7 = CLOSE."""
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0]


def drain_to_eof(sock: socket.socket, timeout: float) -> bool:
    """Reads and drops until EOF or reset (True) or timeout (False)."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        sock.settimeout(left)
        try:
            if not sock.recv(1 << 16):
                return True
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError):
            return True


# =============================================================================================
# 1. EOF with a partial request


def _partial_request_peers(srv, peers, count=8):
    """`count` connections, each with HEADERS + a DATA frame whose length prefix promises 1000
    bytes but carries 10; synced so the server has taken both before anything else happens."""
    out = []
    for _ in range(count):
        p = peers(srv)
        sid = p.send_request(UNARY, grpc_frame(bytes(10), length=1000), end_stream=False)
        p.sync()
        out.append((p, sid))
    return out


@pytest.mark.parametrize("mode", ["close", "shutdown-write"])
def test_eof_with_partial_request_does_not_spin(own_server, peers, mode):
    """Defect: when the peer's EOF arrives while a request message is unfinished, the server
    kept the connection (and its stream) waiting for bytes that can never come, and its loop
    spun on the readable-at-EOF socket at 100 % CPU. Fixed: the server ends such calls
    (CANCELLED, which a half-closed peer still receives), then closes the connection; it
    stays near idle (< 0.3 s CPU over the 3 s after 8 such EOFs)."""
    srv = own_server
    srv.assert_serving("start-up")
    conns = _partial_request_peers(srv, peers)
    t_eof = time.monotonic()
    for p, _ in conns:
        if mode == "close":
            p.sock.close()  # everything the server sent was read (sync): a FIN, not a reset
            p.closed = True
        else:
            p.half_close()
    cpu0 = srv.cpu_seconds()
    eof_at: dict[int, float] = {}
    if mode == "close":
        time.sleep(3.0)  # the observation window itself: nothing to wait for
        cpu1 = srv.cpu_seconds()
    else:
        cpu1 = None
        while True:
            now = time.monotonic()
            if cpu1 is None and now >= t_eof + 3.0:
                cpu1 = srv.cpu_seconds()
            if now >= t_eof + 5.0 or (cpu1 is not None and all(p.closed for p, _ in conns)):
                break
            pump_all([p for p, _ in conns], min(0.05, max(0.001, t_eof + 3.0 - now)) if cpu1 is None else 0.05)
            for i, (p, _) in enumerate(conns):
                if p.closed and i not in eof_at:
                    eof_at[i] = time.monotonic() - t_eof
    grown = cpu1 - cpu0
    problems = []
    if grown >= 0.3:
        problems.append(f"server used {grown:.2f} s of CPU in the 3 s after 8 EOFs mid-request ({mode}): a loop spins")
    if mode == "shutdown-write":
        for i, (p, sid) in enumerate(conns):
            st = p.streams[sid]
            if st.grpc_status != CANCELLED:
                problems.append(f"conn {i}: want grpc-status {CANCELLED} (CANCELLED) after half-close, got {st.describe()}")
                break
        not_closed = [i for i in range(len(conns)) if i not in eof_at or eof_at[i] > 5.0]
        if not_closed:
            problems.append(f"{len(not_closed)} of {len(conns)} half-closed connections not closed by the server within 5 s")
    assert not problems, "; ".join(problems)
    srv.assert_serving(f"EOF mid-request ({mode})")


def test_half_close_after_complete_request_still_gets_answer(own_server, peers):
    """Control for the EOF fix (passes before it): a peer that half-closes right after a
    complete unary request still receives the answer (status 0 and the message), then the
    server closes the connection."""
    srv = own_server
    p = peers(srv)
    sid = p.send_request(UNARY, OK_BODY)  # END_STREAM on the DATA
    p.half_close()
    resp = p.streams[sid]
    assert p.wait_until(lambda: resp.ended or resp.reset_code is not None or p.closed, 5), (
        f"no answer within 5 s after half-close: {resp.describe()}")
    assert resp.grpc_status == 0, f"want grpc-status 0: {resp.describe()}"
    msgs = resp.messages
    assert len(msgs) == 1 and len(msgs[0][1]) >= 10, f"want one response message with a 10-byte payload: {resp.describe()}"
    assert p.wait_until(lambda: p.closed, 5), "server did not close the half-closed connection within 5 s of answering"
    srv.assert_serving("half-close after a complete request")


# =============================================================================================
# 2. grpc-message is bounded


@pytest.fixture(scope="module")
def srv(module_server):
    return module_server


@pytest.mark.parametrize("case", [
    "long-method", "long-service", "long-timeout", "long-encoding", "long-content-type", "multibyte-method",
])
def test_grpc_message_is_bounded(srv, case):
    """Defect: grpc-message echoed request values (path, grpc-timeout, grpc-encoding,
    content-type) in full: 12 KB messages, and past nghttp2's header block limit no answer at
    all (the client waits forever). Fixed: at most 1,024 UTF-8 bytes plus '…' when cut, the
    cut on a character boundary, every answer within 5 s."""
    cut = True
    http_status = 200
    if case == "long-method":
        path, body, headers, extra, want = "/grpc.testing.TestService/" + "x" * 12_000, EMPTY_BODY, None, None, UNIMPLEMENTED
    elif case == "long-service":
        path, body, headers, extra, want = "/" + "y" * 12_000 + "/M", EMPTY_BODY, None, None, UNIMPLEMENTED
    elif case == "long-timeout":
        # Malformed grpc-timeout is INVALID_ARGUMENT (ServerConnection.requestHeadersComplete).
        path, body, headers, extra, want = UNARY, OK_BODY, None, [("grpc-timeout", "1" * 12_000)], INVALID_ARGUMENT
        cut = False  # the server need not echo the value at all; only the bound is required
    elif case == "long-encoding":
        path, body, headers, extra, want = UNARY, OK_BODY, None, [("grpc-encoding", "z" * 12_000)], UNIMPLEMENTED
    elif case == "long-content-type":
        path, body, headers, extra, want = UNARY, OK_BODY, {"content-type": "text/" + "a" * 12_000}, None, None
        http_status, cut = 415, False
    else:  # multibyte-method: 6,000 x U+00E9 sent as raw UTF-8 bytes in :path (12,000 bytes)
        path, body, headers, extra, want = "/grpc.testing.TestService/" + "\u00e9" * 6_000, EMPTY_BODY, None, None, UNIMPLEMENTED
    try:
        resp = raw_call(srv, path, body, headers=headers, extra=extra, timeout=5)
    except AssertionError as err:
        raise AssertionError(f"{case}: no complete answer within 5 s ({err})") from None
    assert resp.http_status == http_status, f"{case}: want :status {http_status}: {resp.describe()[:600]}"
    if want is not None:
        assert resp.grpc_status == want, f"{case}: want grpc-status {want}: {resp.describe()[:600]}"
    try:
        message = resp.grpc_message  # percent-encoding checked; UTF-8 decoding is strict
    except UnicodeDecodeError as err:
        raise AssertionError(f"{case}: grpc-message is not valid UTF-8 after percent-decoding (cut inside a sequence?): {err}") from None
    assert_bounded(message, case, cut=cut)
    srv.assert_serving(case)


# =============================================================================================
# 2 and 3: the API (grpcio)

FLAG = "\U0001F3F4\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F"  # England: 7 scalars, 28 bytes
COMBINING = "e" + "\u0301" * 10_000  # one character, 20,001 bytes
P, I = projects_pb2, images_pb2
OWNER, VIEWER = common_pb2.ROLE_OWNER, common_pb2.ROLE_VIEWER


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    api = start_api(tmp_path_factory, users=("alice", "bob", "carol"))
    yield api
    api.close()


def uniq(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def short(err: AssertionError) -> str:
    """First line of a failure, without the reply dump of 'the call succeeded: ...'."""
    line = str(err).splitlines()[0]
    return line.split(": '")[0] if "call succeeded" in line else line[:300]


def expect_status(code, method, request, what: str) -> grpc.RpcError:
    """Like api_support.expect_error, without its printable-text check: a message may quote a
    name made of format characters (flag tags, ZWJ), which Python deems unprintable."""
    try:
        reply = method(request, timeout=10)
    except grpc.RpcError as err:
        assert err.code() == code, f"{what}: want {code.name}, got {err.code().name}: {(err.details() or '')[:200]!r}"
        assert (err.details() or "").strip(), f"{what}: {code.name} with an empty grpc-message"
        return err
    raise AssertionError(f"{what}: want {code.name}, but the call succeeded: {str(reply)[:200]!r}")


def expect_invalid(method, request, what: str, *, field: str, byte_limit: bool, value: str | None = None) -> str:
    """INVALID_ARGUMENT whose message (≤ 1,027 bytes) names the field, says "bytes" for a
    byte-limit violation, and does not echo the whole offending value."""
    err = expect_error(Code.INVALID_ARGUMENT, method, request, what, timeout=10)
    message = err.details()
    size = len(message.encode("utf-8"))
    assert size <= MESSAGE_BOUND, f"{what}: message is {size} bytes (bound {MESSAGE_BOUND}): {message[:100]!r}…"
    assert field in message, f"{what}: message should name the field {field!r}: {message[:300]!r}"
    if byte_limit:
        assert "bytes" in message, f"{what}: message should say the limit is in bytes: {message[:300]!r}"
    if value is not None:
        assert value not in message, f"{what}: message echoes the whole value"
    return message


def test_flag_name_over_byte_limit_is_refused(api):
    """Defect: a 200-character name of England flags (5,600 bytes) was accepted, and the
    ALREADY_EXISTS of a second create echoed it: a grpc-message header of 8-16 KB that the
    grpcio client refuses at random (RESOURCE_EXHAUSTED "received metadata size exceeds soft
    limit"). Fixed: the name is refused for its bytes (INVALID_ARGUMENT saying "bytes",
    message ≤ 1,027 bytes)."""
    big = FLAG * 200
    assert len(big) == 1400 and len(big.encode()) == 5_600
    request = P.CreateProjectRequest(name=big)
    try:
        api.alice.projects.CreateProject(request, timeout=10)
    except grpc.RpcError as err:
        message = err.details() or ""
        assert err.code() == Code.INVALID_ARGUMENT, (
            f"200 flags (5,600 bytes): want INVALID_ARGUMENT, got {err.code().name}: {message[:200]!r}")
        size = len(message.encode())
        assert size <= MESSAGE_BOUND, f"200 flags: message is {size} bytes (bound {MESSAGE_BOUND})"
        assert "bytes" in message, f"200 flags: message should say the limit is in bytes: {message[:300]!r}"
        return
    try:
        api.alice.projects.CreateProject(request, timeout=10)
        second = "succeeded"
    except grpc.RpcError as err:
        second = f"{err.code().name} ({len((err.details() or '').encode())}-byte message: {(err.details() or '')[:90]!r})"
    raise AssertionError(f"a 200-flag project name (5,600 bytes) was accepted; a second create answered {second}")


def test_already_exists_message_is_bounded(api):
    """Defect (as above): ALREADY_EXISTS quoted the whole name. A name of 28 England flags
    (28 characters, 784 bytes: within the limits) is accepted; creating it again answers
    ALREADY_EXISTS with a message ≤ 1,027 bytes."""
    name = FLAG * 28
    assert len(name.encode()) == 784
    created = ok(api.alice.projects.CreateProject, P.CreateProjectRequest(name=name), "28 flags (784 bytes)", timeout=10).project
    assert created.name == name
    err = expect_status(Code.ALREADY_EXISTS, api.alice.projects.CreateProject, P.CreateProjectRequest(name=name),
                        "28 flags again")
    size = len(err.details().encode())
    assert size <= MESSAGE_BOUND, f"ALREADY_EXISTS message is {size} bytes (bound {MESSAGE_BOUND}): {err.details()[:90]!r}…"


@pytest.fixture
def project(api):
    return api.alice.create_project(uniq("hard"))


def test_string_fields_bounded_in_bytes(api, project):
    """Defect: string fields were bounded in characters only; "e" + 10,000 combining acute
    accents is one character (20,001 bytes) and passed as a project name, image name,
    name_contains and description. Fixed: byte limits too (name ≤ 800, image name ≤ 1,020,
    description ≤ 20,000, name_contains ≤ 1,020 bytes): INVALID_ARGUMENT naming the field and
    "bytes", message ≤ 1,027 bytes, not echoing the value."""
    value = COMBINING
    problems = []
    cases = [
        ("CreateProject name", api.alice.projects.CreateProject, P.CreateProjectRequest(name=value), "name"),
        ("UpdateProject name", api.alice.projects.UpdateProject,
         P.UpdateProjectRequest(project_id=project.id, name=value), "name"),
        ("UploadImages name", api.alice.images.UploadImages,
         I.UploadImagesRequest(project_id=project.id, images=[upload_of("image/png", 1, name=value)]), "name"),
        ("ListProjects name_contains", api.alice.projects.ListProjects, P.ListProjectsRequest(name_contains=value),
         "name_contains"),
        ("ListImages name_contains", api.alice.images.ListImages,
         I.ListImagesRequest(project_id=project.id, name_contains=value), "name_contains"),
        ("CreateProject description", api.alice.projects.CreateProject,
         P.CreateProjectRequest(name=uniq("desc"), project_description=value), "description"),
        ("UpdateProject description", api.alice.projects.UpdateProject,
         P.UpdateProjectRequest(project_id=project.id, project_description=value), "description"),
    ]
    for what, method, request, field in cases:
        try:
            expect_invalid(method, request, f"{what} = 'e' + 10,000 U+0301", field=field, byte_limit=True, value=value)
        except AssertionError as err:
            problems.append(short(err))
    got = ok(api.alice.projects.GetProject, P.GetProjectRequest(project_id=project.id)).project
    if (got.name, got.project_description) != (project.name, project.project_description):
        problems.append("a refused UpdateProject changed the project")
    assert not problems, f"{len(problems)} problems over {len(cases)} cases: " + " | ".join(problems)


def test_byte_limits_at_their_boundaries(api, project):
    """The byte limits of (3) at their edges, with 4-byte characters (at the character limit
    too) and a single character of many combining marks (one byte over): project name 800,
    image name 1,020, description 20,000, name_contains 1,020 bytes (ListProjects'
    name_contains is 255 characters now, was 200)."""
    emoji = "\U0001F600"  # 4 bytes
    problems = []

    def accepted(what, method, request):
        try:
            method(request, timeout=10)
        except grpc.RpcError as err:
            problems.append(f"{what}: want accepted, got {err.code().name}: {(err.details() or '')[:150]!r}")

    def refused(what, method, request, field):
        try:
            expect_invalid(method, request, what, field=field, byte_limit=True)
        except AssertionError as err:
            problems.append(short(err))

    accepted("project name 200 x 4-byte (800 bytes)", api.alice.projects.CreateProject,
             P.CreateProjectRequest(name=emoji * 200))
    refused("project name of 801 bytes", api.alice.projects.CreateProject,
            P.CreateProjectRequest(name="e" + "\u0301" * 400), "name")
    accepted("image name 255 x 4-byte (1,020 bytes)", api.alice.images.UploadImages,
             I.UploadImagesRequest(project_id=project.id, images=[upload_of("image/png", 2, name=emoji * 255)]))
    refused("image name of 1,021 bytes", api.alice.images.UploadImages,
            I.UploadImagesRequest(project_id=project.id, images=[upload_of("image/png", 3, name="e" + "\u0301" * 510)]),
            "name")
    accepted("description 5,000 x 4-byte (20,000 bytes)", api.alice.projects.CreateProject,
             P.CreateProjectRequest(name=uniq("d"), project_description=emoji * 5000))
    refused("description of 20,001 bytes", api.alice.projects.CreateProject,
            P.CreateProjectRequest(name=uniq("d"), project_description=COMBINING), "description")
    accepted("ListProjects name_contains 255 x 4-byte (1,020 bytes)", api.alice.projects.ListProjects,
             P.ListProjectsRequest(name_contains=emoji * 255))
    refused("ListProjects name_contains of 1,021 bytes", api.alice.projects.ListProjects,
            P.ListProjectsRequest(name_contains="e" + "\u0301" * 510), "name_contains")
    accepted("ListImages name_contains 255 x 4-byte (1,020 bytes)", api.alice.images.ListImages,
             I.ListImagesRequest(project_id=project.id, name_contains=emoji * 255))
    refused("ListImages name_contains of 1,021 bytes", api.alice.images.ListImages,
            I.ListImagesRequest(project_id=project.id, name_contains="e" + "\u0301" * 510), "name_contains")
    assert not problems, " | ".join(problems)


def test_long_content_type_is_refused_briefly(api, project):
    """content_type is at most 100 bytes and one of the accepted types: 10,000 'a' is
    INVALID_ARGUMENT naming content_type, with a message ≤ 1,027 bytes that does not echo it.
    (Passes before the fixes too: the old message quoted only 100 characters.)"""
    value = "a" * 10_000
    expect_invalid(api.alice.images.UploadImages,
                   I.UploadImagesRequest(project_id=project.id, images=[
                       I.ImageUpload(name="ct.png", content_type=value, content=upload_of("image/png", 4).content)]),
                   "content_type of 10,000 'a'", field="content_type", byte_limit=False, value=value)


def test_names_are_stored_trimmed(api, project):
    """Defect: image names were validated trimmed but stored as sent ("  name  "). Fixed:
    project and image names are stored trimmed (Create/Upload replies and Get agree)."""
    pname = uniq("trim")
    created = api.alice.create_project(f"  {pname}  ")
    assert created.name == pname, f"CreateProject stored {created.name!r}"
    got = ok(api.alice.projects.GetProject, P.GetProjectRequest(project_id=created.id)).project
    assert got.name == pname, f"GetProject returns {got.name!r}"

    reply = api.alice.upload(project.id, upload_of("image/png", 5, name="  name  "))
    image = reply.images[0]
    fetched = ok(api.alice.images.GetImage, I.GetImageRequest(image_id=image.id)).image
    content = ok(api.alice.images.GetImageContent, I.GetImageContentRequest(image_id=image.id))
    assert (image.name, fetched.name, content.name) == ("name", "name", "name"), (
        f"image name stored untrimmed: upload reply {image.name!r}, GetImage {fetched.name!r}, GetImageContent {content.name!r}")


BIDI = [0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069, 0x200E, 0x200F]
INVISIBLE = [0x200B, 0x2060, 0xFEFF]
_IDENTIFIES = ("bidi", "bidirectional", "invisible", "zero-width", "zero width")


@pytest.mark.parametrize("kind", ["project", "image"])
def test_bidi_and_invisible_characters_refused_in_names(api, project, kind):
    """Defect: names could carry bidi controls (U+202A–U+202E, U+2066–U+2069, U+200E/F) and
    invisible characters (U+200B, U+2060, U+FEFF): 'format' characters passed the
    control-character check, so a name could display as something it is not. Fixed:
    INVALID_ARGUMENT saying which is refused (its U+XXXX, or that it is a bidi / invisible
    character). A ZWJ emoji sequence (U+200D) stays accepted."""
    accepted, wrong, unexplained = [], [], []
    for cp in BIDI + INVISIBLE:
        name = f"ab{chr(cp)}cd-{uuid.uuid4().hex[:6]}"
        what = f"{kind} name with U+{cp:04X}"
        if kind == "project":
            method, request = api.alice.projects.CreateProject, P.CreateProjectRequest(name=name)
        else:
            method, request = api.alice.images.UploadImages, I.UploadImagesRequest(
                project_id=project.id, images=[upload_of("image/png", cp & 0xFF, name=name)])
        try:
            err = expect_status(Code.INVALID_ARGUMENT, method, request, what)
        except AssertionError as e:
            (accepted if "call succeeded" in str(e) else wrong).append(f"U+{cp:04X}" if "call succeeded" in str(e) else short(e))
            continue
        message = err.details()
        if f"u+{cp:04x}" not in message.lower() and not any(w in message.lower() for w in _IDENTIFIES):
            unexplained.append(f"U+{cp:04X}: {message[:150]!r}")
    family = "\U0001F468\u200D\U0001F469\u200D\U0001F467"
    if kind == "project":
        got = ok(api.alice.projects.CreateProject, P.CreateProjectRequest(name=family), "ZWJ family as project name").project
    else:
        got = ok(api.alice.images.UploadImages, I.UploadImagesRequest(
            project_id=project.id, images=[upload_of("image/png", 7, name=family)]), "ZWJ family as image name").images[0]
    assert got.name == family, f"ZWJ name stored as {got.name!r}"
    problems = []
    if accepted:
        problems.append(f"{kind} names accepted with {', '.join(accepted)}")
    problems += wrong
    if unexplained:
        problems.append("messages that do not say what is refused: " + " | ".join(unexplained))
    assert not problems, "; ".join(problems)


def test_multibyte_name_within_limits_is_accepted(api):
    """200 × 'é' (200 characters, 400 bytes) is a valid project name (control for the byte limit)."""
    name = "\u00e9" * 200
    got = ok(api.alice.projects.CreateProject, P.CreateProjectRequest(name=name), "200 x é").project
    assert got.name == name


def test_viewer_sharing_as_owner_is_permission_denied(api):
    """Defect: ShareProject checked the role argument before the caller's permission, so a
    viewer asking to grant OWNER got INVALID_ARGUMENT (telling a non-owner about the argument
    rules). Fixed: a viewer gets PERMISSION_DENIED; the owner asking for OWNER still gets
    INVALID_ARGUMENT."""
    project = api.alice.create_project(uniq("share-owner"))
    api.alice.share(project.id, api.bob, VIEWER)
    expect_error(Code.PERMISSION_DENIED, api.bob.projects.ShareProject,
                 P.ShareProjectRequest(project_id=project.id, user_name="carol", role=OWNER), "viewer shares as OWNER")
    expect_error(Code.INVALID_ARGUMENT, api.alice.projects.ShareProject,
                 P.ShareProjectRequest(project_id=project.id, user_name="carol", role=OWNER), "owner shares as OWNER")
    members = ok(api.alice.projects.ListShares, P.ListSharesRequest(project_id=project.id)).members
    assert [m.user.user_name for m in members] == ["alice", "bob"], members


# =============================================================================================
# 4. Memory bound across connections; stalls; connection limit; keepalive timeout

STREAMS_PER_CONN = 60
CONNS = 8
ANNOUNCED = 60 * MiB
PER_STREAM = 2_400_000  # bytes of each announced message actually sent
SERVER_BUDGET = 256 * MiB


def test_request_memory_is_bounded_across_connections(own_server):
    """Defect: the request-byte budget was per connection (128 MiB), so 8 connections × 60
    streams, each announcing a 60 MiB message and sending 2.4 MB of it, made the server hold
    ~1 GB. Fixed: a server-wide budget (--max-buffered-request-bytes, default 256 MiB):
    RSS during the stall ≤ baseline + 256 + 128 MiB, streams past the budget end
    RESOURCE_EXHAUSTED, the server keeps serving, and RSS returns to ≤ baseline + 64 MiB within
    15 s of the clients closing."""
    srv = own_server
    srv.assert_serving("warm-up")
    resp = raw_call(srv, UNARY, OK_BODY)
    assert resp.grpc_status == 0, resp.describe()
    baseline = srv.rss_bytes()

    clients = [H2Client((HOST, srv.port)) for _ in range(CONNS)]
    try:
        for c in clients:
            c.conn.increment_flow_control_window(2**31 - 1 - 65535)  # our receive side: irrelevant
            c.flush()
        prefix = bytes([0]) + ANNOUNCED.to_bytes(4, "big")
        chunk = bytes(16384)
        sent: dict[tuple[int, int], int] = {}
        sids = []
        for ci, c in enumerate(clients):
            ids = [c.send_request(UNARY, b"", end_stream=False) for _ in range(STREAMS_PER_CONN)]
            sids.append(ids)
            for sid in ids:
                sent[(ci, sid)] = 0
        stopped: set[tuple[int, int]] = set()
        samples = [srv.rss_bytes()]
        checked_midway = False
        stalled_since = None
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline:
            progressed = False
            for ci, c in enumerate(clients):
                if c.closed or c.goaway is not None:
                    continue
                for sid in sids[ci]:
                    if c.streams[sid].done or (ci, sid) in stopped:
                        continue
                    try:
                        while sent[(ci, sid)] < PER_STREAM:
                            window = min(c.conn.local_flow_control_window(sid), c.conn.max_outbound_frame_size)
                            if window <= 0:
                                break
                            head = prefix if sent[(ci, sid)] == 0 else b""
                            payload = (head + chunk)[:min(window, PER_STREAM - sent[(ci, sid)])]
                            c.conn.send_data(sid, payload)
                            sent[(ci, sid)] += len(payload)
                            progressed = True
                    except h2.exceptions.StreamClosedError:
                        stopped.add((ci, sid))  # closed under us: stop sending
                c.sock.settimeout(10)  # pump() leaves a short timeout on the socket
                c.flush_quietly()
            samples.append(srv.rss_bytes())
            if not checked_midway and sum(sent.values()) >= 200 * MiB:
                checked_midway = True
                srv.assert_serving(f"{sum(sent.values()) / MiB:.0f} MiB of unfinished requests sent")
            pending = [k for k, v in sent.items() if v < PER_STREAM and k not in stopped
                       and not clients[k[0]].streams[k[1]].done and not clients[k[0]].closed]
            if not pending:
                break
            if progressed:
                stalled_since = None
            else:
                stalled_since = stalled_since or time.monotonic()
                if time.monotonic() - stalled_since > 1.0:
                    break  # every open window stayed closed for a second: the server holds back
            pump_all(clients, 0.001 if progressed else 0.05)
        total_sent = sum(sent.values())
        # The stall: the server holds what it took; it must still serve a new client.
        srv.assert_serving(f"{total_sent / MiB:.0f} MiB of unfinished requests held")
        end = time.monotonic() + 2.0
        while time.monotonic() < end:
            pump_all(clients, 0.05)
            samples.append(srv.rss_bytes())
        srv.assert_serving("the stall")
        exhausted = sum(1 for ci, c in enumerate(clients) for sid in sids[ci] if c.streams[sid].grpc_status == RESOURCE_EXHAUSTED)
        peak = max(samples) - baseline
    finally:
        for c in clients:
            c.close()
    after = None
    end = time.monotonic() + 15
    while time.monotonic() < end:
        after = srv.rss_bytes() - baseline
        if after <= 64 * MiB:
            break
        time.sleep(0.1)  # polling RSS: no event announces memory returned to the OS
    problems = []
    if peak > SERVER_BUDGET + 128 * MiB:
        problems.append(f"RSS peaked {peak / MiB:.0f} MiB above baseline during the stall "
                        f"(bound {(SERVER_BUDGET + 128 * MiB) // MiB} MiB; client sent {total_sent / MiB:.0f} MiB)")
    if exhausted == 0:
        problems.append(f"no stream ended RESOURCE_EXHAUSTED (of {CONNS * STREAMS_PER_CONN})")
    if after is None or after > 64 * MiB:
        problems.append(f"RSS still {after / MiB:.0f} MiB above baseline 15 s after the clients closed (bound 64 MiB)")
    assert not problems, "; ".join(problems)
    srv.assert_serving("clients with partial requests went away")


def test_stalled_request_is_cancelled(start_server, peers):
    """Defect: a request message left incomplete was held forever (with its bytes).
    Fixed: --request-stall-timeout SECONDS; a call whose incomplete message gets no bytes for
    that long ends CANCELLED; one that keeps trickling bytes is not cut and completes."""
    srv = start_server("--request-stall-timeout", "2")
    p = peers(srv)
    body = unary_request(response_size=10, payload_size=1000).SerializeToString()
    frame = grpc_frame(body)
    t0 = time.monotonic()
    stalled = p.send_request(UNARY, grpc_frame(bytes(10), length=1000), end_stream=False)
    trickle = p.send_request(UNARY, frame[:15], end_stream=False)
    stalled_done_at = None
    sent = 15
    for _ in range(8):  # one byte every 0.5 s for 4 s
        tick = time.monotonic() + 0.5
        while time.monotonic() < tick:
            p.pump(max(0.001, tick - time.monotonic()))
            if stalled_done_at is None and p.streams[stalled].done:
                stalled_done_at = time.monotonic() - t0
        assert not p.streams[trickle].done, (
            f"the trickling call was cut after {time.monotonic() - t0:.1f} s: {p.streams[trickle].describe()}")
        p.send_data(trickle, frame[sent:sent + 1])
        sent += 1
    p.send_data(trickle, frame[sent:], end_stream=True)
    resp = p.response(trickle, timeout=5)
    assert resp.grpc_status == 0, f"trickling call: want grpc-status 0: {resp.describe()}"
    assert len(resp.messages) == 1, resp.describe()
    if stalled_done_at is None:
        assert p.wait_until(lambda: p.streams[stalled].done, max(0.0, t0 + 6 - time.monotonic())), (
            f"stalled call not ended within 6 s: {p.streams[stalled].describe()}")
        stalled_done_at = time.monotonic() - t0
    st = p.streams[stalled]
    assert st.grpc_status == CANCELLED, f"stalled call: want grpc-status 1 (CANCELLED): {st.describe()}"
    assert stalled_done_at <= 6.0, f"stalled call ended only after {stalled_done_at:.1f} s"
    srv.assert_serving("a stalled request")


def _raw_empty_call(srv, peers) -> Peer:
    p = peers(srv)
    resp = p.response(p.send_request(EMPTY, EMPTY_BODY), timeout=5)
    assert resp.grpc_status == 0, f"EmptyCall on a raw connection: {resp.describe()}"
    return p


def test_connection_limit(start_server, peers):
    """Defect: connections were unlimited (a peer could take every descriptor). Fixed:
    --max-connections N; past it a new connection is closed at once and the server logs
    "connection limit"; once one closes, new connections are served again."""
    srv = start_server("--max-connections", "4")
    held = [_raw_empty_call(srv, peers) for _ in range(4)]
    log_start = len(srv.log_lines())
    fifth = socket.create_connection((HOST, srv.port), timeout=5)
    try:
        try:
            fifth.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes.fromhex("000000040000000000"))  # preface + SETTINGS
        except OSError:
            pass  # already closed by the server
        assert drain_to_eof(fifth, 5), "the 5th connection was not closed by the server within 5 s"
    finally:
        fifth.close()
    line = srv.wait_for_log(lambda l: "connection limit" in l, timeout=5, start=log_start)
    assert line, f"no 'connection limit' line on stderr; last lines:\n{srv.log_text()}"
    resp = held[1].response(held[1].send_request(EMPTY, EMPTY_BODY), timeout=5)
    assert resp.grpc_status == 0, f"a held connection no longer served after the 5th was refused: {resp.describe()}"
    held[0].close()
    # The server learns of the close asynchronously: retry until a new connection is served.
    deadline = time.monotonic() + 5
    while True:
        try:
            _raw_empty_call(srv, peers)
            break
        except (AssertionError, OSError) as err:
            if time.monotonic() > deadline:
                raise AssertionError(f"no new connection served within 5 s after one of 4 closed: {err}") from None
            time.sleep(0.05)


def test_unanswered_keepalive_closes_connection(start_server, peers):
    """Defect: a keepalive PING that went unanswered changed nothing: a peer that stopped
    reading kept its connection (and the server's resources) forever. Fixed:
    --keepalive-timeout SECONDS; with --keepalive 1 --keepalive-timeout 1 a peer that answers
    nothing after the SETTINGS exchange is closed within ~5 s."""
    srv = start_server("--keepalive", "1", "--keepalive-timeout", "1")
    p = peers(srv)
    assert p.wait_until(lambda: p.got_settings, 5), "no SETTINGS from the server"
    p.sync()  # our SETTINGS ACK has gone out and been taken; from here on we never read or write
    t0 = time.monotonic()
    state = tcp_state(p.sock)
    while state not in (7, 8) and time.monotonic() - t0 < 6:  # CLOSE, CLOSE_WAIT: the server closed
        time.sleep(0.05)  # watching the TCP state without reading (reading could let h2 answer a PING)
        state = tcp_state(p.sock)
    elapsed = time.monotonic() - t0
    assert drain_to_eof(p.sock, 1), f"the silent connection is still open after {elapsed:.1f} s (tcp state {state})"
    assert elapsed <= 6, f"closed only after {elapsed:.1f} s"
    srv.assert_serving("closing a connection whose PING went unanswered")
