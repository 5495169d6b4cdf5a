import CellHubProto
import FuzzSupport
import RPC

/// Fuzzes the decoder of every request message a peer can send (all methods of the
/// `cellhub.v1` services, `grpc.health.v1`, `grpc.testing` and both reflection versions): the first input byte picks
/// the type, the rest is the protobuf encoding. What decodes must survive a round trip:
/// encode, decode again, equal value and the same bytes when encoded once more.
@main
enum RequestDecodersFuzzer {
    static func main() {
        FuzzDriver.main(target: fuzzRequestDecoders, corpus: "request-decoders")
    }

    /// Decoders by input byte: sorted by protobuf name, so the corpus generator
    /// (`Tests/Fuzz/make-corpus.py`) numbers them the same way.
    static let decoders: [RequestDecoder] = {
        let all = [
            RequestDecoder(ProjectService.createProject), RequestDecoder(ProjectService.getProject),
            RequestDecoder(ProjectService.listProjects), RequestDecoder(ProjectService.updateProject),
            RequestDecoder(ProjectService.deleteProject), RequestDecoder(ProjectService.shareProject),
            RequestDecoder(ProjectService.revokeShare), RequestDecoder(ProjectService.listShares),
            RequestDecoder(ImageService.uploadImages), RequestDecoder(ImageService.getImage),
            RequestDecoder(ImageService.listImages), RequestDecoder(ImageService.getImageContent),
            RequestDecoder(ImageService.deleteImage), RequestDecoder(ImageService.deleteImages),
            RequestDecoder(SegmentationService.enqueueSegmentation), RequestDecoder(SegmentationService.cancelSegmentation),
            RequestDecoder(SegmentationService.getSegmentation), RequestDecoder(SegmentationService.getJob),
            RequestDecoder(SegmentationService.getQueueStats), RequestDecoder(SegmentationService.claimJobs),
            RequestDecoder(SegmentationService.renewJobLease), RequestDecoder(SegmentationService.completeJob),
            RequestDecoder(SegmentationService.failJob),
            RequestDecoder(StatsService.getProjectStats), RequestDecoder(StatsService.getDashboardMetrics),
            RequestDecoder(StatsService.listActivity), RequestDecoder(StatsService.watchProject),
            RequestDecoder(StatsService.watchDashboard), RequestDecoder(StatsService.watchActivity),
            RequestDecoder(Grpc_Health_V1_Health.check), RequestDecoder(Grpc_Health_V1_Health.watch),
            RequestDecoder(Grpc_Testing_TestService.emptyCall), RequestDecoder(Grpc_Testing_TestService.unaryCall),
            RequestDecoder(Grpc_Testing_TestService.streamingOutputCall),
            RequestDecoder(Grpc_Testing_TestService.streamingInputCall), RequestDecoder(Grpc_Testing_TestService.fullDuplexCall),
            RequestDecoder(Grpc_Testing_TestService.halfDuplexCall), RequestDecoder(Grpc_Testing_TestService.unimplementedCall),
            RequestDecoder(Grpc_Reflection_V1_ServerReflection.serverReflectionInfo),
            RequestDecoder(Grpc_Reflection_V1alpha_ServerReflection.serverReflectionInfo),
        ]
        // A method added to a service and not listed above would go unfuzzed: refuse to run.
        let services = [
            ProjectService.descriptor, ImageService.descriptor, SegmentationService.descriptor, StatsService.descriptor,
            Grpc_Health_V1_Health.descriptor, Grpc_Testing_TestService.descriptor,
            Grpc_Reflection_V1_ServerReflection.descriptor, Grpc_Reflection_V1alpha_ServerReflection.descriptor,
        ]
        let listed = Set(all.map(\.method))
        let missing = services.flatMap(\.methods).filter { !listed.contains($0) }
        fuzzCheck(missing.isEmpty, "methods without a decoder in RequestDecodersFuzzer: \(missing)")
        // One decoder per request type (Health's Check and Watch share theirs).
        var byName: [String: RequestDecoder] = [:]
        for decoder in all { byName[decoder.protoName] = decoder }
        return byName.keys.sorted().map { byName[$0]! }
    }()

    static func run(_ bytes: UnsafeRawBufferPointer) {
        guard let selector = bytes.first else { return }
        let decoder = decoders[Int(selector) % decoders.count]
        decoder.roundTrip(UnsafeRawBufferPointer(rebasing: bytes.dropFirst()))
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzRequestDecoders(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data, size > 0 else { return 0 }
    RequestDecodersFuzzer.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
