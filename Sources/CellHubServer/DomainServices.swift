package import CellHub
package import RPC

/// The four cellhub.v1 services over one domain, sharing one runner (pool, authenticator,
/// logger).
package enum DomainServices {
    package static func make(runner: DomainRunner, hub: EventHub, dispatcher: JobDispatcher, options: DomainOptions) -> [any RPCService] {
        [
            ProjectHandler(runner: runner),
            ImageHandler(runner: runner),
            StatsHandler(runner: runner, hub: hub),
            SegmentationHandler(runner: runner, dispatcher: dispatcher, defaultModel: options.defaultModel),
        ]
    }
}
