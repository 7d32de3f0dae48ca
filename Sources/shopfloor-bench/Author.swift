import ShopfloorDomain
import ShopfloorReplication

/// Stamps commands as operations the way `Replica.record` does: the author's next counter, a lamport above
/// everything it has seen, and its version vector as the causal context.
struct Author: Sendable {
    static let date = "2026-11-22"

    let id: String
    private(set) var vector: VersionVector
    private(set) var lamport: UInt64

    init(id: String, seen: VersionVector = VersionVector(), lamport: UInt64 = 0) {
        self.id = id
        self.vector = seen
        self.lamport = lamport
    }

    /// What a sync brings: everything in `vector`, and a lamport at least `lamport`.
    mutating func see(_ other: VersionVector, lamport otherLamport: UInt64) {
        vector = vector.merged(with: other)
        lamport = max(lamport, otherLamport)
    }

    mutating func stamp(_ command: Command) -> ShopOperation {
        let counter = vector[id] + 1
        lamport += 1
        let op = ShopOperation(
            id: OperationID(replica: id, counter: counter), lamport: lamport, context: vector,
            timestamp: Self.timestamp(counter), date: Self.date, command: command)
        vector[id] = counter
        return op
    }

    /// An ISO 8601 timestamp with milliseconds, as `Replica` writes them (same length).
    static func timestamp(_ counter: UInt64) -> String {
        let milliseconds = Int(counter % 86_400_000)
        let seconds = milliseconds / 1000
        return
            "\(date)T\(pad(seconds / 3600, 2)):\(pad(seconds / 60 % 60, 2)):\(pad(seconds % 60, 2)).\(pad(milliseconds % 1000, 3))Z"
    }
}
