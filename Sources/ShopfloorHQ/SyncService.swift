import Foundation
import HTTPTypes
import Logging
import ShopfloorReplication
import ShopfloorStore

/// HQ's side of the sync protocol without HTTP: what a device's push and pull do to HQ's store (PROTOCOL.md §4, §5,
/// §7). `HQServer` serves it over HTTP, storing pushes through its group committer; the simulator calls it in
/// process, so the soak runs the checks, the answers and the bookkeeping that ship.
package struct SyncService: Sendable {
    package let replica: Replica
    package let registry: DeviceRegistry
    let configuration: HQConfiguration
    /// Snapshots for devices far behind (nil: none are offered).
    package let snapshots: SnapshotStore?
    let logger: Logger

    package init(
        replica: Replica, registry: DeviceRegistry, configuration: HQConfiguration = HQConfiguration(),
        snapshots: SnapshotStore? = nil, logger: Logger = Logger(label: "shopfloor.hq.sync")
    ) {
        self.replica = replica
        self.registry = registry
        self.configuration = configuration
        self.snapshots = snapshots
        self.logger = logger
    }

    /// The longest snapshot format a request may name (the OpenAPI document's bound).
    static let snapshotFormatMax = 200

    /// POST /v1/snapshot: a snapshot when the device is far behind HQ, else none (pull the log).
    package func snapshotOffer(_ request: SnapshotRequest, from device: DeviceRegistry.Record) throws -> SnapshotOffer {
        if let problem = request.vector.boundsViolation() { throw HQError.malformed("vector: \(problem)") }
        guard request.format.unicodeScalars.count <= Self.snapshotFormatMax else {
            throw HQError.malformed("format: at most \(Self.snapshotFormatMax) characters")
        }
        try registry.recordContact(device.id)
        guard let snapshots else { return SnapshotOffer(snapshot: nil) }
        let manifest = try snapshots.offer(to: request.vector, format: request.format, replica: replica)
        if let manifest {
            logger.info(
                "snapshot offered",
                metadata: ["device": "\(device.id)", "snapshot": "\(manifest.id)", "bytes": "\(manifest.bytes)"])
        }
        return SnapshotOffer(snapshot: manifest)
    }

    /// GET /v1/snapshot/{id}: the open snapshot and how many of the `length` bytes asked for from `offset` it holds.
    package func snapshotPart(_ id: String, offset: Int64, length: Int) throws -> (file: SnapshotFile, count: Int) {
        guard offset >= 0, length > 0 else { throw HQError.malformed("a range starts at 0 or later and is not empty") }
        guard let file = snapshots?.open(id) else {
            throw HQError.notFound(
                "no snapshot '\(DeviceRegistry.printable(String(id.prefix(80))))': ask for a new one")
        }
        guard offset < file.size || file.size == 0 else {
            throw HQError(
                .rangeNotSatisfiable, "range_not_satisfiable",
                "the range starts at byte \(offset); the snapshot has \(file.size) bytes")
        }
        return (file, Int(max(0, min(Int64(length), file.size - offset))))
    }

    /// `length` bytes of a snapshot from `offset` (fewer at its end), in one answer.
    package func snapshotBytes(_ id: String, offset: Int64, length: Int) throws -> [UInt8] {
        let (file, count) = try snapshotPart(id, offset: offset, length: length)
        let bytes = try file.read(at: offset, count: count)
        return Array(bytes.readableBytesView)
    }

    /// A push as one batch for HQ's writer: the binding check, admission, storing, the fold and the contact
    /// bookkeeping are one transaction (issue 12's binding race: checked and set outside it, two devices could write
    /// as one replica). Its payloads are decoded and checked here, by the caller's thread, since that needs no state.
    func batch(for push: PushRequest, from device: DeviceRegistry.Record) throws -> PushBatch {
        guard push.operations.count <= configuration.pushOperationsMax else {
            throw HQError.tooLarge(
                "\(push.operations.count) operations in one push; at most \(configuration.pushOperationsMax)")
        }
        let registry = self.registry
        let pushed = push.operations.map(\.id.counter).max() ?? 0
        var batch = PushBatch(
            operations: push.operations, author: push.replica, allOrNothing: true, strict: true,
            check: { db in try registry.checkBinding(device, to: push.replica, db) },
            bookkeeping: { db, stored in
                if stored { try registry.bind(device.id, to: push.replica, db) }
                try registry.recordContact(device.id, pushed: stored ? pushed : nil, db)
            })
        batch.prepare()
        return batch
    }

    /// The answer to a push once its batch was stored or refused: a 200's body, or ``HQPushRefusal`` (nothing was
    /// stored) with every operation's result. Content mismatches are kept for the admin (`boundary_refusals`).
    func answer(
        _ push: PushRequest, from device: DeviceRegistry.Record, report: IntegrationReport
    ) throws
        -> PushResponse
    {
        if let rejection = report.rejection { throw rejection }
        let results = zip(push.operations, report.outcomes).map { op, outcome in
            switch outcome {
            case .accepted: PushResult(id: op.id.description, status: report.stored ? .accepted : .aborted)
            case .duplicate: PushResult(id: op.id.description, status: .duplicate)
            case .refused(let code, let message):
                PushResult(id: op.id.description, status: .refused, code: code.rawValue, message: message)
            }
        }
        recordBoundaryRefusals(results, operations: push.operations, device: device.id)
        if !report.stored, let first = results.first(where: { $0.status == .refused }) {
            let status: HTTPResponse.Status =
                switch RefusalCode(rawValue: first.code ?? "") {
                case .missingDependency, .contentMismatch: .conflict
                case .foreignAuthor: .forbidden
                default: .unprocessableContent
                }
            throw HQPushRefusal(
                error: HQError(
                    status, first.code ?? "refused",
                    "operation \(first.id) refused: \(first.message ?? ""); nothing was stored"),
                results: results)
        }
        HQMetrics.ingested(report.stored ? results.count(where: { $0.status == .accepted }) : 0)
        return PushResponse(results: results, vector: replica.versionVector)
    }

    /// Stores a push on the caller's thread, in a transaction of its own (the simulator; HTTP goes through the group
    /// committer, which stores concurrent pushes together).
    package func push(_ push: PushRequest, from device: DeviceRegistry.Record) throws -> PushResponse {
        let batch = try batch(for: push, from: device)
        return try answer(push, from: device, report: try replica.integrate(group: [batch])[0])
    }

    /// A pull page: what the device lacks after `after`, in HQ's sequence. Records what the device acknowledges,
    /// which is what it holds of HQ's operations (entries HQ lacks are ignored, §7).
    package func pull(_ pull: PullRequest, from device: DeviceRegistry.Record) throws -> PullResponse {
        // Sequence numbers are SQLite integers: a cursor past Int64.max names no operation and must not reach the
        // store (it stopped HQ before; issue 12's first finding).
        guard (pull.after ?? 0) <= UInt64(Int64.max) else {
            throw HQError.malformed("after must be between 0 and \(Int64.max); got \(pull.after ?? 0)")
        }
        if let problem = pull.vector.boundsViolation() { throw HQError.malformed("vector: \(problem)") }
        let limit = min(max(pull.limit ?? configuration.pullOperationsMax, 1), configuration.pullOperationsMax)
        let page = try replica.page(
            after: pull.after ?? 0, holding: pull.vector, limit: limit, bytesMax: configuration.pullBytesMax)
        let held = replica.versionVector
        let acknowledged = VersionVector(
            held.counters.reduce(into: [String: UInt64]()) { $0[$1.key] = min($1.value, pull.vector[$1.key]) })
        try registry.recordContact(device.id, acknowledged: acknowledged)
        return PullResponse(
            operations: page.operations, sequenced: page.sequenced, last: page.last, more: page.more,
            vector: replica.versionVector)
    }

    /// Keeps the content mismatches a push met, bounded, for `GET /v1/conflicts` (a device that reuses an operation
    /// id with other content is either broken or forging).
    func recordBoundaryRefusals(_ results: [PushResult], operations: [ShopOperation], device: String) {
        let refused = zip(results, operations).filter { $0.0.code == RefusalCode.contentMismatch.rawValue }
        guard !refused.isEmpty else { return }
        let now = ISO8601DateFormatter().string(from: Date())
        do {
            try replica.writeBookkeeping { db in
                for (result, op) in refused {
                    try db.execute(
                        sql: """
                            INSERT INTO boundary_refusals (operation, device, code, message, fingerprint, at)
                            VALUES (?, ?, ?, ?, ?, ?)
                            ON CONFLICT (operation, device, fingerprint) DO UPDATE SET count = boundary_refusals.count + 1,
                                at = excluded.at
                            """,
                        arguments: [
                            result.id, device, result.code ?? "",
                            String((result.message ?? "").prefix(DeviceRegistry.refusalMessageMax)),
                            DeviceRegistry.fingerprint(op.payload), now,
                        ])
                }
                // Bounded: the oldest refusals beyond the cap are dropped.
                try db.execute(
                    sql: """
                        DELETE FROM boundary_refusals WHERE (operation, device, fingerprint) IN
                            (SELECT operation, device, fingerprint FROM boundary_refusals
                             ORDER BY at DESC, operation DESC LIMIT \(Int64.max) OFFSET ?)
                        """, arguments: [DeviceRegistry.refusalsMax])
            }
        } catch {
            logger.error("could not record a boundary refusal", metadata: ["error": "\(error)"])
        }
        logger.warning(
            "operation id reused with different content (device restored from an old backup?)",
            metadata: ["device": "\(device)", "operations": "\(refused.map(\.0.id))"])
    }
}
