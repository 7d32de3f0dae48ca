import Foundation
import Hummingbird
import NIOFoundationCompat
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

    /// POST /v1/snapshot: a snapshot for a device far behind, made off the event loops when none is recent.
    func snapshotOffer(_ request: Request) async throws -> Response {
        let device = try await requireDevice(request)
        let ask = try await decode(SnapshotRequest.self, from: request)
        let sync = self.sync
        return try json(try await offload { try sync.snapshotOffer(ask, from: device) })
    }

    /// The most bytes one snapshot request returns.
    static let snapshotRangeMax = 64 * 1024 * 1024

    /// GET /v1/snapshot/{id}: the file, or with `Range: bytes=A-B` (or `A-`) the part of it asked for (206).
    func snapshotBytes(_ request: Request, id: String) async throws -> Response {
        _ = try await requireDevice(request)
        var offset: Int64 = 0
        var length = Self.snapshotRangeMax
        let range = request.headers[.range]
        if let range {
            let bounds =
                range.hasPrefix("bytes=")
                ? range.dropFirst(6).split(separator: "-", omittingEmptySubsequences: false) : []
            guard bounds.count == 2, let start = Int64(bounds[0]), start >= 0,
                bounds[1].isEmpty || (Int64(bounds[1]).map { $0 >= start } ?? false)
            else { throw HQError.malformed("Range must be bytes=START-END or bytes=START-; got '\(range.prefix(80))'") }
            offset = start
            if let end = Int64(bounds[1]) { length = Int(min(end - start, Int64(Self.snapshotRangeMax) - 1) + 1) }
        }
        let (sync, start, asked) = (self.sync, offset, length)
        let (file, count) = try await offload { try sync.snapshotPart(id, offset: start, length: asked) }
        // Streamed from the open file in pieces: HQ holds one piece per download, whatever the range.
        let body = ResponseBody(contentLength: count) { writer in
            var sent = 0
            while sent < count {
                let (at, size) = (start + Int64(sent), min(Self.snapshotPiece, count - sent))
                let piece = try await offload { try file.read(at: at, count: size) }
                guard piece.readableBytes > 0 else { throw HQError.notFound("the snapshot ended early") }
                sent += piece.readableBytes
                try await writer.write(piece)
            }
            try await writer.finish(nil)
        }
        var response = Response(status: .ok, headers: [.contentType: "application/vnd.sqlite3"], body: body)
        if range != nil {
            response.status = .partialContent
            response.headers[.contentRange] = "bytes \(offset)-\(offset + Int64(count) - 1)/\(file.size)"
        }
        return response
    }

    /// Bytes read from a snapshot file per write to the connection.
    static let snapshotPiece = 1 << 20

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
