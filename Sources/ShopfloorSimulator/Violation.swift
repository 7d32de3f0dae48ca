/// An invariant the run broke, with enough context to replay and find it.
public struct Violation: Sendable, Hashable, Codable, CustomStringConvertible {
    /// A short stable name: "digest", "receipts", "conservation", "positions", "rebuild", "memory-vs-disk", …
    public var invariant: String
    /// The replica concerned, when there is one.
    public var replica: String?
    /// The step during which it was seen; nil for the final checks.
    public var step: Int?
    public var detail: String

    public init(invariant: String, replica: String? = nil, step: Int? = nil, detail: String) {
        self.invariant = invariant
        self.replica = replica
        self.step = step
        self.detail = detail
    }

    public var description: String {
        var text = "[\(invariant)]"
        if let replica { text += " \(replica)" }
        if let step { text += " at step \(step)" }
        return text + ": " + detail
    }
}
