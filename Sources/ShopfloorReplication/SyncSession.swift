/// The device's side of one sync (PROTOCOL.md §20), as a state machine that does no I/O.
///
/// A driver feeds it events (what the replica read, what HQ answered, that a request failed, that a wait ended) and
/// carries out the actions it returns (read this, send that, fold these pages, save progress, wait, finish). The
/// HTTP client (`SyncClient`) and the simulator are two drivers of this one algorithm: the soak runs the code that
/// ships. Invariants, whatever the driver does: at most one request is outstanding (sent, or waiting to be sent
/// again), at most one fold is running, and at most two fold groups of pull entries are held.
public struct SyncSession: Sendable {
    public struct Configuration: Sendable {
        /// Operations per push.
        public var batchOperationsMax: Int
        /// Sends of one request at most (the first and its retries).
        public var attemptsMax: Int
        public var backoffInitialSeconds: Double
        public var backoffMaxSeconds: Double
        /// Entries (operations and bare sequence numbers) folded in one transaction once that many are held. A device
        /// with unsynced work of its own rewinds and refolds that suffix once per group, so groups much larger than a
        /// page keep that cost small beside the pulled operations.
        public var pullGroupEntries: Int
        /// Operations asked for per pull page.
        public var pullPageLimit: Int
        /// The snapshot format the device installs (PROTOCOL.md §20); nil: never ask for a snapshot.
        public var snapshotFormat: String?
        /// Bytes of a snapshot asked for per request.
        public var snapshotChunkBytes: Int
        /// A defect planted on purpose, to show that the simulator finds it (tests only).
        package var fault: Fault?

        public init(
            batchOperationsMax: Int = 500, attemptsMax: Int = 8, backoffInitialSeconds: Double = 0.1,
            backoffMaxSeconds: Double = 2, pullGroupEntries: Int? = nil, pullPageLimit: Int? = nil,
            snapshotFormat: String? = nil, snapshotChunkBytes: Int = 16 * 1024 * 1024
        ) {
            self.batchOperationsMax = max(1, batchOperationsMax)
            self.attemptsMax = max(1, attemptsMax)
            self.backoffInitialSeconds = backoffInitialSeconds
            self.backoffMaxSeconds = backoffMaxSeconds
            self.pullGroupEntries = max(1, pullGroupEntries ?? self.batchOperationsMax * 20)
            self.pullPageLimit = max(1, pullPageLimit ?? self.batchOperationsMax * 4)
            self.snapshotFormat = snapshotFormat
            self.snapshotChunkBytes = max(1, snapshotChunkBytes)
        }
    }

    /// Defects the fault-injection test plants in the session.
    package enum Fault: Sendable, Equatable {
        /// Push progress is never saved, so every session sends the device's whole history again.
        case skipProgressSave
    }

    /// A request to HQ.
    public enum Request: Sendable {
        /// POST /v1/push
        case push(PushRequest)
        /// POST /v1/pull
        case pull(PullRequest)
        /// GET /v1/digest, for HQ's vector: what it holds of this device when it lacks earlier operations.
        case vector
        /// POST /v1/snapshot
        case snapshotOffer(SnapshotRequest)
        /// GET /v1/snapshot/{id} with `Range: bytes=offset-(offset+length-1)`
        case snapshotBytes(id: String, offset: Int64, length: Int)
    }

    /// HQ's answer to a request (a 200).
    public enum Answer: Sendable {
        case pushed(PushResponse)
        case page(PullResponse)
        case vector(VersionVector)
        case snapshotOffer(SnapshotManifest?)
        case snapshotBytes([UInt8])
    }

    /// What the replica did with pulled pages.
    public struct Integration: Sendable {
        /// Operations new to the replica.
        public var accepted: Int
        /// The first refusal, if the replica refused an operation HQ sent.
        public var refusal: String?
        /// The replica's vector and sequence cursor after the fold committed.
        public var vector: VersionVector
        public var sequencedThrough: UInt64

        public init(accepted: Int, refusal: String? = nil, vector: VersionVector, sequencedThrough: UInt64) {
            self.accepted = accepted
            self.refusal = refusal
            self.vector = vector
            self.sequencedThrough = sequencedThrough
        }
    }

    public enum Event: Sendable {
        /// The answer to `.read`: the device's own operations after the counter asked, in order.
        case read([ShopOperation])
        case answered(Answer)
        /// HQ answered with an error status (`retryAfterSeconds`: a 429's Retry-After).
        case refused(status: Int, code: String, message: String, retryAfterSeconds: Int?)
        /// No answer: the connection failed, the request timed out, or the reply was unreadable in transit.
        case failed(String)
        /// A `.wait` ended.
        case waited
        /// The answer to `.integrate`.
        case integrated(Integration)
        /// The answer to `.install`: the snapshot is the replica's state now.
        case installed(Integration)
        /// The answer to `.install`: the file did not verify, or the replica would have lost operations.
        case installRefused(String)
    }

    public enum Phase: String, Sendable {
        case push, pull
        /// Downloading a snapshot: done and total are bytes.
        case snapshot
    }

    public enum Action: Sendable {
        /// Read at most `limit` of the device's own operations after `counter`; answer with `.read`.
        case read(after: UInt64, limit: Int)
        /// Send a request; answer with `.answered`, `.refused` or `.failed`.
        case send(Request)
        /// Wait before sending again; answer with `.waited`.
        case wait(seconds: Double)
        /// Fold these pages in one transaction; answer with `.integrated`.
        case integrate([PullResponse])
        /// Keep these bytes of the snapshot `id` at `offset` (from 0: start a new file), durably (no answer).
        case storeSnapshot(id: String, offset: Int64, bytes: [UInt8])
        /// Verify the stored snapshot against its manifest and install it; answer `.installed` or `.installRefused`.
        case install(SnapshotManifest)
        /// Save the highest own counter HQ holds, before going on (no answer).
        case savePushed(UInt64)
        /// Report progress (no answer).
        case progress(phase: Phase, done: Int, total: Int)
        /// The session is over.
        case finish(Summary)
        case fail(Failure)
    }

    public struct Summary: Sendable, Equatable {
        /// Own operations HQ accepted, and those it already held.
        public var pushed = 0
        public var duplicates = 0
        /// Pulled operations that were new here (a snapshot's included).
        public var pulled = 0
        /// The snapshot installed, if one was.
        public var snapshot: String?

        public init(pushed: Int = 0, duplicates: Int = 0, pulled: Int = 0, snapshot: String? = nil) {
            self.pushed = pushed
            self.duplicates = duplicates
            self.pulled = pulled
            self.snapshot = snapshot
        }
    }

    public enum Failure: Error, Sendable, Equatable {
        /// HQ refused a request for good (4xx).
        case refused(status: Int, code: String, message: String)
        case unreachable(attempts: Int, lastError: String)
        /// HQ (or the driver) broke the protocol.
        case protocolViolation(String)
    }

    /// The refusal code of a push whose operations follow ones HQ lacks (PROTOCOL.md §4).
    static let missingDependency = "missing_dependency"

    public let replica: String
    public let configuration: Configuration
    public private(set) var summary = Summary()
    public private(set) var finished = false

    // Push
    private var pushed: UInt64 = 0
    private var pushTotal = 0
    private var batchLast: UInt64?
    private var realignments = 0
    // The outstanding request and its retries
    private var outstanding: Request?
    private var attempts = 0
    private var delay = 0.0
    private var throttled = false
    private var waiting = false
    // Pull
    private var phase = Phase.push
    private var committed = VersionVector()
    private var through: UInt64 = 0
    private var roundFirst = false
    private var fetchingDone = true
    private var nextAfter: UInt64 = 0
    private var buffer: [PullResponse] = []
    private var buffered = 0
    private var folding = false
    private var pullTotal = 0
    // Snapshot
    private var partial: (id: String, bytes: Int64)?
    private var snapshot: SnapshotManifest?
    private var installing = false
    private var snapshotRetries = 0

    public init(replica: String, configuration: Configuration = Configuration()) {
        self.replica = replica
        self.configuration = configuration
    }

    /// Starts the session: push the device's operations after `pushed` (its saved progress), then pull.
    /// `partialSnapshot`: the snapshot bytes a killed session kept, resumed if HQ still offers that snapshot.
    public mutating func start(
        pushed: UInt64, vector: VersionVector, sequencedThrough: UInt64,
        partialSnapshot: (id: String, bytes: Int64)? = nil
    ) -> [Action] {
        self.pushed = pushed
        partial = partialSnapshot
        committed = vector
        through = sequencedThrough
        let own = vector[replica]
        pushTotal = Self.gap(own, pushed)
        return [.read(after: pushed, limit: configuration.batchOperationsMax)]
    }

    public mutating func handle(_ event: Event) -> [Action] {
        guard !finished else { return [] }
        switch event {
        case .read(let operations): return didRead(operations)
        case .answered(let answer): return didAnswer(answer)
        case .refused(let status, let code, let message, let retryAfter):
            return didRefuse(status: status, code: code, message: message, retryAfter: retryAfter)
        case .failed(let reason): return retryOrGiveUp(reason)
        case .waited:
            guard waiting, let request = outstanding else { return unexpected("a wait ended that was not asked for") }
            waiting = false
            attempts += 1
            return [.send(request)]
        case .integrated(let integration): return didIntegrate(integration)
        case .installed(let integration): return didInstall(integration)
        case .installRefused:
            guard installing else { return unexpected("an install that was not asked for") }
            installing = false
            snapshot = nil
            return beginRound()
        }
    }

    // MARK: Requests

    private mutating func send(_ request: Request) -> [Action] {
        outstanding = request
        attempts = 1
        delay = configuration.backoffInitialSeconds
        throttled = false
        waiting = false
        return [.send(request)]
    }

    private mutating func retryOrGiveUp(_ reason: String) -> [Action] {
        guard outstanding != nil, !waiting else { return unexpected("a failure of no outstanding request") }
        guard attempts < configuration.attemptsMax else {
            return fail(.unreachable(attempts: attempts, lastError: reason))
        }
        waiting = true
        defer { delay = min(delay * 2, configuration.backoffMaxSeconds) }
        return [.wait(seconds: delay)]
    }

    private mutating func didRefuse(status: Int, code: String, message: String, retryAfter: Int?) -> [Action] {
        guard let request = outstanding, !waiting else { return unexpected("a refusal of no outstanding request") }
        if status == 429, !throttled, let seconds = retryAfter, (1...60).contains(seconds),
            attempts < configuration.attemptsMax
        {
            // HQ's back-off on bad credentials (PROTOCOL.md §3.2.1) hit this address: wait once, as told.
            throttled = true
            waiting = true
            return [.wait(seconds: Double(seconds))]
        }
        if status >= 500 { return retryOrGiveUp("HTTP \(status) \(code): \(message)") }
        if case .snapshotBytes = request, status == 404, let format = configuration.snapshotFormat {
            // HQ replaced the snapshot under way: ask again (a newer one), twice at most, then pull the log.
            snapshot = nil
            snapshotRetries += 1
            guard snapshotRetries <= 2 else { return beginRound() }
            return askForSnapshot(format: format)
        }
        if case .push = request, status == 409, code == Self.missingDependency, realignments < 3 {
            // HQ lacks our earlier operations (restored from a backup?): start again from what it holds.
            realignments += 1
            return send(.vector)
        }
        return fail(.refused(status: status, code: code, message: message))
    }

    private mutating func didAnswer(_ answer: Answer) -> [Action] {
        guard let request = outstanding, !waiting else { return unexpected("an answer to no outstanding request") }
        outstanding = nil
        switch (request, answer) {
        case (.push, .pushed(let response)):
            guard let last = batchLast else { return unexpected("a push answer without a batch") }
            summary.pushed += response.results.count(where: { $0.status == .accepted })
            summary.duplicates += response.results.count(where: { $0.status == .duplicate })
            pushed = max(pushed, last)
            batchLast = nil
            var actions: [Action] = []
            if configuration.fault != .skipProgressSave { actions.append(.savePushed(pushed)) }
            actions.append(
                .progress(phase: .push, done: summary.pushed + summary.duplicates, total: pushTotal))
            actions.append(.read(after: pushed, limit: configuration.batchOperationsMax))
            return actions
        case (.vector, .vector(let vector)):
            pushed = vector[replica]
            batchLast = nil
            return [.savePushed(pushed), .read(after: pushed, limit: configuration.batchOperationsMax)]
        case (.pull, .page(let page)):
            return didReceive(page)
        case (.snapshotOffer, .snapshotOffer(let manifest)):
            guard let manifest else { return beginRound() }
            snapshot = manifest
            let offset = partial.flatMap { $0.id == manifest.id ? min($0.bytes, manifest.bytes) : nil } ?? 0
            return fetchSnapshot(from: offset)
        case (.snapshotBytes(let id, let offset, let length), .snapshotBytes(let bytes)):
            guard let manifest = snapshot, manifest.id == id, bytes.count == length else {
                return fail(.protocolViolation("HQ sent \(bytes.count) bytes of a snapshot where \(length) were asked"))
            }
            let next = offset + Int64(bytes.count)
            return [
                .storeSnapshot(id: id, offset: offset, bytes: bytes),
                .progress(phase: .snapshot, done: Int(next), total: Int(manifest.bytes)),
            ] + fetchSnapshot(from: next)
        default:
            return unexpected("an answer of the wrong kind")
        }
    }

    // MARK: Push

    private mutating func didRead(_ operations: [ShopOperation]) -> [Action] {
        guard phase == .push, outstanding == nil else { return unexpected("a read that was not asked for") }
        guard let last = operations.last else {
            phase = .pull
            guard let format = configuration.snapshotFormat else { return beginRound() }
            return askForSnapshot(format: format)
        }
        batchLast = last.id.counter
        return send(.push(PushRequest(replica: replica, operations: operations)))
    }

    // MARK: Snapshot

    private mutating func askForSnapshot(format: String) -> [Action] {
        send(.snapshotOffer(SnapshotRequest(vector: committed, format: format)))
    }

    /// Asks for the snapshot's next bytes, or installs it once all are stored.
    private mutating func fetchSnapshot(from offset: Int64) -> [Action] {
        guard let manifest = snapshot else { return unexpected("a snapshot fetch without an offer") }
        guard offset < manifest.bytes else {
            installing = true
            return [.install(manifest)]
        }
        let length = Int(min(Int64(configuration.snapshotChunkBytes), manifest.bytes - offset))
        return send(.snapshotBytes(id: manifest.id, offset: offset, length: length))
    }

    private mutating func didInstall(_ integration: Integration) -> [Action] {
        guard installing, let manifest = snapshot else { return unexpected("an install that was not asked for") }
        installing = false
        summary.pulled += Self.gap(integration.vector.total, committed.total)
        summary.snapshot = manifest.id
        committed = integration.vector
        through = integration.sequencedThrough
        return beginRound()
    }

    // MARK: Pull

    /// A round starts after what the replica has committed and ends when a page is empty or the last; the pull ends
    /// with a round whose first page is empty, which also tells HQ the final vector.
    private mutating func beginRound() -> [Action] {
        roundFirst = true
        fetchingDone = false
        return pull(after: through)
    }

    private mutating func didReceive(_ page: PullResponse) -> [Action] {
        let entries = page.operations.count + page.sequenced.count
        if roundFirst {
            roundFirst = false
            if pullTotal == 0 {
                pullTotal = Self.gap(page.vector.total, committed.total)
            }
            if entries == 0 {
                guard !page.more else {
                    return fail(.protocolViolation("HQ said more operations remain but sent none"))
                }
                guard !folding, buffer.isEmpty else { return unexpected("a round ended with pages unfolded") }
                finished = true
                return [.finish(summary)]
            }
        }
        if entries > 0 {
            buffer.append(page)
            buffered += entries
        }
        nextAfter = page.last
        fetchingDone = !(page.more && entries > 0)
        return continuePull()
    }

    private mutating func didIntegrate(_ integration: Integration) -> [Action] {
        guard folding else { return unexpected("a fold that was not asked for") }
        folding = false
        if let refusal = integration.refusal {
            return fail(.protocolViolation("HQ sent an operation the replica refused: \(refusal)"))
        }
        summary.pulled += integration.accepted
        committed = integration.vector
        through = integration.sequencedThrough
        let progress = Action.progress(phase: .pull, done: summary.pulled, total: max(pullTotal, summary.pulled))
        return [progress] + continuePull()
    }

    /// Asks for the page after `after`, with the vector committed so far.
    private mutating func pull(after: UInt64) -> [Action] {
        send(.pull(PullRequest(vector: committed, limit: configuration.pullPageLimit, after: after)))
    }

    /// Folds or fetches what is next; once the round's pages are all folded, starts the next round.
    private mutating func continuePull() -> [Action] {
        let actions = foldOrFetch()
        guard fetchingDone, buffer.isEmpty, !folding, outstanding == nil else { return actions }
        return actions + beginRound()
    }

    /// Folds what is held once it is a group (or the round's fetching is done), and asks for the next page while fewer
    /// than two groups are held. Each request carries the vector committed so far, which may trail the pages held:
    /// those hold only operations numbered after the earlier ones, so it still tells HQ which the device holds.
    private mutating func foldOrFetch() -> [Action] {
        var actions: [Action] = []
        if !folding, !buffer.isEmpty, buffered >= configuration.pullGroupEntries || fetchingDone {
            folding = true
            actions.append(.integrate(buffer))
            buffer = []
            buffered = 0
        }
        if !fetchingDone, outstanding == nil, buffered < 2 * configuration.pullGroupEntries {
            actions += pull(after: nextAfter)
        }
        return actions
    }

    // MARK: Ending

    /// How far `a` is ahead of `b` (0 when it is not).
    private static func gap(_ a: UInt64, _ b: UInt64) -> Int {
        Int(clamping: a > b ? a - b : 0)
    }

    private mutating func fail(_ failure: Failure) -> [Action] {
        finished = true
        return [.fail(failure)]
    }

    private mutating func unexpected(_ what: String) -> [Action] {
        fail(.protocolViolation("sync session: \(what)"))
    }
}
