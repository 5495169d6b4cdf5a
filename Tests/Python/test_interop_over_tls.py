"""Every interop case grpcio drives — unary, server, client and bidirectional streaming,
compression, metadata, statuses, deadlines, cancellation, unimplemented methods — again over
TLS: the very test functions of test_interop.py and test_interop_streaming.py, with `stub`
and `channel` bound to a `serve --interop --tls-cert ... --tls-key ...` server. (Their raw
HTTP/2 checks of the wire stay cleartext-only: TLS does not change what HTTP/2 carries.)"""
import grpc
import pytest

import test_interop as unary_cases
import test_interop_streaming as streaming_cases
from api_support import requires_cellhubd
from conftest import Server
from grpc_testing import test_pb2_grpc
from tls_pki import make_pki

pytestmark = requires_cellhubd
CHANNEL_OPTIONS = [("grpc.enable_http_proxy", 0), ("grpc.use_local_subchannel_pool", 1)]


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    pki = make_pki(tmp_path_factory.mktemp("pki"))
    srv = Server(tmp_path_factory.mktemp("cellhub-data"),
                 ["--tls-cert", str(pki.pem("server-chain")), "--tls-key", str(pki.key("server"))])
    srv.pki = pki
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def channel(tls_server):
    credentials = grpc.ssl_channel_credentials(root_certificates=tls_server.pki.pem("root").read_bytes())
    with grpc.secure_channel(tls_server.address, credentials, options=CHANNEL_OPTIONS) as ch:
        yield ch


@pytest.fixture(scope="module")
def stub(channel):
    return test_pb2_grpc.TestServiceStub(channel)


def _method(cls, name):
    """A test method of a cleartext test class, as a test function of this module."""
    def test(stub, **kwargs):
        getattr(cls(), name)(stub, **kwargs)
    return test


# Unary and server streaming (test_interop.py).
test_empty_unary = unary_cases.test_empty_unary
test_large_unary = unary_cases.test_large_unary
test_server_streaming = unary_cases.test_server_streaming
test_unimplemented_method = unary_cases.test_unimplemented_method
test_unimplemented_service = unary_cases.test_unimplemented_service
test_timeout_on_sleeping_server = unary_cases.test_timeout_on_sleeping_server
test_cancel_after_first_response = unary_cases.test_cancel_after_first_response
test_empty_stream = unary_cases.test_empty_stream
test_client_compressed_unary_expected_but_plain = _method(
    unary_cases.TestClientCompressedUnary, "test_expect_compressed_but_uncompressed_is_invalid_argument")
test_client_compressed_unary = _method(unary_cases.TestClientCompressedUnary, "test_expect_compressed_and_compressed_is_ok")
test_server_compressed_streaming = _method(unary_cases.TestServerCompressedStreaming, "test_grpcio_roundtrip")
test_custom_metadata_unary = _method(unary_cases.TestCustomMetadata, "test_unary")
test_custom_metadata_streaming = _method(unary_cases.TestCustomMetadata, "test_streaming")
test_status_code_and_message_unary = _method(unary_cases.TestStatusCodeAndMessage, "test_unary")
test_status_code_and_message_streaming = _method(unary_cases.TestStatusCodeAndMessage, "test_streaming")
test_special_status_message = _method(unary_cases.TestSpecialStatusMessage, "test_roundtrip")

# Client and bidirectional streaming (test_interop_streaming.py).
test_client_streaming = streaming_cases.test_client_streaming
test_client_streaming_many_small_messages = streaming_cases.test_client_streaming_many_small_messages
test_ping_pong = streaming_cases.test_ping_pong
test_half_duplex = streaming_cases.test_half_duplex_answers_after_the_half_close
test_empty_stream_bidi = streaming_cases.test_empty_stream
test_empty_stream_client_streaming = streaming_cases.test_empty_stream_client_streaming
test_client_compressed_streaming_probe = _method(
    streaming_cases.TestClientCompressedStreaming, "test_probe_uncompressed_but_expected_is_invalid_argument")
test_client_compressed_streaming = _method(streaming_cases.TestClientCompressedStreaming, "test_compressed_stream")
test_cancel_after_begin = streaming_cases.test_cancel_after_begin
test_timeout_on_sleeping_server_full_duplex = streaming_cases.test_timeout_on_sleeping_server
test_custom_metadata_full_duplex = streaming_cases.test_custom_metadata_full_duplex
test_status_code_and_message_full_duplex = streaming_cases.test_status_code_and_message_full_duplex
test_unimplemented_method_streaming_module = streaming_cases.test_unimplemented_method
