"""A stock grpcio server for the Swift client's tests (Tests/RPCHTTP2Tests/InteropCases, peer grpcio).

Serves grpc.testing.TestService (EmptyCall, UnaryCall, StreamingOutputCall,
StreamingInputCall, FullDuplexCall, HalfDuplexCall; UnimplementedCall stays unimplemented)
with the interop semantics CellHub's own InteropTestService has, plus grpc.health.v1.Health
from grpcio-health-checking. Binds 127.0.0.1 on an ephemeral port and prints
`listening on 127.0.0.1:PORT` as its first stdout line (flushed), so the caller needs
no fixed port. Exits on SIGTERM, or when its stdin closes (the caller died).

With --tls-cert CHAIN --tls-key KEY it serves TLS instead (grpcio's own ALPN h2), and with
--tls-client-ca CA it requires client certificates from that CA (mutual TLS).

Usage: python reference_server.py [--tls-cert F --tls-key F [--tls-client-ca F]]
       (stdin must stay open while the server should run)
"""
from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from concurrent import futures
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

sys.path.insert(0, str(Path(__file__).resolve().parent / "interop_stubs"))

from grpc_testing import empty_pb2, messages_pb2, test_pb2_grpc  # noqa: E402

HOST = "127.0.0.1"
STATUS_BY_NUMBER = {code.value[0]: code for code in grpc.StatusCode}
ECHO_INITIAL = "x-grpc-test-echo-initial"
ECHO_TRAILING = "x-grpc-test-echo-trailing-bin"


def echo_metadata(context: grpc.ServicerContext) -> None:
    """The interop custom_metadata case: echo two request headers back."""
    received = dict(context.invocation_metadata())
    if ECHO_INITIAL in received:
        context.send_initial_metadata([(ECHO_INITIAL, received[ECHO_INITIAL])])
    if ECHO_TRAILING in received:
        context.set_trailing_metadata([(ECHO_TRAILING, received[ECHO_TRAILING])])


def payload(response_type: int, size: int, context: grpc.ServicerContext) -> messages_pb2.Payload:
    if size < 0:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"negative response size {size}")
    if response_type != messages_pb2.COMPRESSABLE:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"unsupported payload type {response_type}")
    return messages_pb2.Payload(type=response_type, body=bytes(size))


def apply_response_status(request, context: grpc.ServicerContext) -> bool:
    """Sets the requested non-OK status; True when the call must end with it."""
    if request.HasField("response_status") and request.response_status.code != 0:
        code = STATUS_BY_NUMBER.get(request.response_status.code, grpc.StatusCode.UNKNOWN)
        context.set_code(code)
        context.set_details(request.response_status.message)
        return True
    return False


class TestService(test_pb2_grpc.TestServiceServicer):
    def EmptyCall(self, request, context):
        return empty_pb2.Empty()

    def UnaryCall(self, request, context):
        echo_metadata(context)
        # expect_compressed is not checked: grpcio tells a handler neither whether the
        # request message was compressed nor its grpc-encoding header (it is consumed
        # below the servicer), so this server answers OK either way, like grpc-go's.
        if apply_response_status(request, context):
            return messages_pb2.SimpleResponse()
        if request.response_compressed.value:
            context.set_compression(grpc.Compression.Gzip)
        else:
            context.set_compression(grpc.Compression.NoCompression)
        return messages_pb2.SimpleResponse(payload=payload(request.response_type, request.response_size, context))

    def StreamingOutputCall(self, request, context):
        echo_metadata(context)
        context.set_compression(grpc.Compression.Gzip)
        yield from respond(request, context)
        apply_response_status(request, context)

    def StreamingInputCall(self, request_iterator, context):
        # expect_compressed is not checked, for the reason given in UnaryCall.
        total = sum(len(request.payload.body) for request in request_iterator)
        return messages_pb2.StreamingInputCallResponse(aggregated_payload_size=total)

    def FullDuplexCall(self, request_iterator, context):
        echo_metadata(context)
        context.set_compression(grpc.Compression.Gzip)
        for request in request_iterator:
            if apply_response_status(request, context):
                return
            yield from respond(request, context)

    def HalfDuplexCall(self, request_iterator, context):
        echo_metadata(context)
        context.set_compression(grpc.Compression.Gzip)
        for request in list(request_iterator):
            if apply_response_status(request, context):
                return
            yield from respond(request, context)


def respond(request, context: grpc.ServicerContext):
    """One response per response_parameters entry, each after its interval."""
    for parameters in request.response_parameters:
        if parameters.interval_us > 0:
            time.sleep(parameters.interval_us / 1_000_000)
        if not context.is_active():
            return
        if not parameters.compressed.value:
            context.disable_next_message_compression()
        yield messages_pb2.StreamingOutputCallResponse(
            payload=payload(request.response_type, parameters.size, context))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--tls-client-ca")
    args = parser.parse_args()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=32), options=[("grpc.so_reuseport", 0)])
    test_pb2_grpc.add_TestServiceServicer_to_server(TestService(), server)
    health_servicer = health.HealthServicer()
    health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    health_servicer.set("grpc.testing.TestService", health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    if args.tls_cert:
        with open(args.tls_key, "rb") as key, open(args.tls_cert, "rb") as chain:
            identity = (key.read(), chain.read())
        client_ca = open(args.tls_client_ca, "rb").read() if args.tls_client_ca else None
        credentials = grpc.ssl_server_credentials([identity], root_certificates=client_ca, require_client_auth=client_ca is not None)
        port = server.add_secure_port(f"{HOST}:0", credentials)
    else:
        port = server.add_insecure_port(f"{HOST}:0")
    if port == 0:
        print(f"cannot bind {HOST}:0", file=sys.stderr, flush=True)
        return 1
    server.start()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    def watch_stdin() -> None:
        sys.stdin.buffer.read()  # returns at EOF: whoever started us is gone
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    print(f"listening on {HOST}:{port}", flush=True)
    while not stop.wait(0.2):
        pass
    server.stop(grace=0.5).wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
