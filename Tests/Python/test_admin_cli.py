"""cellhubd's admin commands and data directory: `users add|list|revoke`, `check`, and what
`serve` does with the data directory (store, first admin, admin.token).

Runs the cellhubd binary (CELLHUB_CELLHUBD, default <repo>/.build/release/cellhubd) on
temporary data directories; servers listen on port 0 and are stopped with SIGTERM.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import re
import selectors
import signal
import sqlite3
import stat
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import IS_GRPC_GO, REPO

pytestmark = pytest.mark.skipif(IS_GRPC_GO, reason="cellhubd's own admin commands (no grpc-go equivalent)")

BINARY = Path(os.environ.get("CELLHUB_CELLHUBD", REPO / ".build/release/cellhubd"))
TOKEN = re.compile(r"chub_[0-9a-f]{64}")
ISO_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
TIMEOUT = 30


def cellhubd(*args: str, data_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    assert BINARY.is_file(), f"cellhubd not found at {BINARY}: build it (swift build -c release) or set CELLHUB_CELLHUBD"
    extra = ["--data-dir", str(data_dir)] if data_dir is not None else []
    return subprocess.run([str(BINARY), *args, *extra], capture_output=True, text=True, timeout=TIMEOUT,
                          stdin=subprocess.DEVNULL)


def assert_one_line_error(result: subprocess.CompletedProcess[str], code: int, *needles: str) -> None:
    assert result.returncode == code, f"exit {result.returncode}, wanted {code}; stderr: {result.stderr!r}"
    lines = result.stderr.splitlines()
    assert len(lines) == 1, f"want exactly one line on stderr, got {result.stderr!r}"
    assert "error" in lines[0].lower(), lines[0]
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
    assert "Fatal error" not in result.stderr and "Stack dump" not in result.stderr


def add_user(data_dir: Path, name: str, *flags: str) -> str:
    result = cellhubd("users", "add", name, *flags, data_dir=data_dir)
    assert result.returncode == 0, f"users add {name}: exit {result.returncode}; stderr: {result.stderr!r}"
    lines = result.stdout.splitlines()
    assert len(lines) == 1, f"users add should print exactly the token on stdout, got {result.stdout!r}"
    assert TOKEN.fullmatch(lines[0]), f"not a well-formed token: {lines[0]!r}"
    return lines[0]


def list_users(data_dir: Path) -> dict[str, list[str]]:
    result = cellhubd("users", "list", data_dir=data_dir)
    assert result.returncode == 0, f"users list: exit {result.returncode}; stderr: {result.stderr!r}"
    assert "chub_" not in result.stdout + result.stderr, f"users list shows token material: {result.stdout!r}"
    rows = {}
    for line in result.stdout.splitlines():
        fields = line.split("\t")
        assert len(fields) in (5, 6), f"unexpected list line {line!r}"
        rows[fields[0]] = fields
    return rows


def sha256(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


@contextlib.contextmanager
def connect(data_dir: Path) -> Iterator[sqlite3.Connection]:
    """The store's database, opened directly (autocommit), closed afterwards."""
    path = data_dir / "cellhub.sqlite"
    assert path.is_file(), f"no database at {path}"
    db = sqlite3.connect(path, isolation_level=None)
    try:
        yield db
    finally:
        db.close()


# ---------------------------------------------------------------------------------------------
# users add / list / revoke


def test_add_prints_token_once_and_list_hides_it(tmp_path):
    data = tmp_path / "data"
    result = cellhubd("users", "add", "alice", data_dir=data)
    assert result.returncode == 0, result.stderr
    assert TOKEN.fullmatch(result.stdout.rstrip("\n")) and result.stdout.count("\n") == 1, (
        f"stdout should be just the token on its own line, got {result.stdout!r}")
    token = result.stdout.strip()
    assert token not in result.stderr, "the token is printed once (stdout), not again on stderr"
    assert "alice" in result.stderr, f"stderr should carry a human note about the new user: {result.stderr!r}"

    rows = list_users(data)
    assert list(rows) == ["alice"]
    name, user_id, kind, created, state = rows["alice"]
    uuid.UUID(user_id)
    assert kind == "user" and state == "active"
    assert ISO_UTC.fullmatch(created), f"created time should be ISO-8601 UTC, got {created!r}"
    listing = cellhubd("users", "list", data_dir=data).stdout
    assert token[len("chub_"):] not in listing and sha256(token).hex() not in listing


def test_data_directory_is_created_private(tmp_path):
    data = tmp_path / "a" / "b" / "data"
    add_user(data, "alice")
    assert stat.S_IMODE(data.stat().st_mode) == 0o700, oct(data.stat().st_mode)
    assert (data / "cellhub.sqlite").is_file()


def test_database_holds_the_hash_not_the_token(tmp_path):
    data = tmp_path / "data"
    token = add_user(data, "alice")
    with connect(data) as db:
        hashes = [bytes(row[0]) for row in db.execute(
            "SELECT t.token_hash FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE u.name = 'alice'")]
        dump = "\n".join(db.iterdump())
    assert hashes == [sha256(token)], "api_tokens should hold exactly the token's SHA-256"
    assert token not in dump and token[len("chub_"):] not in dump, "the token itself is stored in the database"
    # Nor anywhere on disk (the WAL included).
    for path in data.iterdir():
        assert token.encode() not in path.read_bytes(), f"the token appears in {path.name}"


def test_duplicate_name_is_refused(tmp_path):
    data = tmp_path / "data"
    add_user(data, "alice")
    result = cellhubd("users", "add", "alice", data_dir=data)
    assert_one_line_error(result, 1, "alice")
    assert result.stdout == "", "no token for a refused user"
    assert list(list_users(data)) == ["alice"]


@pytest.mark.parametrize("name", ["", "   ", "tab\there", "line\nbreak", "x" * 65], ids=["empty", "blank", "tab", "newline", "65-chars"])
def test_invalid_name_is_refused(tmp_path, name):
    data = tmp_path / "data"
    result = cellhubd("users", "add", name, data_dir=data)
    assert_one_line_error(result, 1, "user name")
    assert result.stdout == ""
    assert list_users(data) == {}


def test_name_of_64_characters_is_accepted(tmp_path):
    data = tmp_path / "data"
    add_user(data, "y" * 64)
    assert list(list_users(data)) == ["y" * 64]


def test_worker_flag_is_shown(tmp_path):
    data = tmp_path / "data"
    add_user(data, "alice")
    add_user(data, "segmenter-1", "--worker")
    rows = list_users(data)
    assert rows["alice"][2] == "user"
    assert rows["segmenter-1"][2] == "worker"


def test_revoke_marks_user_and_tokens_revoked(tmp_path):
    data = tmp_path / "data"
    token = add_user(data, "alice")
    add_user(data, "bob")
    result = cellhubd("users", "revoke", "alice", data_dir=data)
    assert result.returncode == 0, result.stderr
    rows = list_users(data)
    assert rows["alice"][4] == "revoked" and ISO_UTC.fullmatch(rows["alice"][5]), rows["alice"]
    assert rows["bob"][4] == "active"
    with connect(data) as db:
        revoked = db.execute("SELECT revoked_at_ms FROM api_tokens WHERE token_hash = ?", (sha256(token),)).fetchone()
    assert revoked is not None and revoked[0] is not None, "alice's token is not revoked in api_tokens"
    again = cellhubd("users", "revoke", "alice", data_dir=data)
    assert again.returncode == 0, f"revoking twice is not an error: {again.stderr!r}"


def test_revoke_unknown_user_is_refused(tmp_path):
    data = tmp_path / "data"
    add_user(data, "alice")
    result = cellhubd("users", "revoke", "mallory", data_dir=data)
    assert_one_line_error(result, 1, "mallory")
    assert list_users(data)["alice"][4] == "active"


def test_unusable_data_dir_is_an_environment_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    for args in (["users", "add", "alice"], ["users", "list"], ["check"]):
        result = cellhubd(*args, data_dir=blocker / "data")
        assert_one_line_error(result, 2, str(blocker / "data"))


# ---------------------------------------------------------------------------------------------
# check


def test_check_on_fresh_directory_is_ok(tmp_path):
    result = cellhubd("check", data_dir=tmp_path / "data")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok: 0 projects, 0 images, counters consistent, 0 image files\n"


def test_check_reports_corrupted_counter(tmp_path):
    data = tmp_path / "data"
    add_user(data, "alice")
    project_id = str(uuid.uuid4())
    # A project as the store writes one (no domain needed): row, owner membership, zero counters,
    # and the owner's per-user sums (one owned project, created in the first quarter hour).
    with connect(data) as db:
        (owner_id,) = db.execute("SELECT id FROM users WHERE name = 'alice'").fetchone()
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO projects (id, owner_id, name, name_folded, description, created_at_ms, updated_at_ms) "
                   "VALUES (?, ?, 'Cells', 'cells', '', 1, 1)", (project_id, owner_id))
        db.execute("INSERT INTO project_members (project_id, user_id, role, created_at_ms, role_changed_at_ms, granted_by) "
                   "VALUES (?, ?, 'owner', 1, 1, ?)", (project_id, owner_id, owner_id))
        db.execute("INSERT INTO project_counters (project_id, updated_at_ms, revision) VALUES (?, 1, 1)", (project_id,))
        db.execute("UPDATE user_counters SET projects_owned = 1 WHERE user_id = ?", (owner_id,))
        db.execute("INSERT INTO user_activity_counters (user_id, quarter_hour, projects_created) VALUES (?, 0, 1)", (owner_id,))
        db.execute("COMMIT")
    ok = cellhubd("check", data_dir=data)
    assert ok.returncode == 0, f"{ok.stdout!r} {ok.stderr!r}"
    assert ok.stdout == "ok: 1 projects, 0 images, counters consistent, 0 image files\n"

    # The schema's CHECK ties image_count to the sum of the status counts, so both move.
    with connect(data) as db:
        db.execute("UPDATE project_counters SET image_count = image_count + 1, no_segmentation = no_segmentation + 1 "
                   "WHERE project_id = ?", (project_id,))
    result = cellhubd("check", data_dir=data)
    assert_one_line_error(result, 1, "4 problems")
    lines = result.stdout.splitlines()
    # The owner's sums are recounted from the project's (now wrong) counters, so they differ too.
    assert sorted(lines) == sorted([
        f"inconsistent: project {project_id}: image_count is 1, recount gives 0",
        f"inconsistent: project {project_id}: no_segmentation is 1, recount gives 0",
        f"inconsistent: user {owner_id}: image_count is 0, recount gives 1",
        f"inconsistent: user {owner_id}: no_segmentation is 0, recount gives 1",
    ]), result.stdout
    assert "ok:" not in result.stdout


# ---------------------------------------------------------------------------------------------
# serve and the data directory


class Serving:
    """`cellhubd serve` on port 0: waits for its first stdout line; `stop` sends SIGTERM, waits
    for the exit and collects the rest of its output."""

    def __init__(self, data_dir: Path):
        self.proc = subprocess.Popen(
            [str(BINARY), "serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", str(data_dir)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        self.first_line = self._first_stdout_line()
        self.stdout = ""
        self.stderr = ""

    def _first_stdout_line(self) -> str:
        fd = self.proc.stdout.fileno()
        buffer = b""
        deadline = time.monotonic() + TIMEOUT
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in buffer:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    self.proc.kill()
                    raise AssertionError(f"no stdout line within {TIMEOUT}s; stderr: {self.proc.communicate()[1]!r}")
                chunk = os.read(fd, 4096)
                if not chunk:
                    _, err = self.proc.communicate(timeout=TIMEOUT)
                    raise AssertionError(f"exited ({self.proc.returncode}) before listening; stderr: {err!r}")
                buffer += chunk
        line, _, self._rest = buffer.partition(b"\n")
        return line.decode()

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=TIMEOUT)
        self.stdout = self._rest.decode() + out.decode()
        self.stderr = err.decode()
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=TIMEOUT)


def serve_once(data_dir: Path) -> Serving:
    server = Serving(data_dir)
    try:
        assert re.fullmatch(r"listening on 127\.0\.0\.1:\d+", server.first_line), server.first_line
        assert 0 < int(server.first_line.rsplit(":", 1)[1]) < 65536
        code = server.stop()
    finally:
        server.kill()
    assert code == 0, f"exit {code} after SIGTERM; stderr: {server.stderr!r}"
    return server


def test_first_serve_creates_admin_and_token_file(tmp_path):
    data = tmp_path / "data"
    server = serve_once(data)
    token_file = data / "admin.token"
    assert token_file.is_file(), f"no admin.token; stderr: {server.stderr!r}"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600, oct(token_file.stat().st_mode)
    assert stat.S_IMODE(data.stat().st_mode) == 0o700, oct(data.stat().st_mode)
    token = token_file.read_text().strip()
    assert TOKEN.fullmatch(token), f"admin.token does not hold a well-formed token: {token!r}"
    assert str(token_file) in server.stderr, f"stderr should say where the admin token was written: {server.stderr!r}"
    assert f"admin token: {token}" in server.stderr.splitlines(), server.stderr
    assert token not in server.stdout, "the token must not go to stdout"
    rows = list_users(data)
    assert list(rows) == ["admin"] and rows["admin"][2] == "user" and rows["admin"][4] == "active", rows
    with connect(data) as db:
        stored = [bytes(r[0]) for r in db.execute(
            "SELECT t.token_hash FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE u.name = 'admin'")]
    assert stored == [sha256(token)]


def test_second_serve_leaves_admin_token_alone(tmp_path):
    data = tmp_path / "data"
    serve_once(data)
    token_file = data / "admin.token"
    before = token_file.stat()
    content = token_file.read_bytes()
    second = serve_once(data)
    after = token_file.stat()
    assert token_file.read_bytes() == content
    assert (after.st_ino, after.st_mtime_ns, stat.S_IMODE(after.st_mode)) == (before.st_ino, before.st_mtime_ns, 0o600)
    assert "admin token" not in second.stderr, f"a later start announced an admin token: {second.stderr!r}"
    assert list(list_users(data)) == ["admin"]


def test_serve_after_users_add_creates_no_admin(tmp_path):
    data = tmp_path / "data"
    add_user(data, "alice")
    server = serve_once(data)
    assert not (data / "admin.token").exists()
    assert "admin token" not in server.stderr
    assert list(list_users(data)) == ["alice"]


def test_serve_with_unusable_data_dir_fails_with_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    data = blocker / "data"
    result = subprocess.run([str(BINARY), "serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", str(data)],
                            capture_output=True, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    assert result.returncode != 0
    assert "listening" not in result.stdout, "the server must not listen without its data directory"
    assert_one_line_error(result, 2, str(data))


def test_stale_admin_token_without_users_is_refused(tmp_path):
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    stale = data / "admin.token"
    stale.write_text("left over\n")
    result = subprocess.run([str(BINARY), "serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", str(data)],
                            capture_output=True, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    assert "listening" not in result.stdout
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and str(stale) in errors[0], result.stderr
    assert stale.read_text() == "left over\n", "an existing admin.token is never overwritten"
    assert list_users(data) == {}


def test_admin_commands_work_while_serving(tmp_path):
    data = tmp_path / "data"
    server = Serving(data)
    try:
        token = add_user(data, "alice", "--worker")
        assert list_users(data)["alice"][2] == "worker"
        assert cellhubd("users", "revoke", "alice", data_dir=data).returncode == 0
        assert cellhubd("check", data_dir=data).stdout == "ok: 0 projects, 0 images, counters consistent, 0 image files\n"
        assert server.proc.poll() is None, "the server died while the admin commands ran"
        assert server.stop() == 0, server.stderr
    finally:
        server.kill()
    assert list_users(data)["alice"][4] == "revoked"
    assert TOKEN.fullmatch(token)


def test_check_matches_image_files_to_images(tmp_path):
    data = tmp_path / "data"
    add_user(data, "alice")
    assert cellhubd("check", data_dir=data).returncode == 0
    # A file nothing references (a crash between writing it and the commit) ...
    orphan = data / "blobs" / "ab" / ("c" * 62)
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"stray")
    # ... a blob row whose file is gone, and one whose file is shorter than recorded (what
    # must never happen).
    missing, damaged = "d" * 64, "e" * 64
    short = data / "blobs" / "ee" / ("e" * 62)
    short.parent.mkdir(parents=True)
    short.write_bytes(b"12345")
    with connect(data) as db:
        db.execute("INSERT INTO blobs (sha256, size_bytes, ref_count) VALUES (?, 10, 0)", (missing,))
        db.execute("INSERT INTO blobs (sha256, size_bytes, ref_count) VALUES (?, 10, 0)", (damaged,))
    result = cellhubd("check", data_dir=data)
    assert result.returncode == 1, result
    lines = result.stdout.splitlines()
    assert f"orphan file: ab/{'c' * 62}" in lines and f"missing file: {missing}" in lines, result.stdout
    assert f"damaged file: {damaged}" in lines, result.stdout
    assert "ok:" not in result.stdout


def test_check_removes_a_crashed_uploads_temporary_file_when_no_server_runs(tmp_path):
    """A SIGKILL in the middle of an upload leaves a `.tmp-*` file. With no server on the
    directory it can only be such a leftover: check removes it, says so, and reports no problem."""
    data = tmp_path / "data"
    add_user(data, "alice")
    leftover = data / "blobs" / "ab" / (".tmp-" + "c" * 62 + "-" + str(uuid.uuid4()))
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"half an image")
    result = cellhubd("check", data_dir=data)
    assert result.returncode == 0, result
    assert result.stdout.splitlines() == [
        f"removed temporary file: ab/{leftover.name}",
        "ok: 0 projects, 0 images, counters consistent, 0 image files"], result.stdout
    assert not leftover.exists()


def test_check_lists_temporary_files_as_uploads_in_progress_while_serving(tmp_path):
    """While a server holds the directory, a temporary file may be an upload being written:
    check lists it as such, leaves it alone, and finds no problem in it."""
    data = tmp_path / "data"
    server = Serving(data)
    try:
        in_progress = data / "blobs" / "ab" / (".tmp-" + "c" * 62 + "-" + str(uuid.uuid4()))
        in_progress.parent.mkdir(parents=True, exist_ok=True)
        in_progress.write_bytes(b"being written")
        result = cellhubd("check", data_dir=data)
        assert result.returncode == 0, result
        assert result.stdout.splitlines()[0] == f"upload in progress: ab/{in_progress.name}", result.stdout
        assert result.stdout.splitlines()[-1].startswith("ok:"), result.stdout
        assert in_progress.exists()
        assert server.stop() == 0, server.stderr
    finally:
        server.kill()


def test_a_second_serve_on_the_same_directory_is_refused(tmp_path):
    data = tmp_path / "data"
    server = Serving(data)
    try:
        second = subprocess.run([str(BINARY), "serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", str(data)],
                                capture_output=True, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
        assert "listening" not in second.stdout
        assert_one_line_error(second, 2, "another cellhubd serves", str(data))
        assert server.proc.poll() is None
        assert server.stop() == 0, server.stderr
    finally:
        server.kill()
