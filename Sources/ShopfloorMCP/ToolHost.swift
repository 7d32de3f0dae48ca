import Dispatch
import ShopfloorReplication
import ShopfloorStore

/// What the tools run against: a replica, the one thread its writes take, and how its digest is read. HQ serves its
/// replica behind its group committer; a floor device serves its own file (``LocalToolHost``).
public protocol ToolHost: Sendable {
    var replica: Replica { get }

    /// Runs `body`, which records operations, on the replica's one writer, never on the cooperative pool.
    func write<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T

    /// The digest of the replica's projections and the operations it is of.
    func stateDigest() async throws -> DigestResponse
}

/// A floor device's replica, served by `shopfloor mcp`: writes are serialized on one thread of this process (other
/// processes on the same file are serialized by SQLite).
public struct LocalToolHost: ToolHost {
    public let replica: Replica
    private let queue = DispatchQueue(label: "shopfloor.mcp.writer")

    public init(replica: Replica) {
        self.replica = replica
    }

    public func write<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }

    public func stateDigest() async throws -> DigestResponse {
        let replica = self.replica
        return try await offload {
            let (vector, digest) = try replica.digestWithVector()
            return DigestResponse(digest: digest, operations: vector.total, vector: vector)
        }
    }
}
