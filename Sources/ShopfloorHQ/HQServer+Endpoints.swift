import Foundation
import Hummingbird
import ShopfloorReplication
import ShopfloorStore

extension HQServer {
    /// POST /v1/push: a device's own operations, stored all or nothing (``SyncService``).
    func push(_ request: Request) async throws -> Response {
        let device = try await requireDevice(request)
        let push = try await decodePush(request)
        let batch = try sync.batch(for: push, from: device)
        let report = try await committer.integrate(batch)
        let sync = self.sync
        let response = try await offload { try sync.answer(push, from: device, report: report) }
        logger.info(
            "push",
            metadata: [
                "device": "\(device.id)", "operations": "\(push.operations.count)",
                "accepted": "\(response.results.count(where: { $0.status == .accepted }))",
            ])
        return try json(response)
    }

    /// POST /v1/pull: what the device lacks, in HQ's sequence, one page at a time.
    func pull(_ request: Request) async throws -> Response {
        let device = try await requireDevice(request)
        let pull = try await decode(PullRequest.self, from: request)
        let sync = self.sync
        let response = try await offload { try sync.pull(pull, from: device) }
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
