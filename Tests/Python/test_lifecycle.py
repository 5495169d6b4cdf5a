"""Start-up line and graceful shutdown: SIGTERM/SIGINT drain in-flight calls, then exit 0."""
import signal
import time

import grpc
import pytest

from conftest import make_channel, streaming_request
from grpc_testing import test_pb2_grpc


@pytest.mark.skip_on_grpc_go(reason="the reference binary has no signal handler (dies of the signal)")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_idle_server_exits_zero_on_signal(own_server, sig):
    own_server.assert_serving()
    start = time.monotonic()
    code = own_server.stop(sig, timeout=10)
    assert code == 0, f"exit status {code} after {sig.name} (None: still running after 10 s); stderr:\n{own_server.log_text()}"
    assert time.monotonic() - start < 5, "an idle server should stop within 5 s"


@pytest.mark.skip_on_grpc_go(reason="the reference binary has no signal handler (dies of the signal)")
def test_sigterm_drains_in_flight_stream(own_server):
    with make_channel(own_server) as channel:
        call = test_pb2_grpc.TestServiceStub(channel).StreamingOutputCall(
            streaming_request([100, 200, 300], interval_us=300_000), timeout=30)
        sizes = [len(next(call).payload.body)]
        own_server.proc.send_signal(signal.SIGTERM)
        sizes += [len(r.payload.body) for r in call]
        assert sizes == [100, 200, 300], f"in-flight stream cut short by SIGTERM: got sizes {sizes}"
        assert call.code() == grpc.StatusCode.OK, f"{call.code()} {call.details()}"
    try:
        code = own_server.proc.wait(timeout=10)
    except Exception:
        pytest.fail("server still running 10 s after SIGTERM with no calls left")
    assert code == 0, f"exit status {code} after SIGTERM; stderr:\n{own_server.log_text()}"


@pytest.mark.skip_on_grpc_go(reason="cellhubd's loop count and its start-up log")
@pytest.mark.parametrize("cpus", ["0", "all"])
def test_default_loops_follow_the_affinity_mask(tmp_path, cpus):
    """Without --loops, one event loop per CPU the process may use (taskset narrows it), and
    the start-up log says why."""
    import os
    import shutil
    import subprocess
    from conftest import server_command

    online = os.cpu_count()
    taskset = shutil.which("taskset")
    if taskset is None:
        pytest.skip("taskset (util-linux) is needed")
    prefix = [taskset, "-c", "0"] if cpus == "0" else []
    cmd = prefix + server_command(tmp_path)
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        serving = None
        deadline = time.monotonic() + 20
        for line in proc.stderr:
            if " serving" in line:
                serving = line
                break
            assert time.monotonic() < deadline, "no 'serving' line within 20 s"
        assert serving is not None, "cellhubd exited before serving"
        allowed = 1 if cpus == "0" else len(os.sched_getaffinity(0))
        loops = int(serving.split("loops=")[1].split(" ")[0])
        if loops < allowed:  # a cgroup CPU quota below the affinity mask binds instead
            assert "cgroup CPU quota" in serving, serving
        assert 1 <= loops <= allowed, serving
        if cpus == "0":
            assert loops == 1, serving
            if online > 1:
                assert f"affinity mask allows 1 of {online} CPUs" in serving, serving
    finally:
        proc.terminate()
        proc.wait(timeout=15)
