import Foundation
import Hummingbird
import ShopfloorReplication
import ShopfloorStore

extension HQServer {
    /// POST /v1/push: a device's own operations, stored all or nothing.
    func push(_ request: Request) async throws -> Response {
        let device = try await requireDevice(request)
        let push = try await decodePush(request)
        guard push.operations.count <= configuration.pushOperationsMax else {
            throw HQError.tooLarge(
                "\(push.operations.count) operations in one push; at most \(configuration.pushOperationsMax)")
        }
        // Binding, admission, storing, the fold and the contact bookkeeping are one transaction (issue 12's binding
        // race: checked and set outside it, two devices could write as one replica).
        let registry = self.registry
        let pushed = push.operations.map(\.id.counter).max() ?? 0
        var batch = PushBatch(
            operations: push.operations, author: push.replica, allOrNothing: true, strict: true,
            check: { db in try registry.checkBinding(device, to: push.replica, db) },
            bookkeeping: { db, stored in
                if stored { try registry.bind(device.id, to: push.replica, db) }
                try registry.recordContact(device.id, pushed: stored ? pushed : nil, db)
            })
        // Decoding and checking payloads needs no state: done here, in parallel across devices, so the single
        // writer only checks the operations against the log, stores and folds.
        batch.prepare()
        let report = try await committer.integrate(batch)
        if let rejection = report.rejection { throw rejection }
        let results = zip(push.operations, report.outcomes).map { op, outcome in
            switch outcome {
            case .accepted: PushResult(id: op.id.description, status: report.stored ? .accepted : .aborted)
            case .duplicate: PushResult(id: op.id.description, status: .duplicate)
            case .refused(let code, let message):
                PushResult(id: op.id.description, status: .refused, code: code.rawValue, message: message)
            }
        }
        let server = self
        try await offload { server.recordBoundaryRefusals(results, operations: push.operations, device: device.id) }
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
        HQMetrics.ingested(report.stored ? results.filter { $0.status == .accepted }.count : 0)
        logger.info(
            "push",
            metadata: [
                "device": "\(device.id)", "operations": "\(push.operations.count)",
                "accepted": "\(results.filter { $0.status == .accepted }.count)",
            ])
        return try json(PushResponse(results: results, vector: replica.versionVector))
    }

    /// POST /v1/pull: what the device lacks, in HQ's sequence, one page at a time.
    func pull(_ request: Request) async throws -> Response {
        let device = try await requireDevice(request)
        let pull = try await decode(PullRequest.self, from: request)
        // Sequence numbers are SQLite integers: a cursor past Int64.max names no operation and must not reach the
        // store (it stopped HQ before; issue 12's first finding).
        guard (pull.after ?? 0) <= UInt64(Int64.max) else {
            throw HQError.malformed("after must be between 0 and \(Int64.max); got \(pull.after ?? 0)")
        }
        if let problem = pull.vector.boundsViolation() { throw HQError.malformed("vector: \(problem)") }
        let limit = min(max(pull.limit ?? configuration.pullOperationsMax, 1), configuration.pullOperationsMax)
        let (replica, registry, configuration) = (self.replica, self.registry, self.configuration)
        let page = try await offload {
            let page = try replica.page(
                after: pull.after ?? 0, holding: pull.vector, limit: limit, bytesMax: configuration.pullBytesMax)
            // What the device acknowledges is what it holds of HQ's operations: entries HQ lacks are ignored (§7).
            let held = replica.versionVector
            let acknowledged = VersionVector(
                held.counters.reduce(into: [String: UInt64]()) { $0[$1.key] = min($1.value, pull.vector[$1.key]) })
            try registry.recordContact(device.id, acknowledged: acknowledged)
            return page
        }
        let response = PullResponse(
            operations: page.operations, sequenced: page.sequenced, last: page.last, more: page.more,
            vector: replica.versionVector)
        return Self.acceptsBatch(request) ? batch(BatchEncoding.encode(response)) : try json(response)
    }

    /// GET /v1/digest: computed off the event loops and the cooperative pool, one at a time, and cached by op set
    /// (the digest is a function of it), so concurrent calls cost one computation and `/health` stays fast.
    func digest(_ request: Request) async throws -> Response {
        try await requireAdminOrDevice(request)
        let (vector, digest) = try await currentDigest()
        return try json(DigestResponse(digest: digest, operations: vector.total, vector: vector))
    }

    /// HQ's digest and the vector it is of, computed on the digest queue (or the last one, if the op set is the same).
    func currentDigest() async throws -> (VersionVector, String) {
        let (replica, cache) = (self.replica, self.digestCache)
        return try await withCheckedThrowingContinuation { continuation in
            digestQueue.async {
                continuation.resume(
                    with: Result {
                        let vector = replica.versionVector
                        if let digest = cache.digest(of: vector) { return (vector, digest) }
                        let digest = try replica.digest()
                        cache.store(digest, of: vector)
                        return (vector, digest)
                    })
            }
        }
    }

    struct DeviceList: Codable {
        var devices: [DeviceStatus]
    }

    struct NewDevice: Codable {
        var name: String
    }

    struct Revoked: Codable {
        var deviceID: String
        var revoked: Bool
        enum CodingKeys: String, CodingKey {
            case deviceID = "device_id"
            case revoked
        }
    }

    func listDevices(_ request: Request) async throws -> Response {
        try requireAdmin(request)
        let registry = self.registry
        return try json(DeviceList(devices: try await offload { try registry.list() }))
    }

    func addDevice(_ request: Request) async throws -> Response {
        try requireAdmin(request)
        let new = try await decode(NewDevice.self, from: request)
        let scheme = configuration.tls == nil ? "http" : "https"
        let hq = request.head.authority.map { "\(scheme)://\($0)" }
        let registry = self.registry
        let credentials = try await offload { try registry.add(name: new.name, hq: hq) }
        logger.info(
            "device enrolled",
            metadata: ["device": "\(credentials.deviceID)", "name": "\(DeviceRegistry.printable(new.name))"])
        return try json(credentials, status: .created)
    }

    func revokeDevice(_ request: Request, id: String) async throws -> Response {
        try requireAdmin(request)
        let registry = self.registry
        guard try await offload({ try registry.revoke(id) }) else {
            throw HQError.notFound("no device '\(DeviceRegistry.printable(String(id.prefix(80))))'")
        }
        logger.info("device revoked", metadata: ["device": "\(DeviceRegistry.printable(id))"])
        return try json(Revoked(deviceID: id, revoked: true))
    }
}
