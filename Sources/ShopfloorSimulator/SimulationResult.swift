/// What a run did and what it found.
public struct SimulationResult: Sendable, Codable, Equatable {
    public var seed: UInt64
    public var replicas: Int
    public var steps: Int
    /// Empty when every invariant held.
    public var violations: [Violation]
    /// HQ's state digest at the end.
    public var digest: String
    /// Operations at HQ at the end.
    public var operations: Int
    /// Counters of what happened ("record.receipt.add", "refused.order.transition", "push.reply-lost", …).
    public var counters: [String: Int]
    /// Conflicts at HQ at the end, by kind.
    public var conflicts: [String: Int]
    /// One line per step event, when the configuration asked for a trace.
    public var trace: [String]

    public var passed: Bool { violations.isEmpty }

    public init(
        seed: UInt64, replicas: Int, steps: Int, violations: [Violation], digest: String, operations: Int,
        counters: [String: Int], conflicts: [String: Int], trace: [String]
    ) {
        self.seed = seed
        self.replicas = replicas
        self.steps = steps
        self.violations = violations
        self.digest = digest
        self.operations = operations
        self.counters = counters
        self.conflicts = conflicts
        self.trace = trace
    }
}
