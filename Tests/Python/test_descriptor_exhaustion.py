"""Out of file descriptors: accept4 fails with EMFILE. The server must neither spin on its
listen queue nor stop serving for good: it pauses accepting, logs it, and serves again once
descriptors are free."""
import os
import socket
import time

import pytest

from conftest import HOST, REPO, Server


@pytest.mark.cellhubd_only(reason="sets cellhubd's own descriptor limit")
def test_emfile_pauses_accepting_then_recovers(tmp_path, monkeypatch):
    binary = os.environ.get("CELLHUB_CELLHUBD", str(REPO / ".build/release/cellhubd"))
    monkeypatch.setenv("CELLHUB_SERVER_CMD", f"prlimit --nofile=48:48 {binary}")
    srv = Server(tmp_path / "data")
    try:
        sockets = []
        for _ in range(80):  # more than the server can hold open
            s = socket.create_connection((HOST, srv.port), timeout=5)
            sockets.append(s)
        cpu0 = srv.cpu_seconds()
        time.sleep(1.0)  # observation window: an accept loop spinning on EMFILE would burn it
        burned = srv.cpu_seconds() - cpu0
        assert burned < 0.3, f"the server burned {burned:.2f} s CPU in 1 s while out of descriptors"
        assert srv.wait_for_log(lambda line: "accept failed" in line, timeout=5), "EMFILE was not logged"
        for s in sockets:
            s.close()
        srv.assert_serving("descriptors freed after EMFILE")
    finally:
        srv.kill()
