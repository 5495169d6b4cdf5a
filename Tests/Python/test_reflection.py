"""Server reflection (grpc.reflection.v1 and v1alpha) with grpcio-reflection's stock client.

What grpcurl, Postman and Evans do: list the services, resolve every method's request and
response types from the reflected descriptors alone, and call a method built only from them.
v1alpha is what grpcio-reflection speaks; v1 is reached through the same client with its
method path switched (the two versions' messages are identical on the wire).
"""
import grpc
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from grpc_reflection.v1alpha import reflection_pb2
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from api_support import requires_cellhubd
from conftest import Server, make_channel

pytestmark = requires_cellhubd

V1 = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
V1ALPHA = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
CELLHUB_SERVICES = {
    "cellhub.v1.ProjectService", "cellhub.v1.ImageService", "cellhub.v1.StatsService", "cellhub.v1.SegmentationService",
}


class _Stub:
    """grpcio-reflection's stub, on another version's method path."""

    def __init__(self, channel, path):
        self.ServerReflectionInfo = channel.stream_stream(
            path, request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
            response_deserializer=reflection_pb2.ServerReflectionResponse.FromString)


def database(channel, path):
    db = ProtoReflectionDescriptorDatabase(channel)
    db._stub = _Stub(channel, path)  # the same client logic, on `path`
    return db


@pytest.fixture(scope="module")
def reflecting(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("reflection"))
    with make_channel(srv) as channel:
        yield srv, channel
    srv.stop()


@pytest.mark.parametrize("path", [V1, V1ALPHA], ids=["v1", "v1alpha"])
def test_lists_services_and_resolves_every_method(reflecting, path):
    _, channel = reflecting
    db = database(channel, path)
    services = set(db.get_services())
    expected = CELLHUB_SERVICES | {"grpc.health.v1.Health", "grpc.testing.TestService",
                                   "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"}
    assert expected <= services, f"missing: {expected - services}"
    pool = descriptor_pool.DescriptorPool(db)
    resolved = 0
    for name in sorted(services):
        service = pool.FindServiceByName(name)
        assert service.methods, name
        for method in service.methods:
            # Both types resolved from reflected files (with their imports), fields and all.
            assert method.input_type.full_name and method.output_type.full_name
            message_factory.GetMessageClass(method.input_type)
            message_factory.GetMessageClass(method.output_type)
            resolved += 1
    assert resolved >= 40, resolved


@pytest.mark.parametrize("path", [V1, V1ALPHA], ids=["v1", "v1alpha"])
def test_dynamic_call_from_reflected_descriptors_only(reflecting, path):
    _, channel = reflecting
    pool = descriptor_pool.DescriptorPool(database(channel, path))
    method = pool.FindMethodByName("grpc.testing.TestService.UnaryCall")
    request_class = message_factory.GetMessageClass(method.input_type)
    response_class = message_factory.GetMessageClass(method.output_type)
    request = request_class(response_size=7)
    request.payload.body = b"abc"
    call = channel.unary_unary("/grpc.testing.TestService/UnaryCall",
                               request_serializer=request_class.SerializeToString,
                               response_deserializer=response_class.FromString)
    reply = call(request, timeout=10)
    assert len(reply.payload.body) == 7
    # And a CellHub method: its request type comes from cellhub/v1 files only.
    stats = pool.FindMethodByName("cellhub.v1.StatsService.GetProjectStats")
    assert stats.input_type.fields_by_name["project_id"].type == stats.input_type.fields_by_name["project_id"].TYPE_STRING
    assert stats.output_type.full_name == "cellhub.v1.GetProjectStatsResponse"


def ask(channel, path, *requests):
    """One reflection stream: each request answered in order."""
    stub = _Stub(channel, path)
    return list(stub.ServerReflectionInfo(iter(requests), timeout=10))


@pytest.mark.parametrize("path", [V1, V1ALPHA], ids=["v1", "v1alpha"])
def test_questions_on_one_stream_and_errors(reflecting, path):
    _, channel = reflecting
    R = reflection_pb2.ServerReflectionRequest
    answers = ask(channel, path,
                  R(host="h", list_services=""),
                  R(file_containing_symbol="cellhub.v1.StatsService.GetProjectStats"),
                  R(file_by_filename="grpc/health/v1/health.proto"),
                  R(file_containing_symbol="no.such.Symbol"),
                  R(file_by_filename="no/such.proto"),
                  R(file_containing_extension=reflection_pb2.ExtensionRequest(containing_type="cellhub.v1.Role", extension_number=9)),
                  R(all_extension_numbers_of_type="cellhub.v1.GetProjectStatsRequest"),
                  R())
    assert len(answers) == 8
    assert answers[0].valid_host == "h" and answers[0].original_request.host == "h"
    assert {s.name for s in answers[0].list_services_response.service} >= CELLHUB_SERVICES
    files = answers[1].file_descriptor_response.file_descriptor_proto
    names = [descriptor_pb2.FileDescriptorProto.FromString(f).name for f in files]
    assert names[0] == "cellhub/v1/stats_service.proto" and len(names) == len(set(names)), names
    assert [descriptor_pb2.FileDescriptorProto.FromString(f).name
            for f in answers[2].file_descriptor_response.file_descriptor_proto] == ["grpc/health/v1/health.proto"]
    for answer in answers[3:6]:
        assert answer.error_response.error_code == grpc.StatusCode.NOT_FOUND.value[0], answer
        assert answer.error_response.error_message
    assert answers[6].all_extension_numbers_response.base_type_name == "cellhub.v1.GetProjectStatsRequest"
    assert list(answers[6].all_extension_numbers_response.extension_number) == []
    assert answers[7].error_response.error_code == grpc.StatusCode.INVALID_ARGUMENT.value[0]


def test_no_reflection_flag_turns_it_off(tmp_path):
    srv = Server(tmp_path / "data", ["--no-reflection"])
    try:
        with make_channel(srv) as channel:
            for path in (V1, V1ALPHA):
                with pytest.raises(grpc.RpcError) as err:
                    ask(channel, path, reflection_pb2.ServerReflectionRequest(list_services=""))
                assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED
    finally:
        srv.stop()
