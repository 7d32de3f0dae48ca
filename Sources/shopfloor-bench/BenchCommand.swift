import ArgumentParser
import Foundation
import Logging

@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shopfloor-bench",
        abstract: "Shopfloor's benchmarks, each compared with a baseline measured in the same run.",
        discussion: """
            Run it through tools/bench, which builds the release binaries and the Yjs peer's venv first. \
            Progress goes to standard error; the table (or --json) to standard output.
            """)

    @Flag(help: "A run of seconds with small sizes (CI).") var quick = false
    @Flag(help: "Print JSON instead of the markdown table.") var json = false
    @Option(help: "Directory holding the release `shopfloor` and `shopfloor-hq` (default: next to this binary).")
    var binDir: String?
    @Option(help: "Python with pycrdt installed, for the Yjs peer (default: .bench-venv/bin/python).")
    var python = ".bench-venv/bin/python"
    @Option(help: "The Yjs peer script.") var yjsScript = "tools/bench-yjs.py"
    @Option(help: "Scratch directory (default: a new one under the temp directory, removed at the end).")
    var workDir: String?
    @Option(
        help: "Only these benchmarks, comma-separated: limit, peer, wire, local, process, ingest, suffix, catchup.",
        transform: { Set($0.split(separator: ",").map(String.init)) })
    var only: Set<String>?
    @Flag(help: "Keep the scratch directory.") var keep = false
    @Option(
        help: "Catch-up sizes instead of the plan's, comma-separated (e.g. 1000000 to measure that one alone).",
        transform: BenchCommand.sizes)
    var catchUpSizes: [Int]?
    @Option(help: "Ingest sizes instead of the plan's, comma-separated.", transform: BenchCommand.sizes)
    var ingestSizes: [Int]?
    @Option(help: "Ingest device counts instead of the plan's, comma-separated.", transform: BenchCommand.sizes)
    var ingestDevices: [Int]?

    @Sendable static func sizes(_ text: String) throws -> [Int] {
        try text.split(separator: ",").map { part in
            guard let size = Int(part.replacingOccurrences(of: "_", with: "")), size > 0 else {
                throw ValidationError("'\(part)' is not a positive number of operations")
            }
            return size
        }
    }

    func run() async throws {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        let binaries = binDir ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
        let scratch =
            workDir
            ?? FileManager.default.temporaryDirectory.appendingPathComponent(
                "shopfloor-bench-\(UUID().uuidString.prefix(8))"
            ).path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { if !keep && workDir == nil { try? FileManager.default.removeItem(atPath: scratch) } }
        var plan = quick ? BenchPlan.quick : BenchPlan.full
        if let catchUpSizes {
            plan.catchUpSizes = catchUpSizes.sorted()
            plan.rebuildSizes = Set(catchUpSizes)
            plan.budgetSeconds = .infinity
        }
        if let ingestSizes { plan.ingestSizes = ingestSizes }
        if let ingestDevices { plan.ingestDevices = ingestDevices }
        let bench = Bench(
            plan: plan, scratch: scratch, binaries: binaries, python: python, yjsScript: yjsScript,
            only: only)
        let clock = Stopwatch()
        try await bench.runAll()
        bench.report.loadAtEnd = Report.loadAverage()
        if let start = bench.report.loadAtStart, let end = bench.report.loadAtEnd, max(start, end) > 1.5 {
            bench.report.notes.append(
                "the machine was busy (load average \(bench.report.load(start)) → \(bench.report.load(end)) on "
                    + "\(ProcessInfo.processInfo.activeProcessorCount) cores): wall-clock figures are inflated")
        }
        let mode = quick ? "quick" : "full"
        print(
            json
                ? try bench.report.json(mode: mode, seconds: clock.seconds)
                : bench.report.markdown(mode: mode, seconds: clock.seconds))
    }
}
