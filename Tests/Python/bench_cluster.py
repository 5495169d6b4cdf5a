"""Issue 15's benchmark: durable writes and real-time delivery of a CellHub cluster, in one run.

    Tests/Scripts/bench-cluster.sh [--no-build] [options]   (builds, then runs this file)

Phases, each on fresh servers (cluster_support: a temporary PostgreSQL 15 with fsync and
synchronous_commit on, N `cellhubd serve --workers 0` nodes on one blob directory):

  SQLite, one node        writes (1 and 8 clients)
  PostgreSQL, one node    writes, with PostgreSQL's wait events sampled during the busiest run
  PostgreSQL, 3 nodes     writes (writer c on node c mod 3, directly: no nginx), wait events;
                          delivery to one subscriber on node 0, uploads via node 0 and node 1
                          interleaved; fan-out of one upload to 10,000 subscribers on node 0
                          alone, then spread over the three nodes (rounds alternate); the
                          ceiling: pgbench transactions of the write path's shape on the same
                          PostgreSQL, and the image files' fsyncs timed on the same disk.

The clients are cellhub-stream-bench (Swift, nghttp2): `writes`, `delivery`, `fanout
--targets`. Every figure is from this run; the summary table is printed at the end.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from cluster_support import HOST, REPO, LocalCluster, Node, cellhubd_binary  # noqa: E402
from pg_cluster import BINARIES  # noqa: E402

BENCH = Path(os.environ.get("CELLHUB_STREAM_BENCH") or REPO / ".build/release/cellhub-stream-bench")
NODE_ARGS = ["--workers", "0"]


def log(text: str) -> None:
    print(f"bench-cluster: {text}", file=sys.stderr, flush=True)


def command_line(mode: str, address: str, args: list[str] | tuple[str, ...]) -> str:
    """The client's command as the first line of its log (the token left out)."""
    shown = list(args)
    if "--token" in shown:
        shown[shown.index("--token") + 1] = "$TOKEN"
    return f"$ {BENCH} {mode} {address} {' '.join(shown)}\n"


class Run:
    """The run's directory, its client invocations and their `result KEY VALUE` lines."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.logs = directory / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.failures: list[str] = []

    def bench(self, label: str, mode: str, address: str, *args: str, timeout: float = 600) -> dict[str, float]:
        """Runs `cellhub-stream-bench MODE ADDRESS ARGS…`; progress to stderr, output kept in
        logs/LABEL.txt; returns its results. A failed client fails the run."""
        out = self.logs / f"{label}.txt"
        with open(out, "w") as sink:
            sink.write(command_line(mode, address, args))
            sink.flush()
            proc = subprocess.run([str(BENCH), mode, address, *args], stdout=sink, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, timeout=timeout)
        return self.finished(label, mode, out, proc.returncode)

    @staticmethod
    def finished(label: str, mode: str, out: Path, returncode: int) -> dict[str, float]:
        """A client run that ended, its output in `out`: its progress echoed to stderr, a failure
        raised, its `result KEY VALUE` lines returned."""
        text = out.read_text(errors="replace")
        for line in text.splitlines()[1:]:
            if not line.startswith("result "):
                print(f"  {line}", file=sys.stderr, flush=True)
        if returncode != 0:
            raise RuntimeError(f"{label}: cellhub-stream-bench {mode} exited with {returncode}; see {out}")
        results = {}
        for line in text.splitlines():
            if line.startswith("result "):
                _, key, value = line.split()
                results[key] = float(value)
        return results

    def check_zero(self, label: str, results: dict[str, float], *keys: str) -> None:
        for key in keys:
            if results.get(key, 0) != 0:
                self.failures.append(f"{label}: {key} = {results[key]:g} (see {self.logs}/{label}.txt)")


# --- servers ----------------------------------------------------------------------------------

def sqlite_node(directory: Path) -> tuple[Node, str]:
    """A lone node on SQLite (fsync per commit: the server's default) and a user's token."""
    data = directory / "sqlite-node"
    data.mkdir(parents=True)
    added = subprocess.run([str(cellhubd_binary()), "users", "add", "bench", "--data-dir", str(data)],
                           capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    if added.returncode != 0:
        raise RuntimeError(f"users add: {added.stderr}")
    return Node(0, cellhubd_binary(), None, None, data, NODE_ARGS), added.stdout.strip()


def postgres_cluster(nodes: int, directory: Path) -> tuple[LocalCluster, str]:
    cluster = LocalCluster(nodes=nodes, node_args=NODE_ARGS, durable=True,
                           directory=Path(tempfile.mkdtemp(prefix=f"pg-{nodes}-", dir=directory)))
    return cluster, cluster.add_user("bench")


def setup_projects(run: Run, label: str, address: str, token: str, count: int) -> Path:
    """`count` projects of the user; their ids in a file, one a line."""
    out = subprocess.run([str(BENCH), "setup", address, "--token", token, "--projects", str(count), "--prefix", label],
                         capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    if out.returncode != 0:
        raise RuntimeError(f"setup {label}: {out.stderr}")
    path = run.directory / f"{label}.projects"
    path.write_text(out.stdout)
    return path


# --- what PostgreSQL's writers wait on ---------------------------------------------------------

# One server-side loop, so that sampling costs no round trip per sample: every 2 ms, each
# client backend of the database (but the sampler) in a transaction is put in one class.
# A write transaction takes the log_head row with its first statement (SELECT … FOR UPDATE),
# which also gives it a transaction id: a backend with an xid that waits on no lock holds the
# row; reads (REPEATABLE READ, READ ONLY) never get an xid.
WAIT_SAMPLER = """
CREATE OR REPLACE FUNCTION bench_waits(db text, seconds float8)
RETURNS TABLE(what text, per_sample float8) LANGUAGE plpgsql AS $$
DECLARE
    samples int := 0;
    deadline timestamptz := clock_timestamp() + make_interval(secs => seconds);
BEGIN
    CREATE TEMP TABLE IF NOT EXISTS bench_seen (what text);
    TRUNCATE bench_seen;
    WHILE clock_timestamp() < deadline LOOP
        PERFORM pg_stat_clear_snapshot();
        INSERT INTO bench_seen
        SELECT CASE
            WHEN wait_event_type = 'Lock' THEN 'waiting for a lock (' || wait_event || ')'
            WHEN backend_xid IS NULL THEN 'reading, or a write before its first statement'
            WHEN state = 'idle in transaction' OR wait_event = 'ClientRead' THEN 'holding the row: waiting for the node''s next statement'
            WHEN wait_event IN ('WALSync', 'WALWrite') OR wait_event LIKE 'WAL%' THEN 'holding the row: commit WAL flush (' || wait_event || ')'
            WHEN wait_event LIKE 'Notify%' THEN 'holding the row: NOTIFY queue (' || wait_event || ')'
            ELSE 'holding the row: executing (' || coalesce(wait_event_type || ':' || wait_event, 'CPU') || ')'
        END
        FROM pg_stat_activity
        WHERE datname = db AND backend_type = 'client backend' AND pid <> pg_backend_pid() AND state <> 'idle';
        INSERT INTO bench_seen
        SELECT 'the row is held (any holder)' FROM pg_stat_activity
        WHERE datname = db AND backend_type = 'client backend' AND backend_xid IS NOT NULL
          AND wait_event_type IS DISTINCT FROM 'Lock' AND state <> 'idle' LIMIT 1;
        samples := samples + 1;
        PERFORM pg_sleep(0.002);
    END LOOP;
    RETURN QUERY SELECT s.what, count(*)::float8 / samples FROM bench_seen s GROUP BY s.what
        UNION ALL SELECT 'samples', samples::float8;
END $$;
"""


def sampled_writes(run: Run, cluster: LocalCluster, label: str, address: str, args: list[str], seconds: float) \
        -> tuple[dict[str, float], dict[str, float]]:
    """A `writes` run with PostgreSQL's wait classes sampled over its middle."""
    cluster.postgres.sql("postgres", WAIT_SAMPLER)
    out = run.logs / f"{label}.txt"
    with open(out, "w") as sink:
        sink.write(command_line("writes", address, args))
        sink.flush()
        proc = subprocess.Popen([str(BENCH), "writes", address, *args], stdout=sink, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    try:
        time.sleep(1.5 + 0.1 * seconds)  # connections and each writer's warm-up call first
        rows = cluster.postgres.sql("postgres", f"SELECT * FROM bench_waits('{cluster.database_name}', {seconds * 0.6})")
        proc.wait(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
    waits = {}
    for row in rows.splitlines():
        what, value = row.rsplit("|", 1)
        waits[what] = float(value)
    return run.finished(label, "writes", out, proc.returncode), waits


FILES = {"new": "new, fsynced", "stored": "already stored"}


def write_rows(run: Run, store: str, tag: str, address: str, token: str, projects: Path, clients: list[int],
               write_args: list[str], writes: dict, waits: dict, cluster: LocalCluster | None = None) -> None:
    """`writes` runs of one store: new image files, then files already stored (--same-content:
    the database path alone), each with every client count; on PostgreSQL the busiest run of
    each is sampled (`sampled_writes`)."""
    for files in FILES:
        for c in clients:
            label = f"writes-{tag}-{files}-c{c}"
            common = ["--token", token, "--projects-file", str(projects), "--clients", str(c), *write_args,
                      *(["--same-content"] if files == "stored" else [])]
            if cluster is not None and c == max(clients):
                seconds = float(write_args[write_args.index("--seconds") + 1])
                r, waits[(store, files)] = sampled_writes(run, cluster, label, address, common, seconds)
            else:
                r = run.bench(label, "writes", address, *common)
            writes[(store, files, c)] = r
            run.check_zero(label, r, "writes_failures")


# --- the ceiling, in isolation ----------------------------------------------------------------

CEILING_SCHEMA = """
CREATE TABLE log_head (id integer PRIMARY KEY, revision bigint NOT NULL);
INSERT INTO log_head VALUES (1, 0);
CREATE TABLE blobs (sha256 text PRIMARY KEY, size_bytes bigint NOT NULL, ref_count bigint NOT NULL);
CREATE TABLE images (id text PRIMARY KEY, project_id text NOT NULL, name text NOT NULL, sha256 text NOT NULL,
                     size_bytes bigint NOT NULL, uploaded_at_ms bigint NOT NULL);
CREATE INDEX images_by_project ON images (project_id, uploaded_at_ms);
"""
LOCK = "SELECT revision FROM log_head WHERE id = 1 FOR UPDATE;\n"
BUMP_NOTIFY = "UPDATE log_head SET revision = revision + 1 WHERE id = 1 RETURNING revision, pg_notify('cellhub_log', '');\n"
BUMP = "UPDATE log_head SET revision = revision + 1 WHERE id = 1 RETURNING revision;\n"
INSERT_PAIR = ("INSERT INTO blobs VALUES (md5(random()::text), 4096, 1) "
               "ON CONFLICT (sha256) DO UPDATE SET ref_count = blobs.ref_count + 1;\n"
               "INSERT INTO images VALUES (gen_random_uuid()::text, 'p', 'n', md5(random()::text), 4096, 0);\n")


def insert_rows(images: int) -> str:
    """The same rows as `images` INSERT_PAIRs in two multi-row INSERTs: an upload's shape since
    SQLStore.uploadImages batches them (one statement per 50 rows there; one here)."""
    def rows(row: str) -> str:
        return ", ".join([row] * images)
    blob = "(md5(random()::text), 4096, 1)"
    image = "(gen_random_uuid()::text, 'p', 'n', md5(random()::text), 4096, 0)"
    return (f"INSERT INTO blobs VALUES {rows(blob)} "
            "ON CONFLICT (sha256) DO UPDATE SET ref_count = blobs.ref_count + excluded.ref_count;\n"
            f"INSERT INTO images VALUES {rows(image)};\n")


def pgbench(run: Run, cluster: LocalCluster, database: str, name: str, script: str, clients: int, seconds: float,
            synchronous: bool = True) -> tuple[float, float]:
    """pgbench with one custom script: (transactions/s, average latency ms)."""
    path = run.directory / f"{name}.sql"
    path.write_text(script)
    env = dict(os.environ, PGOPTIONS="" if synchronous else "-c synchronous_commit=off")
    proc = subprocess.run([str(BINARIES / "pgbench"), "-n", "-f", str(path), "-c", str(clients), "-j", str(min(clients, 2)),
                           "-T", str(int(seconds)), cluster.postgres.url(database)],
                          capture_output=True, text=True, timeout=seconds + 60, env=env, stdin=subprocess.DEVNULL)
    (run.logs / f"pgbench-{name}-c{clients}{'' if synchronous else '-async'}.txt").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise RuntimeError(f"pgbench {name}: {proc.stderr[-2000:]}")
    tps = float(re.search(r"tps = ([0-9.]+)", proc.stdout).group(1))
    latency = float(re.search(r"latency average = ([0-9.]+) ms", proc.stdout).group(1))
    return tps, latency


def blob_fsyncs(directory: Path, images: int, size: int, threads: int, rounds: int = 2) -> float:
    """Uploads' image files per second as BlobStore writes them: each file new, written,
    fsynced, renamed into its shard directory, the directory fsynced; `threads` uploads at
    a time (a node's blocking threads), each writing its `images` files one after another."""
    root = directory / "blob-timing"
    rates = []
    for r in range(rounds):
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)

        def upload(t: int) -> None:
            for i in range(images):
                shard = root / f"{(t * 7 + r * 31 + i) % 256:02x}"
                shard.mkdir(exist_ok=True)
                temporary = shard / f".tmp-{t}-{i}"
                fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                os.write(fd, os.urandom(size))
                os.fsync(fd)
                os.close(fd)
                os.rename(temporary, shard / f"{t}-{i}")
                dfd = os.open(shard, os.O_RDONLY)
                os.fsync(dfd)
                os.close(dfd)

        workers = [threading.Thread(target=upload, args=(t,)) for t in range(threads)]
        begin = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        rates.append(threads / (time.perf_counter() - begin))
    shutil.rmtree(root, ignore_errors=True)
    return statistics.median(rates)


def busy_seconds() -> float:
    """CPU time every process of the machine used since boot (/proc/stat: all but idle and iowait)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def own_seconds() -> float:
    """CPU time of this process and its reaped children: the servers, clients and pgbench of the run."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


# --- the run ----------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", default="1,8", help="concurrent writers per writes run (default 1,8)")
    parser.add_argument("--write-seconds", type=float, default=4, help="length of each writes run (default 4)")
    parser.add_argument("--images", type=int, default=100, help="images per UploadImages call (default 100)")
    parser.add_argument("--image-bytes", type=int, default=4096, help="bytes per image (default 4096)")
    parser.add_argument("--samples", type=int, default=200, help="delivery samples per path (default 200)")
    parser.add_argument("--spacing-ms", type=float, default=25, help="delivery: ms between upload starts (default 25)")
    parser.add_argument("--streams", type=int, default=10_000, help="fan-out subscribers (default 10000)")
    parser.add_argument("--connections", type=int, default=100, help="fan-out connections in all (default 100)")
    parser.add_argument("--fanout-rounds", type=int, default=2, help="fan-out runs per layout, alternating (default 2)")
    parser.add_argument("--pgbench-seconds", type=float, default=2, help="length of each pgbench run (default 2)")
    parser.add_argument("--pgbench-rounds", type=int, default=3, help="pgbench rounds, medians (default 3)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="logs and pgbench scripts (default: a new temporary directory); servers' files are removed")
    args = parser.parse_args()
    clients = [int(c) for c in args.clients.split(",")]
    busiest = max(clients)
    for binary in (cellhubd_binary(), BENCH):
        if not binary.is_file():
            raise SystemExit(f"{binary} is missing: swift build -c release --product cellhubd --product cellhub-stream-bench")
    directory = Path(args.workdir or tempfile.mkdtemp(prefix="cellhub-bench-cluster-"))
    directory.mkdir(parents=True, exist_ok=True)
    run = Run(directory)
    started = time.time()
    load_before = Path("/proc/loadavg").read_text().split()[:3]
    busy_before, own_before = busy_seconds(), own_seconds()
    write_args = ["--images", str(args.images), "--image-bytes", str(args.image_bytes), "--seconds", str(args.write_seconds)]
    writes: dict[tuple[str, str, int], dict[str, float]] = {}
    waits: dict[tuple[str, str], dict[str, float]] = {}

    # SQLite, one node.
    log("== SQLite, one node")
    node, token = sqlite_node(directory)
    try:
        projects = setup_projects(run, "sqlite", node.address, token, busiest)
        write_rows(run, "SQLite, one node", "sqlite", node.address, token, projects, clients, write_args, writes, waits)
    finally:
        node.stop()
        shutil.rmtree(node.data_dir, ignore_errors=True)

    # PostgreSQL, one node.
    log("== PostgreSQL, one node")
    cluster, token = postgres_cluster(1, directory)
    try:
        address = cluster.nodes[0].address
        projects = setup_projects(run, "pg1", address, token, busiest)
        write_rows(run, "PostgreSQL, one node", "pg1", address, token, projects, clients, write_args, writes, waits, cluster)
    finally:
        cluster.stop()

    # PostgreSQL, three nodes.
    log("== PostgreSQL, three nodes")
    cluster, token = postgres_cluster(3, directory)
    fanout: dict[str, list[dict[str, float]]] = {"one": [], "three": []}
    try:
        a, b, c3 = (n.address for n in cluster.nodes)
        targets = ",".join((a, b, c3))
        projects = setup_projects(run, "pg3", a, token, busiest + 2)
        ids = projects.read_text().split()
        write_projects = run.directory / "pg3-writes.projects"
        write_projects.write_text("\n".join(ids[2:]) + "\n")
        write_rows(run, "PostgreSQL, 3 nodes", "pg3", a, token, write_projects, clients, ["--targets", targets, *write_args],
                   writes, waits, cluster)

        log("== delivery: subscriber on node 0, uploads via node 0 and via node 1, interleaved")
        delivery = run.bench("delivery", "delivery", a, "--token", token, "--project", ids[0], "--uploads-via", f"{a},{b}",
                             "--labels", "same_node,cross_node", "--samples", str(args.samples),
                             "--spacing-ms", str(args.spacing_ms))

        fan_args = ["--token", token, "--project", ids[1], "--streams", str(args.streams), "--connections", str(args.connections),
                    "--teardown-watch-ms", "500"]
        for r_ in range(1, args.fanout_rounds + 1):
            log(f"== fan-out round {r_}/{args.fanout_rounds}: {args.streams} subscribers on node 0 alone (upload via node 0)")
            label = f"fanout-one-r{r_}"
            fanout["one"].append(run.bench(label, "fanout", a, *fan_args))
            time.sleep(2)  # the closed streams' teardown
            log(f"== fan-out round {r_}/{args.fanout_rounds}: {args.streams} subscribers over 3 nodes (upload via node 1)")
            label3 = f"fanout-three-r{r_}"
            fanout["three"].append(run.bench(label3, "fanout", b, "--targets", targets, *fan_args))
            time.sleep(2)
            for lab, res in ((label, fanout["one"][-1]), (label3, fanout["three"][-1])):
                run.check_zero(lab, res, "fanout_missing", "fanout_state_missing", "fanout_state_extra", "fanout_unexpected",
                               "fanout_ended_early", "fanout_trigger_failures")
                if res.get("fanout_ready") != args.streams:
                    run.failures.append(f"{lab}: only {res.get('fanout_ready', 0):g} of {args.streams} streams ready")

        log("== the ceiling: pgbench on the same PostgreSQL, image files on the same disk")
        database = cluster.postgres.create_database("ceiling")
        cluster.postgres.sql(database, CEILING_SCHEMA)
        shapes = {
            "lock, bump + NOTIFY, commit": ("BEGIN;\n" + LOCK + BUMP_NOTIFY + "COMMIT;\n", True),
            "same, synchronous_commit=off": ("BEGIN;\n" + LOCK + BUMP_NOTIFY + "COMMIT;\n", False),
            "same without NOTIFY": ("BEGIN;\n" + LOCK + BUMP + "COMMIT;\n", True),
            f"lock, {2 * args.images} INSERTs, bump + NOTIFY, commit": (
                "BEGIN;\n" + LOCK + INSERT_PAIR * args.images + BUMP_NOTIFY + "COMMIT;\n", True),
            f"lock, 2 INSERTs of {args.images} rows, bump + NOTIFY, commit": (
                "BEGIN;\n" + LOCK + insert_rows(args.images) + BUMP_NOTIFY + "COMMIT;\n", True),
        }
        # Rounds of every shape in turn, medians: the host's noise spreads over all shapes alike.
        measured: dict[str, list[tuple[float, float]]] = {}
        for round_ in range(args.pgbench_rounds):
            for shape, (script, synchronous) in shapes.items():
                for c in sorted({1, busiest}):
                    name = re.sub(r"[^a-z0-9]+", "-", shape.lower()).strip("-") + f"-r{round_ + 1}"
                    figure = pgbench(run, cluster, database, name, script, c, args.pgbench_seconds, synchronous)
                    measured.setdefault(f"{shape}|{c}", []).append(figure)
                    log(f"  pgbench {shape}, {c} clients: {figure[0]:.0f} tx/s")
        ceiling = {key: (statistics.median(f[0] for f in figures), statistics.median(f[1] for f in figures))
                   for key, figures in measured.items()}
        blob_rates = {t: blob_fsyncs(cluster.directory, args.images, args.image_bytes, t) for t in (1, 4, busiest)}
        for t, rate in blob_rates.items():
            log(f"  image files of {t} upload(s) at a time: {rate:.1f} uploads/s")
    finally:
        cluster.stop()
    load_after = Path("/proc/loadavg").read_text().split()[:3]
    others = max(0.0, (busy_seconds() - busy_before) - (own_seconds() - own_before)) / (time.time() - started)

    # --- summary -------------------------------------------------------------------------------
    def med(runs: list[dict[str, float]], key: str) -> str:
        values = [r[key] for r in runs if key in r]
        return f"{statistics.median(values):.1f}" if values else "n/a"

    print()
    print(f"Cluster benchmark ({time.strftime('%Y-%m-%dT%H:%MZ', time.gmtime())}, {os.cpu_count()} cores, load average "
          f"before {' '.join(load_before)}, after {' '.join(load_after)}; run took {time.time() - started:.0f} s; "
          f"other processes used {100 * others:.0f}% of a core meanwhile)")
    print("  cellhubd serve --workers 0 (4 blocking threads, 4 PostgreSQL connections per node); PostgreSQL 15 on a Unix socket "
          "with fsync=on, synchronous_commit=on; SQLite fsyncs every commit; image files fsynced before each commit; one disk")
    print()
    print(f"a. Durable writes: UploadImages of {args.images} × {args.image_bytes} B distinct images, back to back for "
          f"{args.write_seconds:g} s per row; each writer its own project; writer c calls node c mod N directly (no nginx)")
    print("   image files: 'new, fsynced' = every image distinct (the issue's figure); 'already stored' = each writer sends "
          "its warm-up call's images again (new rows, no file written: the database path alone)")
    print(f"   {'store':<22} {'image files':<15} {'clients':>7} {'calls/s':>8} {'images/s':>9} {'call p50 ms':>12} {'call p99 ms':>12}")
    for (store, files, c), r in writes.items():
        print(f"   {store:<22} {FILES[files]:<15} {c:>7} {r['writes_calls_per_s']:>8.1f} {r['writes_images_per_s']:>9.0f} "
              f"{r['writes_call_p50_ms']:>12.1f} {r['writes_call_p99_ms']:>12.1f}")
    print()
    print(f"b. Delivery to one WatchProject subscriber on node 0: upload (one 67-byte PNG) call start → its event, "
          f"{args.samples} uploads per path, interleaved, {args.spacing_ms:g} ms apart")
    print(f"   {'path':<34} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'upload call p50':>16} {'event after answer':>19}")
    for key, name in (("same_node", "upload via node 0 (same node)"), ("cross_node", "upload via node 1 (cross-node)")):
        d = lambda k: delivery[f"delivery_{key}_{k}"]  # noqa: E731
        print(f"   {name:<34} {d('p50_ms'):>7.2f} {d('p99_ms'):>7.2f} {d('max_ms'):>7.2f} {d('call_p50_ms'):>13.2f} ms "
              f"{d('after_answer_ms'):>16.2f} ms")
    print(f"   cross-node − same-node: p50 {delivery['delivery_cross_node_p50_ms'] - delivery['delivery_same_node_p50_ms']:+.2f} ms, "
          f"p99 {delivery['delivery_cross_node_p99_ms'] - delivery['delivery_same_node_p99_ms']:+.2f} ms "
          "(NOTIFY at B's commit → A's LISTEN connection → A reads the log's head → A's hub reads the log)")
    print()
    per_node = (args.streams + 2) // 3
    print(f"c. Fan-out: {args.streams} WatchProject subscribers over {args.connections} connections; 5 uploads 1 s apart per run; "
          f"medians over {args.fanout_rounds} run(s) per layout, layouts alternating")
    print(f"   {'upload call start → first new event, ms':<44} {'one node':>9} {'3 nodes':>9}")
    print(f"   {'':<44} {'(node 0)':>9} {f'(~{per_node}/node)':>9}")
    for key, name in (("fanout_min_ms", "first arrival on any stream"), ("fanout_p50_ms", "p50"), ("fanout_p99_ms", "p99"),
                      ("fanout_max_ms", "max (the last subscriber)"), ("fanout_state_p99_ms", "PROJECT_STATS_UPDATE p99"),
                      ("fanout_trigger_call_ms", "upload call"), ("fanout_open_ms", "all streams ready after opening")):
        print(f"   {name:<44} {med(fanout['one'], key):>9} {med(fanout['three'], key):>9}")
    print("   p99 per run: one node " + " ".join(f"{r.get('fanout_p99_ms', 0):.1f}" for r in fanout["one"])
          + "; 3 nodes " + " ".join(f"{r.get('fanout_p99_ms', 0):.1f}" for r in fanout["three"]))
    print("   3 nodes, per node (the upload goes to node 1: its subscribers wake on its own commit, nodes 0 and 2's on NOTIFY):")
    for g, how in enumerate(("NOTIFY", "its commit", "NOTIFY")):
        print(f"     node {g} ({how}): first arrival {med(fanout['three'], f'fanout_group{g}_min_ms')}, "
              f"p50 {med(fanout['three'], f'fanout_group{g}_p50_ms')}, p99 {med(fanout['three'], f'fanout_group{g}_p99_ms')} ms")
    print()
    print("d. Where the ceiling is")
    print(f"   (i) pgbench on the same PostgreSQL (fsync on), {args.pgbench_seconds:g} s each, median of {args.pgbench_rounds} "
          "rounds, tx/s (average latency ms):")
    for shape in shapes:
        cells = "   ".join(f"{c} client{'s' if c > 1 else ''}: {ceiling[f'{shape}|{c}'][0]:>6.0f} ({ceiling[f'{shape}|{c}'][1]:.2f})"
                           for c in sorted({1, busiest}))
        print(f"       {shape:<52} {cells}")
    print("   (ii) 1 vs {0} writers, calls/s ({0} ÷ 1):".format(busiest))
    for store in ("SQLite, one node", "PostgreSQL, one node", "PostgreSQL, 3 nodes"):
        for files in FILES:
            if (store, files, 1) in writes and (store, files, busiest) in writes:
                one, many = writes[(store, files, 1)]["writes_calls_per_s"], writes[(store, files, busiest)]["writes_calls_per_s"]
                ratio = many / one if one else 0
                print(f"       {store:<22} {FILES[files]:<15} {one:>7.1f} → {many:>7.1f}  ({ratio:.2f}×"
                      f"{': serialised' if ratio < 1.3 else ''})")
    print(f"   (iii) PostgreSQL during the {busiest}-writer runs: backends of the database per sample (every 2 ms), by what they do")
    for (store, files), sampled in waits.items():
        n = sampled.pop("samples", 0)
        held = sampled.pop("the row is held (any holder)", 0)
        rate = writes[(store, files, busiest)]["writes_calls_per_s"]
        hold = held * 1000 / rate if rate else 0
        print(f"       {store}, image files {FILES[files]}: the log_head row is held {100 * held:.0f}% of the time ({n:.0f} samples) at {rate:.1f} calls/s: "
              f"~{hold:.0f} ms per write transaction → the row alone would allow ~{1000 / hold if hold else 0:.0f} calls/s")
        for what, value in sorted(sampled.items(), key=lambda kv: -kv[1]):
            print(f"         {value:5.2f}  {what}")
    print(f"   (iv) image files alone, as an upload writes them ({args.images} × [write {args.image_bytes} B, fsync, rename, "
          "fsync directory], one after another), on the same disk, outside any lock:")
    for t, rate in blob_rates.items():
        print(f"       {t} upload{'s' if t > 1 else ''} at a time{' (a node has 4 blocking threads)' if t == 4 else ''}: "
              f"{rate:.1f} uploads/s ({1000 * t / rate:.0f} ms each)")
    print()
    print(f"Logs: {run.logs}")
    print(f"Clients: {BENCH} writes|delivery|fanout (commands at the top of each log); pgbench scripts in {run.directory}")
    if run.failures:
        print()
        print("FAILED:")
        for failure in run.failures:
            print(f"  {failure}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
