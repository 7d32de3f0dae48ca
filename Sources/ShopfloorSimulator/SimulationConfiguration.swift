import Foundation
import Logging
import ShopfloorReplication

/// What one simulation run does. Everything the run decides is derived from ``seed``.
public struct SimulationConfiguration: Sendable {
    public var seed: UInt64
    /// Floor replicas besides HQ ("r1" … "rN").
    public var replicas: Int
    /// Random steps before the network heals and the invariants are checked.
    public var steps: Int
    /// Where the replicas' SQLite files go; created if missing.
    public var workDirectory: String
    /// At most this many operations per push batch (a batch's size is drawn in 1 … this).
    public var pushOperationsMax: Int
    /// At most this many operations per pull page (a page's size is drawn in 1 … this).
    public var pullOperationsMax: Int
    /// Percent chance for each fault per message: a lost request, a lost reply, a duplicate, a reordering.
    public var faultPercent: Int
    /// Sends of one request at most, in a session (the first and its retries).
    public var attemptsMax: Int
    /// A defect planted in every sync session (the fault-injection test).
    package var sessionFault: SyncSession.Fault?
    /// Sync rounds after the network heals before "did not converge" is a violation.
    public var healRoundsMax: Int
    /// Keep a step-by-step trace in the result (for replaying a failing seed).
    public var trace: Bool
    public var logger: Logger

    public init(
        seed: UInt64, replicas: Int = 5, steps: Int = 200, workDirectory: String, pushOperationsMax: Int = 8,
        pullOperationsMax: Int = 12, faultPercent: Int = 5, attemptsMax: Int = 3, healRoundsMax: Int = 8,
        trace: Bool = false,
        logger: Logger = SimulationConfiguration.quietLogger
    ) {
        precondition(replicas >= 1 && replicas <= 64, "1 … 64 floor replicas")
        precondition(steps >= 0, "a step count is never negative")
        precondition(pushOperationsMax >= 1 && pullOperationsMax >= 1, "batches hold at least one operation")
        self.seed = seed
        self.replicas = replicas
        self.steps = steps
        self.workDirectory = workDirectory
        self.pushOperationsMax = pushOperationsMax
        self.pullOperationsMax = pullOperationsMax
        self.faultPercent = faultPercent
        self.attemptsMax = attemptsMax
        self.healRoundsMax = healRoundsMax
        self.trace = trace
        self.logger = logger
    }

    /// Replicas log every creation and rebuild at info level; a run makes hundreds of them.
    public static var quietLogger: Logger {
        var logger = Logger(label: "shopfloor.sim")
        logger.logLevel = .warning
        return logger
    }
}
