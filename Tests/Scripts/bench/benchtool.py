#!/usr/bin/env python3
"""Helpers for Tests/Scripts/bench-rpc.sh (request bodies, correctness checks, log percentiles, table).

Subcommands:
  bodies OUTDIR --unary-size N --stream-count N --stream-size N
      Writes OUTDIR/unary-request.bin and OUTDIR/stream-request.bin: one gRPC frame each
      (flag 0, 4-byte big-endian length, serialized request), and prints the expected
      response sizes as shell assignments.
  check HOST:PORT --unary-size N --stream-count N --stream-size N
      One UnaryCall and one StreamingOutputCall with grpcio; asserts status OK and sizes.
  nghttp-check LOGFILE --expect-data-bytes N [--slack K]
      Parses `nghttp -v` output: asserts :status 200, grpc-status 0 in the trailers and the
      number of DATA bytes received (within K bytes: for replies with clock-driven fields;
      N = -1: any, for canned replies), printed last on its line.
  h2load-summary LOGFILE
      Parses h2load stdout: prints "requests_ok req_per_s data_bytes errored non2xx".
  percentiles LOGFILE
      Per-request times from an h2load --log-file (start µs, status, duration µs): prints
      "count p50 p90 p99 max" in µs.
  table RESULTS.tsv SERVER_A [SERVER_B]
      Medians per metric and server, and the ratio A/B.
"""
import argparse
import os
import re
import statistics
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
STUBS = os.path.normpath(os.path.join(HERE, "..", "..", "Python", "interop_stubs"))


def _pb():
    sys.path.insert(0, STUBS)
    from grpc_testing import messages_pb2  # noqa: E402
    return messages_pb2


def frame(payload: bytes) -> bytes:
    return struct.pack(">BI", 0, len(payload)) + payload


def make_requests(unary_size, stream_count, stream_size):
    m = _pb()
    unary = m.SimpleRequest(response_size=unary_size)
    stream = m.StreamingOutputCallRequest(
        response_parameters=[m.ResponseParameters(size=stream_size) for _ in range(stream_count)])
    # Expected responses, as both servers build them (Payload.type is COMPRESSABLE = 0, the default).
    unary_resp = m.SimpleResponse(payload=m.Payload(body=b"\0" * unary_size)).SerializeToString()
    stream_resp = m.StreamingOutputCallResponse(payload=m.Payload(body=b"\0" * stream_size)).SerializeToString()
    return m, unary, stream, len(unary_resp), len(stream_resp)


def varint(value):
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def cmd_bodies(a):
    _, unary, stream, ulen, slen = make_requests(a.unary_size, a.stream_count, a.stream_size)
    os.makedirs(a.outdir, exist_ok=True)
    with open(os.path.join(a.outdir, "unary-request.bin"), "wb") as f:
        f.write(frame(unary.SerializeToString()))
    with open(os.path.join(a.outdir, "stream-request.bin"), "wb") as f:
        f.write(frame(stream.SerializeToString()))
    # The C ceiling streams as many canned messages as the request's varint field 1 says.
    with open(os.path.join(a.outdir, "ceiling-stream-request.bin"), "wb") as f:
        f.write(frame(bytes([0x08]) + varint(a.stream_count)))
    # Bytes of gRPC frames in the response DATA: message + 5-byte prefix each.
    print(f"unary_msg_bytes={ulen}")
    print(f"unary_data_bytes={ulen + 5}")
    print(f"stream_msg_bytes={slen}")
    print(f"stream_data_bytes={(slen + 5) * a.stream_count}")


def cmd_check(a):
    import grpc
    m, unary, stream, _, _ = make_requests(a.unary_size, a.stream_count, a.stream_size)
    with grpc.insecure_channel(a.target) as ch:
        uc = ch.unary_unary("/grpc.testing.TestService/UnaryCall",
                            request_serializer=m.SimpleRequest.SerializeToString,
                            response_deserializer=m.SimpleResponse.FromString)
        resp, call = uc.with_call(unary, timeout=10)
        if call.code() != grpc.StatusCode.OK:
            sys.exit(f"grpcio UnaryCall: status {call.code()}")
        if len(resp.payload.body) != a.unary_size:
            sys.exit(f"grpcio UnaryCall: payload {len(resp.payload.body)} bytes, expected {a.unary_size}")
        sc = ch.unary_stream("/grpc.testing.TestService/StreamingOutputCall",
                             request_serializer=m.StreamingOutputCallRequest.SerializeToString,
                             response_deserializer=m.StreamingOutputCallResponse.FromString)
        it = sc(stream, timeout=30)
        n = 0
        for r in it:
            if len(r.payload.body) != a.stream_size:
                sys.exit(f"grpcio StreamingOutputCall: message {n} payload {len(r.payload.body)} bytes, "
                         f"expected {a.stream_size}")
            n += 1
        if it.code() != grpc.StatusCode.OK:
            sys.exit(f"grpcio StreamingOutputCall: status {it.code()} {it.details()!r}")
        if n != a.stream_count:
            sys.exit(f"grpcio StreamingOutputCall: {n} messages, expected {a.stream_count}")
    print(f"grpcio ok: UnaryCall payload {a.unary_size} B; StreamingOutputCall {n} x {a.stream_size} B; status OK")


def cmd_nghttp_check(a):
    text = open(a.logfile, errors="replace").read()
    data = sum(int(x) for x in re.findall(r"recv DATA frame <length=(\d+)", text))
    status = re.findall(r"recv \(stream_id=\d+\) :status: (\d+)", text, re.M)
    gs = re.findall(r"recv \(stream_id=\d+\) grpc-status: (\d+)", text, re.M)
    gm = re.findall(r"recv \(stream_id=\d+\) grpc-message: (.*)$", text, re.M)
    problems = []
    if status != ["200"]:
        problems.append(f":status {status or 'missing'}")
    if gs != ["0"]:
        problems.append(f"grpc-status {gs or 'missing'} {gm}")
    if a.expect_data_bytes >= 0 and abs(data - a.expect_data_bytes) > a.slack:
        problems.append(f"DATA bytes {data}, expected {a.expect_data_bytes}")
    if problems:
        sys.exit("nghttp check failed: " + "; ".join(problems) + f" (see {a.logfile})")
    print(f"nghttp ok: :status 200, grpc-status 0, {data} DATA bytes")


def cmd_h2load_summary(a):
    text = open(a.logfile, errors="replace").read()
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored", text)
    rps = re.search(r"finished in [^,]+, ([\d.]+) req/s", text)
    tr = re.search(r"traffic: .*?\((\d+)\) total, .*?\((\d+)\) headers.*?\((\d+)\) data", text)
    codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", text)
    if not (m and rps and tr and codes):
        sys.exit(f"cannot parse h2load output {a.logfile}")
    total, started, done, ok, failed, errored = map(int, m.groups())
    non2xx = sum(map(int, codes.groups()[1:]))
    print(ok, rps.group(1), tr.group(3), failed + errored, non2xx)


def pct(sorted_vals, p):
    # nearest-rank percentile
    if not sorted_vals:
        return float("nan")
    k = max(0, min(len(sorted_vals) - 1, int(-(-p * len(sorted_vals) // 100)) - 1))
    return sorted_vals[k]


def cmd_percentiles(a):
    durs = []
    with open(a.logfile) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[1] == "200":
                durs.append(int(parts[2]))
    durs.sort()
    if not durs:
        sys.exit(f"no successful requests in {a.logfile}")
    print(len(durs), pct(durs, 50), pct(durs, 90), pct(durs, 99), durs[-1])


# Row order: by key prefix, then in order of appearance.
ORDER = ["unary_rps", "lat_p50", "lat_p99", "stream_best", "stream_msgs_", "cpu_unary_us", "cpu_lat_us",
         "cpu_stream_ns_", "busy_unary", "busy_stream_", "stream_bpm_", "rss_mib",
         "other_load"]


MAX_KEYS = {"other_load"}  # shown as the worst run, not the median


def rank(key):
    for i, p in enumerate(ORDER):
        if key == p or (p.endswith("_") and key.startswith(p)):
            return i
    return len(ORDER)


def fmt(v):
    if v is None:
        return "-"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 100 or v == int(v):
        return f"{v:.0f}"
    return f"{v:.1f}"


def cmd_table(a):
    vals = {}
    labels = {}
    order = []
    rounds = {}
    with open(a.results) as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            server, rnd, key, value, *label = line.rstrip("\n").split("\t")
            rounds.setdefault(server, set()).add(rnd)
            vals.setdefault((key, server), []).append(float(value))
            if key not in order:
                order.append(key)
            if label and label[0]:
                labels[key] = label[0]
    servers = [s for s in a.servers if s]
    # Best streaming shape per server (highest median msgs/s), when several shapes were run.
    shapes = [k[len("stream_msgs_"):] for k in order if k.startswith("stream_msgs_")]
    best = {}
    if len(shapes) > 1:
        for s in servers:
            cands = [(statistics.median(vals[(f"stream_msgs_{sh}", s)]), sh) for sh in shapes
                     if vals.get((f"stream_msgs_{sh}", s))]
            if cands:
                v, sh = max(cands)
                best[s] = sh
                vals[("stream_best", s)] = [v]
        if best:
            order.append("stream_best")
            labels["stream_best"] = "stream msgs/s (best shape)"
    order = sorted(order, key=lambda k: (rank(k), order.index(k)))
    w = max([34] + [len(labels.get(k, k)) + 2 for k in order])
    others = servers[1:]
    head = f"{'workload':<{w}}" + "".join(f"{s:>14}" for s in servers)
    head += "".join(f"{'/' + o:>12}" for o in others)
    print(head)
    for key in order:
        meds = []
        for s in servers:
            v = vals.get((key, s))
            meds.append((max(v) if key in MAX_KEYS else statistics.median(v)) if v else None)
        row = f"{labels.get(key, key):<{w}}" + "".join(f"{fmt(v):>14}" for v in meds)
        for other in meds[1:]:
            r = f"{meds[0] / other:.2f}x" if meds[0] is not None and other else "-"
            row += f"{r:>12}"
        print(row)
    n = {s: len(rounds.get(s, ())) for s in servers}
    if best:
        print("(best streaming shape, C connections x M streams each: "
              + ", ".join(f"{s} {sh.replace('x', ' x ')}" for s, sh in best.items()) + ")")
    print("(medians over " + ", ".join(f"{n[s]} round(s) of {s}" for s in servers) + ")")
    if others:
        print(f"(/X = {servers[0]} / X: above 1 is better for req/s and msgs/s, below 1 for µs and ns)")
    if a.spread:
        print()
        print("per-round values (round 1, 2, ...):")
        for key in order:
            if key in ("stream_best", "other_load"):
                continue
            parts = [f"{s}: " + " ".join(fmt(x) for x in vals[(key, s)]) for s in servers if vals.get((key, s))]
            print(f"  {key:<22} " + "   ".join(parts))


def main():
    p = argparse.ArgumentParser()
    sp = p.add_subparsers(dest="cmd", required=True)
    b = sp.add_parser("bodies")
    b.add_argument("outdir")
    c = sp.add_parser("check")
    c.add_argument("target")
    for q in (b, c):
        q.add_argument("--unary-size", type=int, required=True)
        q.add_argument("--stream-count", type=int, required=True)
        q.add_argument("--stream-size", type=int, required=True)
    n = sp.add_parser("nghttp-check")
    n.add_argument("logfile")
    n.add_argument("--expect-data-bytes", type=int, required=True)
    n.add_argument("--slack", type=int, default=0)
    h = sp.add_parser("h2load-summary")
    h.add_argument("logfile")
    pc = sp.add_parser("percentiles")
    pc.add_argument("logfile")
    t = sp.add_parser("table")
    t.add_argument("results")
    t.add_argument("servers", nargs="+")
    t.add_argument("--spread", action="store_true")
    a = p.parse_args()
    {"bodies": cmd_bodies, "check": cmd_check, "nghttp-check": cmd_nghttp_check,
     "h2load-summary": cmd_h2load_summary, "percentiles": cmd_percentiles, "table": cmd_table}[a.cmd](a)


if __name__ == "__main__":
    main()
