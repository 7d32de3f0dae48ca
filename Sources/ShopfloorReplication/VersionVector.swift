/// Replica id → the highest counter seen from it. Because operations are delivered causally and each
/// replica's operations in counter order, "seen counter n" means "seen 1…n": the vector is a complete
/// summary of an op set, and its size grows with the number of replicas, never with the history.
public struct VersionVector: Sendable, Hashable, CustomStringConvertible {
    public private(set) var counters: [String: UInt64]

    public init(_ counters: [String: UInt64] = [:]) {
        self.counters = counters.filter { $0.value > 0 }
    }

    public subscript(replica: String) -> UInt64 {
        get { counters[replica] ?? 0 }
        set { counters[replica] = newValue == 0 ? nil : newValue }
    }

    /// True when `id` is already covered.
    public func contains(_ id: OperationID) -> Bool { self[id.replica] >= id.counter }

    /// True when every entry of `self` is ≤ the matching entry of `other`.
    public func isCovered(by other: VersionVector) -> Bool {
        counters.allSatisfy { other[$0.key] >= $0.value }
    }

    /// Pointwise maximum.
    public func merged(with other: VersionVector) -> VersionVector {
        var result = self
        for (replica, counter) in other.counters where counter > result[replica] { result[replica] = counter }
        return result
    }

    public mutating func record(_ id: OperationID) {
        if id.counter > self[id.replica] { self[id.replica] = id.counter }
    }

    /// The entries missing from `self` relative to `other` (what `other` has that `self` lacks).
    public func missing(from other: VersionVector) -> [String: ClosedRange<UInt64>] {
        var result: [String: ClosedRange<UInt64>] = [:]
        for (replica, counter) in other.counters where counter > self[replica] {
            result[replica] = (self[replica] + 1)...counter
        }
        return result
    }

    /// Sum of all counters: the number of operations summarised.
    /// Saturates instead of overflowing (a vector from outside may hold anything).
    public var total: UInt64 {
        counters.values.reduce(0) { sum, counter in
            let (result, overflow) = sum.addingReportingOverflow(counter)
            return overflow ? .max : result
        }
    }

    /// Operations in `other` that `self` lacks, counted per replica (saturating).
    public func lag(behind other: VersionVector) -> UInt64 {
        other.counters.reduce(0) { sum, entry in
            let behind = entry.value > self[entry.key] ? entry.value - self[entry.key] : 0
            let (result, overflow) = sum.addingReportingOverflow(behind)
            return overflow ? .max : result
        }
    }

    /// A replica id: 1–64 ASCII letters, digits, '.', '_' or '-'.
    public static func isValidReplicaID(_ id: String) -> Bool {
        // Bytes: every allowed character is ASCII, and a byte ≥ 0x80 (any other scalar) fails the test.
        !id.isEmpty && id.utf8.count <= 64 && id.utf8.allSatisfy(isPlain)
    }

    /// The most replicas a vector from outside may name (a plant has dozens; PROTOCOL.md §5.8).
    public static let entriesMax = 10_000

    /// Why a vector from outside is out of bounds (too many entries, a bad replica id, a counter past SQLite's
    /// integers), or nil.
    public func boundsViolation() -> String? {
        if counters.count > Self.entriesMax { return "\(counters.count) replicas; at most \(Self.entriesMax)" }
        // Sorted only to name the first violation in a stable order; a valid vector (the common case) is not sorted.
        guard !counters.allSatisfy({ Self.isValidReplicaID($0.key) && $0.value <= UInt64(Int64.max) }) else {
            return nil
        }
        for (replica, counter) in counters.sorted(by: { $0.key < $1.key }) {
            guard Self.isValidReplicaID(replica) else {
                return "replica id '\(replica.prefix(80))' is not 1–64 of [A-Za-z0-9._-]"
            }
            guard counter <= UInt64(Int64.max) else { return "counter \(counter) of '\(replica)' is past \(Int64.max)" }
        }
        return nil
    }

    public var description: String {
        "{" + counters.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: ",") + "}"
    }
}

extension VersionVector: Codable {
    /// On the wire and on disk a vector is a plain JSON object: `{"replica": counter, …}`.
    public init(from decoder: any Decoder) throws {
        self.init(try decoder.singleValueContainer().decode([String: UInt64].self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(counters)
    }
}
