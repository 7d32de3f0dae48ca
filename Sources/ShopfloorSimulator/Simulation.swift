import Foundation
import ShopfloorStore

/// HQ and N floor replicas in one process with the real fold and real SQLite files, driven by one seed through
/// floor work, a hostile network, crashes, rolled-back transactions and skewed clocks; then the network heals,
/// everyone syncs until quiet and the invariants (``InvariantChecker``) are checked.
///
/// The same configuration always gives the same run: every choice, id and clock reading comes from the seed.
/// Running the same seed with fewer steps replays a prefix of the longer run, which is what
/// ``smallestFailingSteps(_:)`` relies on.
public final class Simulation {
    public let configuration: SimulationConfiguration
    private var current: SimulationRun?

    public init(configuration: SimulationConfiguration) {
        self.configuration = configuration
    }

    /// Runs the steps, heals the network, syncs until quiet and checks every invariant.
    public func run() throws -> SimulationResult {
        let run = try SimulationRun(configuration: configuration)
        current = run
        return run.run()
    }

    /// HQ's replica after ``run()``.
    public var hq: Replica? { current?.hq.replica }
    /// The floor replicas after ``run()``, "r1" first.
    public var floors: [Replica] { current?.floors.map(\.replica) ?? [] }

    /// Checks every invariant again on the replicas as they are now (after a test has tampered with them).
    public func checkInvariants() -> [Violation] {
        current?.checker().check() ?? []
    }

    /// Closes the replicas and deletes the work directory.
    public func removeFiles() {
        current?.close()
        current = nil
        try? FileManager.default.removeItem(atPath: configuration.workDirectory)
    }

    /// Runs `configuration` once, removing its files afterwards unless `keep`.
    public static func run(_ configuration: SimulationConfiguration, keep: Bool = false) throws -> SimulationResult {
        let simulation = Simulation(configuration: configuration)
        defer { if !keep { simulation.removeFiles() } }
        return try simulation.run()
    }

    /// The smallest step count found for which the same seed still fails, by bisection between 0 steps (assumed
    /// to pass) and `configuration.steps` (known to fail). Each probe runs in its own subdirectory.
    public static func smallestFailingSteps(_ configuration: SimulationConfiguration) throws -> Int {
        var passing = 0
        var failing = configuration.steps
        while failing - passing > 1 {
            let middle = (passing + failing) / 2
            var probe = configuration
            probe.steps = middle
            probe.trace = false
            probe.workDirectory = (configuration.workDirectory as NSString).appendingPathComponent("steps-\(middle)")
            if try run(probe).passed {
                passing = middle
            } else {
                failing = middle
            }
        }
        return failing
    }
}

extension SimulationRun {
    func close() {
        for node in nodes { node.close() }
    }
}
