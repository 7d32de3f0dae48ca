import ArgumentParser
import Foundation
import Logging
import ShopfloorSimulator

@main
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shopfloor-sim",
        abstract: "Runs Shopfloor's deterministic simulator over many seeds.",
        discussion: """
            Each seed runs HQ and N floor replicas in this process (real fold, real SQLite files) through floor
            work, lost/duplicated/reordered sync messages, partitions, crashes, rolled-back transactions and skewed
            clocks; then the network heals, everyone syncs until quiet and the invariants are checked. A failing
            seed prints one line (with the smallest step count that still fails) and its violations indented below.
            The last line is "N passed, M failed"; the exit status is 1 when any seed failed.
            """)

    @Option(help: "Seeds: N, A..B, or a comma list of either.")
    var seeds = SeedList(Array(1...20))

    @Option(help: "Floor replicas besides HQ.")
    var replicas = 5

    @Option(help: "Random steps per seed before the network heals.")
    var steps = 200

    @Option(
        help: "Percent chance of each network fault per message (loss of request, loss of reply, duplicate, reorder).")
    var faultPercent = 5

    @Option(help: "Directory for the replicas' files (default: a new temporary directory).")
    var work: String?

    @Flag(help: "Keep the work files.")
    var keep = false

    @Flag(help: "One JSON object per seed (every seed, not only failures) instead of text.")
    var json = false

    @Flag(help: "Do not search for the smallest failing step count.")
    var noMinimize = false

    @Flag(help: "Print the step-by-step trace of every seed (of a failing seed: at its smallest failing step count).")
    var trace = false

    func validate() throws {
        guard (1...64).contains(replicas) else { throw ValidationError("--replicas must be 1…64") }
        guard (0...1_000_000).contains(steps) else { throw ValidationError("--steps must be 0…1000000") }
        guard (0...20).contains(faultPercent) else { throw ValidationError("--fault-percent must be 0…20") }
    }

    func run() throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        let root =
            work
            ?? (NSTemporaryDirectory() as NSString).appendingPathComponent(
                "shopfloor-sim-\(ProcessInfo.processInfo.processIdentifier)")
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer {
            if !keep {
                if work == nil {
                    try? FileManager.default.removeItem(atPath: root)
                }
            }
        }
        let started = Date()
        var passed = 0
        var failed = 0
        for seed in seeds.seeds {
            let directory = (root as NSString).appendingPathComponent("seed-\(seed)")
            let report = runSeed(seed, directory: directory)
            if report.result.passed { passed += 1 } else { failed += 1 }
            show(report)
            if !keep { try? FileManager.default.removeItem(atPath: directory) }
        }
        Swift.print("\(passed) passed, \(failed) failed")
        fflush(nil)
        let seconds = Date().timeIntervalSince(started)
        FileHandle.standardError.write(
            Data(
                String(
                    format: "%d seeds × %d steps × %d replicas in %.2f s (%.3f s per seed)%@\n", seeds.seeds.count,
                    steps, replicas, seconds, seconds / Double(max(1, seeds.seeds.count)),
                    keep ? ", files kept in \(root)" : ""
                ).utf8))
        if failed > 0 { throw ExitCode.failure }
    }

    struct SeedReport: Codable {
        var result: SimulationResult
        var seconds: Double
        var smallestFailingSteps: Int?
        var trace: [String]?
    }

    func configuration(seed: UInt64, directory: String) -> SimulationConfiguration {
        SimulationConfiguration(
            seed: seed, replicas: replicas, steps: steps, workDirectory: directory, faultPercent: faultPercent,
            trace: trace)
    }

    func runSeed(_ seed: UInt64, directory: String) -> SeedReport {
        let configuration = configuration(seed: seed, directory: directory)
        let started = Date()
        var result: SimulationResult
        do {
            result = try Simulation.run(configuration, keep: keep)
        } catch {
            result = SimulationResult(
                seed: seed, replicas: replicas, steps: steps,
                violations: [Violation(invariant: "error", detail: "the run could not go on: \(error)")], digest: "",
                operations: 0, counters: [:], conflicts: [:], trace: [])
        }
        var report = SeedReport(result: result, seconds: Date().timeIntervalSince(started))
        report.result.trace = []
        guard !result.passed else {
            if trace { report.trace = result.trace }
            return report
        }
        var smallest = steps
        if !noMinimize {
            var probe = configuration
            probe.workDirectory = (directory as NSString).appendingPathComponent("minimize")
            smallest = (try? Simulation.smallestFailingSteps(probe)) ?? steps
            report.smallestFailingSteps = smallest
        }
        if trace {
            var replay = configuration
            replay.steps = smallest
            replay.trace = true
            replay.workDirectory = (directory as NSString).appendingPathComponent("trace")
            report.trace = (try? Simulation.run(replay))?.trace
        }
        return report
    }

    func show(_ report: SeedReport) {
        let result = report.result
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            Swift.print(String(decoding: (try? encoder.encode(report)) ?? Data("{}".utf8), as: UTF8.self))
            return
        }
        guard !result.passed else {
            for line in report.trace ?? [] { Swift.print("      | \(line)") }
            return
        }
        let smallest = report.smallestFailingSteps.map { "smallest failing steps \($0)" } ?? "not minimized"
        Swift.print(
            "FAIL seed \(result.seed): \(result.violations.count) violations; \(smallest); replay: shopfloor-sim "
                + "--seeds \(result.seed) --replicas \(replicas) --steps \(report.smallestFailingSteps ?? steps) "
                + "--fault-percent \(faultPercent) --trace")
        for violation in result.violations { Swift.print("    \(violation)") }
        for line in report.trace ?? [] { Swift.print("      | \(line)") }
    }
}
