"""The grpc-go interop client (Tests/Go/interop-client, Debian's grpc-go 1.33) runs every
interop case it knows against `cellhubd serve --interop`, in plaintext and over TLS with a CA
made in the test run (tls_pki.py). The client prints one `PASS name` / `FAIL name: reason`
line per case; each line is part of the assertion message."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from conftest import REPO, Server
from tls_pki import Pki, make_pki

pytestmark = pytest.mark.cellhubd_only(reason="the grpc-go reference implements neither FullDuplexCall, "
                                              "StreamingInputCall nor compression checks")

CASES = [
    "empty_unary", "large_unary", "client_streaming", "server_streaming", "ping_pong", "empty_stream",
    "custom_metadata", "status_code_and_message", "special_status_message", "unimplemented_method",
    "unimplemented_service", "cancel_after_begin", "cancel_after_first_response", "timeout_on_sleeping_server",
    "client_compressed_unary", "client_compressed_streaming", "server_compressed_unary", "server_compressed_streaming",
]
BUILD = REPO / "Tests/Go/interop-client/build.sh"


@pytest.fixture(scope="session")
def go_client(tmp_path_factory) -> str:
    if shutil.which("go") is None:
        pytest.skip("`go` is not installed (Debian golang-go); the grpc-go interop client cannot be built")
    done = subprocess.run(["bash", str(BUILD), str(tmp_path_factory.mktemp("go-interop"))],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"{BUILD} failed ({done.returncode}):\n{done.stderr}"
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def run_client(go_client: str, srv: Server, *args: str) -> None:
    done = subprocess.run([go_client, "-addr", srv.address, *args], capture_output=True, text=True, timeout=300)
    lines = done.stdout.splitlines()
    report = "\n".join(lines) + (f"\nstderr:\n{done.stderr}" if done.stderr else "")
    passed = [line.removeprefix("PASS ") for line in lines if line.startswith("PASS ")]
    assert done.returncode == 0 and passed == CASES and len(lines) == len(CASES), (
        f"grpc-go interop client exited {done.returncode}; want every case PASS:\n{report}\n"
        f"server log:\n{srv.log_text()}")


def test_plaintext(go_client, tmp_path):
    srv = Server(tmp_path / "data")
    try:
        run_client(go_client, srv)
    finally:
        srv.stop()


def test_tls(go_client, pki, tmp_path):
    srv = Server(tmp_path / "data", ["--tls-cert", str(pki.pem("server-chain")), "--tls-key", str(pki.key("server"))])
    try:
        # The server certificate's SAN is IP:127.0.0.1 and DNS:localhost; verify by name.
        run_client(go_client, srv, "-tls", "-ca", str(pki.pem("root")), "-server-name", "localhost")
    finally:
        srv.stop()
