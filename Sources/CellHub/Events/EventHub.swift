import Synchronization

/// The real-time heart: after each commit it reads the new changes from the event log, in
/// revision order, and turns them into the events of every WatchProject, WatchDashboard and
/// WatchActivity stream allowed to see them.
///
/// One thread (`worker`) owns the hub's state — the log position, the member index, the
/// subscriptions, presence and dashboard views — and reads the store; it hands each event
/// loop (`StreamShard`) one batch per round, and the loop does the per-stream work. Reads that
/// start a stream (snapshot, replay, backlog) and dashboard recomputations run on `readers`,
/// so they never hold up the fan-out.
///
/// Woken by the store's commits (`CommitSignal`); a catch-up read every `catchUpInterval`
/// covers commits of other processes (`cellhubd users revoke`) and any missed wake-up. The
/// hub knows the store only through the domain's ports, so a multi-node store feeds it the
/// same way — presence included: a store shared by several nodes has a `PresenceBoard`, and
/// the watchers of a project are this hub's own merged with the other nodes'.
package final class EventHub: Sendable {
    package struct Options: Sendable {
        package var defaultUpdateIntervalNanoseconds: UInt64 = 100_000_000
        package var defaultHeartbeatNanoseconds: UInt64 = 15_000_000_000
        package var catchUpIntervalNanoseconds: UInt64 = 250_000_000
        package var budget = StreamBudget()
        /// Changes a resume may replay for one project; past it the stream resyncs.
        package var maxReplay = 10_000
        /// Threads for snapshots, replays and dashboard computations.
        package var readerCount = 2
        /// Faults the hub cannot report to a client (undecodable rows, store failures).
        package var reportFault: @Sendable (String) -> Void = { _ in }

        package init() {}
    }

    let options: Options
    let store: any DomainStore
    let stats: ProjectStatsService
    let decoder: any ChangeDecoding
    let encoder: any StreamEventEncoding
    let worker = SerialWorker(name: "event-hub")
    let readers: [SerialWorker]
    /// The other nodes' watchers and where this node's are published; nil on a store only
    /// this process serves.
    let board: (any PresenceBoard)?
    private let nextReader = Atomic<Int>(0)
    private let nextStreamID = Atomic<UInt64>(1)
    /// Confined to `worker`.
    let state = HubState()
    /// Called with each round's decoded changes (hub thread), e.g. the job dispatcher.
    private let observers = Mutex<[@Sendable ([Change]) -> Void]>([])
    private let wakePending = Atomic<Bool>(false)

    package var epoch: String { store.epoch }

    package init(
        store: any DomainStore, stats: ProjectStatsService, decoder: any ChangeDecoding, encoder: any StreamEventEncoding,
        options: Options = Options()
    ) {
        self.store = store
        self.stats = stats
        self.decoder = decoder
        self.encoder = encoder
        self.options = options
        board = store.presence
        readers = (0..<max(1, options.readerCount)).map { SerialWorker(name: "event-hub-reader-\($0)") }
    }

    /// Loads the member index and the log position, then follows the log. Call once, before
    /// any stream subscribes.
    package func start() throws(StoreError) {
        let members = try store.allMembers()
        let current = try store.eventLogBounds().current
        worker.sync { [self] in
            state.index = MemberIndex(members)
            state.position = current
        }
        store.onCommit { [weak self] in self?.wake() }
        scheduleCatchUp()
        // Its first read is applied before any stream registers (both on the hub's thread).
        let worker = self.worker
        board?.start(
            observe: { [weak self] remote in
                guard let hub = self else { return }
                worker.execute { hub.remoteWatchersChanged(remote) }
            },
            reportFault: options.reportFault)
    }

    /// Registers `observer` for every round of changes the hub reads, in order, on the hub's
    /// thread: it must return quickly (hand the work to its own thread).
    package func observeChanges(_ observer: @escaping @Sendable ([Change]) -> Void) {
        observers.withLock { $0.append(observer) }
    }

    /// Ends every stream UNAVAILABLE (graceful drain) and refuses new ones.
    package func drain() {
        worker.sync { [self] in
            state.draining = true
            for shard in state.shards.values {
                shard.executor.execute { shard.apply(ShardBatch(position: 0, items: [.endAll(.draining)])) }
            }
        }
    }

    /// Stops the hub's threads (after `drain`) and withdraws this node's watchers from the
    /// other nodes.
    package func stop() {
        worker.stop()
        for reader in readers { reader.stop() }
        board?.stop()
    }

    /// Counts, for logs and tests: (streams, projects watched, dashboard views, position).
    package func census() -> (streams: Int, projects: Int, views: Int, position: Int64) {
        worker.sync { [self] in (state.subscriptions.count, state.projectStreams.count, state.views.count, state.position) }
    }

    // MARK: Following the log

    private func wake() {
        guard !wakePending.exchange(true, ordering: .acquiringAndReleasing) else { return }
        worker.execute { [self] in
            wakePending.store(false, ordering: .releasing)
            catchUp()
        }
    }

    private func scheduleCatchUp() {
        worker.schedule(afterNanoseconds: options.catchUpIntervalNanoseconds) { [weak self] in
            guard let self else { return }
            self.catchUp()
            self.scheduleCatchUp()
        }
    }

    /// Reads and delivers every change committed after the hub's position (hub thread).
    func catchUp() {
        while true {
            let events: [StoredEvent]
            do {
                events = try store.events(after: state.position, limit: 1_000)
            } catch {
                options.reportFault("event hub: reading the event log failed: \(error)")
                return
            }
            guard !events.isEmpty else { return }
            deliver(events)
            if events.count < 1_000 { return }
        }
    }

    private func deliver(_ events: [StoredEvent]) {
        let first = state.position
        var batches: [ObjectIdentifier: ShardBatch] = [:]
        func add(_ item: ShardBatch.Item, to shard: StreamShard) {
            batches[shard.key, default: ShardBatch(position: 0)].items.append(item)
        }
        var activityUsers: Set<String> = []
        var decoded: [Change] = []
        for stored in events {
            state.position = stored.revision
            guard let change = decoder.decode(stored) else {
                options.reportFault("event hub: cannot decode event-log row \(stored.revision) (kind \(stored.rawKind)); skipped")
                continue
            }
            decoded.append(change)
            let touched = change.projectIDs
            var concerned = Set(touched.flatMap { state.index.members(of: $0).map(\.user.id) })
            state.index.apply(change)
            concerned.formUnion(touched.flatMap { state.index.members(of: $0).map(\.user.id) })
            concerned.formUnion(change.users.map(\.id))
            if let actor = change.actorID { concerned.insert(actor) }

            // Project streams: each effect once, its discrete events encoded once.
            if !state.projectStreams.isEmpty {
                for (projectID, var effect) in ProjectEffect.effects(of: change, user: user) {
                    guard let shards = state.projectShards[projectID] else { continue }
                    for index in effect.discrete.indices { effect.discrete[index].frame = encoder.encode(effect.discrete[index].event) }
                    for shardID in shards.keys { if let shard = state.shards[shardID] { add(.project(projectID, effect), to: shard) } }
                }
            }
            // Token revocation ends the user's streams.
            if change.kind == .userRevoked {
                for user in change.users { for shard in state.shardsOf(user: user.id) { add(.endUser(user.id, .unauthenticated), to: shard) } }
            }
            // Dashboards: every member of a touched project (before and after), the users
            // concerned; a queue movement changes everyone's queue length.
            if !state.views.isEmpty {
                let cause = DashboardCause(projectID: touched.count == 1 ? touched[0] : nil, actor: change.actorID.flatMap(user), timestampMs: change.committedAtMs)
                if Self.movesQueue(change) {
                    for key in state.views.keys { markDirty(key, cause) }
                } else {
                    for user in concerned { for key in state.viewsOf[user] ?? [] { markDirty(key, cause) } }
                }
            }
            activityUsers.formUnion(concerned.filter { state.activityStreams[$0] != nil })
        }
        if !activityUsers.isEmpty {
            do {
                let entries = try store.activity(for: Array(activityUsers), after: first, through: state.position)
                let byUser = Dictionary(grouping: entries, by: \.recipientID)
                for (user, entries) in byUser { for shard in state.shardsOf(user: user, kind: .activity) { add(.activity(user, entries), to: shard) } }
            } catch {
                options.reportFault("event hub: reading activity entries failed: \(error)")
            }
        }
        for (id, batch) in batches {
            guard let shard = state.shards[id] else { continue }
            var ready = batch
            ready.position = state.position
            let sent = ready
            shard.executor.execute { shard.apply(sent) }
        }
        startDirtyComputations()
        if !decoded.isEmpty { for observer in observers.withLock({ $0 }) { observer(decoded) } }
    }

    /// A user by id with their name, for the actor of events: from the member index, else
    /// read once from the store and remembered (hub thread).
    func user(_ id: String) -> UserRef? {
        if let known = state.index.user(id) { return known }
        if let cached = state.names[id] { return cached }
        guard let found = (try? store.user(id: id))?.map(\.ref) else { return nil }
        if state.names.count > 100_000 { state.names.removeAll() }
        state.names[id] = found
        return found
    }

    /// Whether a change moves the service-wide queue (everyone's queue length).
    static func movesQueue(_ change: Change) -> Bool {
        switch change.kind {
        case .segmentationQueued, .segmentationStarted, .segmentationCancelled, .leasesExpired:
            return true
        case .segmentationFailed:
            return change.jobs.contains { if case .requeued = $0.outcome { true } else { false } }
        case .imageDeleted, .imagesDeleted:
            return change.images.contains { $0.previousStatus == .queued }
        case .projectDeleted:
            return true
        default:
            return false
        }
    }

    func reader() -> SerialWorker {
        readers[nextReader.wrappingAdd(1, ordering: .relaxed).oldValue % readers.count]
    }

    /// A new stream's handle, ending through `onEnd`; `register` runs on the hub thread.
    func open(_ onEnd: @escaping @Sendable (StreamEnd?) -> Void, register: @escaping @Sendable (StreamHandle) -> Void) -> StreamHandle {
        let handle = StreamHandle(id: nextStreamID.wrappingAdd(1, ordering: .relaxed).oldValue)
        handle.whenEnded(onEnd)
        worker.execute { register(handle) }
        return handle
    }

    /// The client of a stream went away: the hub forgets it (its `onEnd` hears nil, unless it
    /// had ended already). Any thread.
    package func close(_ handle: StreamHandle) {
        worker.execute { [self] in cancel(handle) }
    }

    /// The shard of an executor (hub thread), made on first use.
    func shard(for executor: any StreamExecutor) -> StreamShard {
        let id = ObjectIdentifier(executor)
        if let shard = state.shards[id] { return shard }
        let worker = self.worker
        let shard = StreamShard(executor: executor, encoder: encoder, budget: options.budget) { [weak self] streamID in
            guard let hub = self else { return }
            worker.execute { hub.unregister(streamID) }
        }
        state.shards[id] = shard
        return shard
    }

    /// A stream is over (ended by the hub, or its client went away): forget it (hub thread).
    func unregister(_ id: UInt64) {
        guard let subscription = state.subscriptions.removeValue(forKey: id) else { return }
        let shardID = subscription.shard.key
        state.userStreams[subscription.userID]?.remove(id)
        if state.userStreams[subscription.userID]?.isEmpty == true { state.userStreams[subscription.userID] = nil }
        switch subscription.kind {
        case .project(let projectID):
            state.projectStreams[projectID]?.remove(id)
            state.projectShards[projectID]?[shardID, default: 1] -= 1
            if state.projectShards[projectID]?[shardID] == 0 { state.projectShards[projectID]?[shardID] = nil }
            if state.projectStreams[projectID]?.isEmpty == true {
                state.projectStreams[projectID] = nil
                state.projectShards[projectID] = nil
            }
            leave(projectID: projectID, userID: subscription.userID)
        case .dashboard(let key):
            state.viewStreams[key, default: 1] -= 1
            if state.viewStreams[key] == 0 {
                state.viewStreams[key] = nil
                state.views[key] = nil
                state.viewsOf[key.userID]?.remove(key)
                if state.viewsOf[key.userID]?.isEmpty == true { state.viewsOf[key.userID] = nil }
            }
        case .activity:
            state.activityStreams[subscription.userID, default: 1] -= 1
            if state.activityStreams[subscription.userID] == 0 { state.activityStreams[subscription.userID] = nil }
        }
    }

    /// A client went away before or after its stream started (hub thread).
    func cancel(_ handle: StreamHandle) {
        handle.finish(nil)
        guard let subscription = state.subscriptions[handle.id] else { return }
        let shard = subscription.shard
        shard.executor.execute { shard.remove(handle.id) }
        unregister(handle.id)
    }

    /// Sends `batch` to every shard that hosts streams of `projectID` (hub thread).
    func send(_ item: ShardBatch.Item, toShardsOf projectID: String) {
        for shardID in state.projectShards[projectID]?.keys.map({ $0 }) ?? [] {
            guard let shard = state.shards[shardID] else { continue }
            let batch = ShardBatch(position: state.position, items: [item])
            shard.executor.execute { shard.apply(batch) }
        }
    }

    // MARK: Presence

    /// A stream of `user` opened on `projectID`: their first one here makes them a watcher of
    /// this node (published on the board); PRESENCE joined goes to the other streams unless
    /// they were a watcher already through another node. Returns the project's watchers.
    func join(projectID: String, user: UserRef, streamID: UInt64) -> [UserRef] {
        let before = state.watchers[projectID]?[user.id]?.count ?? 0
        state.watchers[projectID, default: [:]][user.id] = (user, before + 1)
        let present = watcherMap(of: projectID)
        if before == 0 {
            board?.setWatching(true, projectID: projectID, user: user)
            if state.remoteWatchers[projectID]?[user.id] == nil {
                send(.presence(projectID, PresenceChange(joined: true, user: user, watchers: Self.sorted(present), except: streamID)), toShardsOf: projectID)
            }
        }
        return Self.sorted(present)
    }

    /// A stream of `userID` on `projectID` is gone: their last one here ends their watching
    /// on this node, and PRESENCE left goes out unless another node still has them.
    private func leave(projectID: String, userID: String) {
        guard let entry = state.watchers[projectID]?[userID] else { return }
        if entry.count > 1 {
            state.watchers[projectID]?[userID] = (entry.user, entry.count - 1)
            return
        }
        state.watchers[projectID]?[userID] = nil
        if state.watchers[projectID]?.isEmpty == true { state.watchers[projectID] = nil }
        board?.setWatching(false, projectID: projectID, user: entry.user)
        if state.projectStreams[projectID] != nil, state.remoteWatchers[projectID]?[userID] == nil {
            send(.presence(projectID, PresenceChange(joined: false, user: entry.user, watchers: watchers(of: projectID), except: nil)), toShardsOf: projectID)
        }
    }

    /// The board read other nodes' watchers (hub thread): every project with streams here
    /// whose merged watchers changed gets PRESENCE left, then joined, one user at a time, each
    /// with the list as it stands after it.
    func remoteWatchersChanged(_ remote: RemoteWatchers) {
        let previous = state.remoteWatchers
        state.remoteWatchers = remote
        for projectID in Set(previous.keys).union(remote.keys) where state.projectStreams[projectID] != nil {
            guard previous[projectID] != remote[projectID] else { continue }
            let local = (state.watchers[projectID] ?? [:]).mapValues(\.user)
            var present = local.merging(previous[projectID] ?? [:]) { mine, _ in mine }
            let after = local.merging(remote[projectID] ?? [:]) { mine, _ in mine }
            for user in Self.sorted(present.filter { after[$0.key] == nil }) {
                present[user.id] = nil
                send(.presence(projectID, PresenceChange(joined: false, user: user, watchers: Self.sorted(present), except: nil)), toShardsOf: projectID)
            }
            for user in Self.sorted(after.filter { present[$0.key] == nil }) {
                present[user.id] = user
                send(.presence(projectID, PresenceChange(joined: true, user: user, watchers: Self.sorted(present), except: nil)), toShardsOf: projectID)
            }
        }
    }

    /// The project's watchers on every node, one per user, sorted by name.
    func watchers(of projectID: String) -> [UserRef] {
        Self.sorted(watcherMap(of: projectID))
    }

    /// The project's watchers on every node by user id: this node's, then the others'.
    private func watcherMap(of projectID: String) -> [String: UserRef] {
        let local = (state.watchers[projectID] ?? [:]).mapValues(\.user)
        guard let remote = state.remoteWatchers[projectID] else { return local }
        return local.merging(remote) { mine, _ in mine }
    }

    private static func sorted(_ users: [String: UserRef]) -> [UserRef] {
        users.values.sorted { ($0.name, $0.id) < ($1.name, $1.id) }
    }
}

/// The hub's state, confined to its worker thread.
final class HubState: @unchecked Sendable {
    var position: Int64 = 0
    var index = MemberIndex()
    /// Names of actors the index does not know (users without memberships).
    var names: [String: UserRef] = [:]
    var draining = false
    var shards: [ObjectIdentifier: StreamShard] = [:]
    var subscriptions: [UInt64: Subscription] = [:]
    /// Per user: their stream ids (revocation ends them all).
    var userStreams: [String: Set<UInt64>] = [:]
    /// Per project: its streams, and how many live on each shard.
    var projectStreams: [String: Set<UInt64>] = [:]
    var projectShards: [String: [ObjectIdentifier: Int]] = [:]
    /// Per project: who watches it through this hub, with how many streams.
    var watchers: [String: [String: (user: UserRef, count: Int)]] = [:]
    /// Per project: who watches it on other nodes (the `PresenceBoard`'s last read).
    var remoteWatchers: RemoteWatchers = [:]
    var views: [DashboardViewKey: DashboardView] = [:]
    var viewStreams: [DashboardViewKey: Int] = [:]
    var viewsOf: [String: Set<DashboardViewKey>] = [:]
    /// Per user: how many activity streams.
    var activityStreams: [String: Int] = [:]

    func shardsOf(user userID: String, kind: SubscriptionKindTag? = nil) -> [StreamShard] {
        var seen: Set<ObjectIdentifier> = []
        var result: [StreamShard] = []
        for id in userStreams[userID] ?? [] {
            guard let subscription = subscriptions[id] else { continue }
            if let kind, subscription.kind.tag != kind { continue }
            if seen.insert(ObjectIdentifier(subscription.shard)).inserted { result.append(subscription.shard) }
        }
        return result
    }
}

/// One stream as the hub knows it.
struct Subscription {
    enum Kind {
        case project(String)
        case dashboard(DashboardViewKey)
        case activity

        var tag: SubscriptionKindTag {
            switch self {
            case .project: .project
            case .dashboard: .dashboard
            case .activity: .activity
            }
        }
    }

    var kind: Kind
    var userID: String
    var shard: StreamShard
}

enum SubscriptionKindTag { case project, dashboard, activity }
