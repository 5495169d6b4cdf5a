/// One user's dashboard in one time zone, shared by every stream showing it: recomputed from
/// the store (coalesced: one computation at a time, again if it went dirty meanwhile) when a
/// change concerns the user, at local midnight, and every minute while the throughput window
/// is non-empty.
final class DashboardView: @unchecked Sendable {
    let key: DashboardViewKey
    var computing = false
    var dirty = false
    var cause: DashboardCause?
    /// The pending refresh timer (midnight roll-over or throughput decay).
    var refreshTimer: UInt64?

    init(key: DashboardViewKey) { self.key = key }
}

/// What made a dashboard stale: one project (nil when several), the last actor.
struct DashboardCause {
    var projectID: String?
    var actor: UserRef?
    var timestampMs: Int64
}

extension EventHub {
    /// Opens one WatchDashboard stream (`onEnd` as for `watchProject`). Always starts with a
    /// SNAPSHOT (`resync` when a given resume position is outside the window or of another
    /// epoch), then DASHBOARD_METRICS_UPDATE when a metric changed.
    package func watchDashboard(
        caller: Caller, timeZone: String, resume: StreamResume?, timing: StreamTiming, outlet: any StreamOutlet,
        onEnd: @escaping @Sendable (StreamEnd?) -> Void
    ) -> StreamHandle {
        open(onEnd) { [self] in registerDashboard($0, caller: caller, timeZone: timeZone, resume: resume, timing: timing, outlet: outlet) }
    }

    private func registerDashboard(
        _ handle: StreamHandle, caller: Caller, timeZone: String, resume: StreamResume?, timing: StreamTiming, outlet: any StreamOutlet
    ) {
        guard !handle.isFinished else { return }
        guard !state.draining else {
            handle.finish(.draining)
            return
        }
        let key = DashboardViewKey(userID: caller.userID, timeZone: timeZone.isEmpty ? "UTC" : timeZone)
        let shard = shard(for: outlet.executor)
        let stream = DashboardStream(handle: handle, view: key, outlet: outlet, timing: timing)
        state.subscriptions[handle.id] = Subscription(kind: .dashboard(key), userID: caller.userID, shard: shard)
        state.userStreams[caller.userID, default: []].insert(handle.id)
        state.viewStreams[key, default: 0] += 1
        if state.views[key] == nil { state.views[key] = DashboardView(key: key) }
        state.viewsOf[caller.userID, default: []].insert(key)
        shard.executor.execute { shard.add(stream) }
        reader().execute { [self] in
            let metrics: DashboardMetrics
            do throws(StatsError) {
                metrics = try stats.dashboard(caller: caller, timeZone: key.timeZone)
            } catch {
                let end: StreamEnd = if case .invalidArgument(let message) = error { .invalid(message) } else { .failed("the dashboard could not be computed") }
                if case .failed = end { options.reportFault("event hub: computing a dashboard failed: \(error)") }
                shard.executor.execute { shard.end(stream, end) }
                return
            }
            let honoured = resume.map { $0.epoch == store.epoch && $0.revision <= Int64(metrics.revision) } ?? true
            let event = DashboardStreamEvent(
                EventHeader(revision: Int64(metrics.revision), timestampMs: SystemValues.milliseconds(), projectID: ""),
                .snapshot(metrics, resync: !honoured))
            let frame = encoder.encode(event)
            shard.executor.execute { stream.start(frame: frame, metrics: metrics, shard: shard) }
            worker.execute { [self] in scheduleRefresh(key, after: metrics) }
        }
    }

    /// Marks a view stale (hub thread); `startDirtyComputations` recomputes it.
    func markDirty(_ key: DashboardViewKey, _ cause: DashboardCause?) {
        guard let view = state.views[key] else { return }
        view.dirty = true
        if let cause {
            if var merged = view.cause {
                if merged.projectID != cause.projectID { merged.projectID = nil }
                merged.actor = cause.actor
                merged.timestampMs = cause.timestampMs
                view.cause = merged
            } else {
                view.cause = cause
            }
        }
    }

    func startDirtyComputations() {
        for view in state.views.values where view.dirty && !view.computing { compute(view) }
    }

    private func compute(_ view: DashboardView) {
        view.computing = true
        view.dirty = false
        let cause = view.cause
        view.cause = nil
        let key = view.key
        reader().execute { [self] in
            let result: DashboardMetrics?
            do {
                result = try stats.dashboard(caller: Caller(userID: key.userID, name: ""), timeZone: key.timeZone)
            } catch {
                options.reportFault("event hub: recomputing a dashboard failed: \(error)")
                result = nil
            }
            worker.execute { [self] in
                view.computing = false
                guard state.views[key] === view else { return }
                if let metrics = result {
                    let computed = ComputedMetrics(
                        metrics: metrics, projectID: cause?.projectID, actor: cause?.actor,
                        timestampMs: cause?.timestampMs ?? SystemValues.milliseconds())
                    let batch = ShardBatch(position: state.position, items: [.dashboard(key, computed)])
                    for shard in state.shardsOf(user: key.userID, kind: .dashboard) { shard.executor.execute { shard.apply(batch) } }
                    scheduleRefresh(key, after: metrics)
                }
                if view.dirty { compute(view) }
            }
        }
    }

    /// Recomputes the view at the next local midnight (day and week counters roll over),
    /// or within a minute while completions are inside the 10-minute throughput window.
    private func scheduleRefresh(_ key: DashboardViewKey, after metrics: DashboardMetrics) {
        guard let view = state.views[key] else { return }
        if let timer = view.refreshTimer { worker.cancelTimer(timer) }
        var delayMs = max(0, metrics.tomorrowStartMs - SystemValues.milliseconds()) + 20
        if metrics.throughputPerMinute > 0 { delayMs = min(delayMs, 60_000) }
        view.refreshTimer = worker.schedule(afterNanoseconds: UInt64(delayMs) * 1_000_000) { [weak self, weak view] in
            guard let self, let view, self.state.views[key] === view else { return }
            view.refreshTimer = nil
            self.markDirty(key, nil)
            self.startDirtyComputations()
        }
    }
}
