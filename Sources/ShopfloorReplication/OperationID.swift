/// An operation's identity: the replica that authored it and that replica's counter (1, 2, 3, …).
public struct OperationID: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public var replica: String
    public var counter: UInt64

    public init(replica: String, counter: UInt64) {
        self.replica = replica
        self.counter = counter
    }

    /// "replica:counter", the form stamped on ledger entries.
    public var description: String { "\(replica):\(counter)" }

    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let counter = UInt64(text[text.index(after: colon)...]) else {
            return nil
        }
        self.replica = String(text[..<colon])
        self.counter = counter
    }

    public static func < (lhs: OperationID, rhs: OperationID) -> Bool {
        (lhs.replica, lhs.counter) < (rhs.replica, rhs.counter)
    }
}
