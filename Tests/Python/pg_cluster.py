"""A temporary PostgreSQL 15 cluster for end-to-end tests of `cellhubd serve --database`.

`TemporaryCluster()` runs initdb in a fresh temporary directory (trust authentication), then
`postgres` itself as a child — stdin from /dev/null, output to a log file, never a pipe (a
daemon holding an inherited pipe keeps its reader waiting; `pg_ctl start` through pipes hung
that way) — on a Unix socket only, with fsync off (tests only). PostgreSQL refuses to run as
root, so as root both run as the `postgres` user through `runuser`. `stop()` shuts it down
(SIGINT: fast shutdown) and removes the directory. A cluster that does not start raises with
its log. `CELLHUB_TEST_POSTGRES` (a libpq URI) names an existing server to use instead.
"""
from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.parse
import uuid
from pathlib import Path

BINARIES = Path("/usr/lib/postgresql/15/bin")
START_TIMEOUT = 15.0


class ClusterError(AssertionError):
    pass


class TemporaryCluster:
    def __init__(self, durable: bool = False):
        """`durable`: fsync and synchronous commits on (benchmarks); off by default (tests)."""
        self.external = os.environ.get("CELLHUB_TEST_POSTGRES") or None
        self.proc: subprocess.Popen | None = None
        self.directory: Path | None = None
        if self.external:
            return
        self.directory = Path(tempfile.mkdtemp(prefix="cellhub-pg-"))
        self.data = self.directory / "data"
        self.socket = self.directory / "sock"
        self.log_path = self.directory / "server.log"
        self.socket.mkdir()
        self.log_path.touch()
        as_root = os.geteuid() == 0
        if as_root:
            account = pwd.getpwnam("postgres")
            for path in (self.directory, self.socket, self.log_path):
                os.chown(path, account.pw_uid, account.pw_gid)

        def command(*args: str) -> list[str]:
            return ["runuser", "-u", "postgres", "--", *args] if as_root else list(args)

        with open(self.log_path, "ab") as log:
            initdb = subprocess.run(
                command(str(BINARIES / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                        "--no-sync", "--no-instructions"),
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=self.directory, timeout=120)
            if initdb.returncode != 0:
                self._fail(f"initdb exited with {initdb.returncode}")
            self.proc = subprocess.Popen(
                command(str(BINARIES / "postgres"), "-D", str(self.data), "-k", str(self.socket), "-c", "listen_addresses=",
                        *([] if durable else ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"])),
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=self.directory, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._fail(f"postgres exited with {self.proc.returncode}")
            if self._psql("postgres", "SELECT 1", check=False).returncode == 0:
                return
            time.sleep(0.05)
        self._fail(f"no connection within {START_TIMEOUT} s")

    def _fail(self, what: str):
        log = self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""
        self.stop()
        raise ClusterError(f"cannot start a temporary PostgreSQL: {what}\nserver log:\n{log}")

    def url(self, database: str) -> str:
        """A libpq URI of `database` on this server."""
        if self.external:
            parts = urllib.parse.urlsplit(self.external)
            return urllib.parse.urlunsplit(parts._replace(path="/" + database))
        return f"postgresql://postgres@/{database}?host={self.socket}"

    def _psql(self, database: str, sql: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([str(BINARIES / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", self.url(database),
                                 "-c", sql], capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
        if check and result.returncode != 0:
            raise ClusterError(f"psql {sql!r} failed: {result.stderr}")
        return result

    def sql(self, database: str, statement: str) -> str:
        """Runs one statement in `database` and returns psql's unaligned output."""
        return self._psql(database, statement).stdout.strip()

    def create_database(self, prefix: str = "cellhub") -> str:
        """A fresh, empty database; returns its name (`url(name)` is its URI)."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        self.sql("postgres", f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8'")
        return name

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            # The postmaster itself (runuser may not forward the signal), then the child.
            pid_file = self.data / "postmaster.pid"
            try:
                os.kill(int(pid_file.read_text().split()[0]), signal.SIGINT)
            except (OSError, ValueError, IndexError):
                pass
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None
