import Foundation
import Logging
import ShopfloorStore

/// One run: the plan, where things are, the figures so far, and the baselines later phases compare with.
final class Bench {
    let plan: BenchPlan
    let scratch: String
    let shopfloor: String
    let shopfloorHQ: String
    let python: String
    let yjsScript: String
    let only: Set<String>?
    let report = Report()
    let workload = Workload.make()
    let base: BaseHistory
    let clock = Stopwatch()

    // Baselines measured earlier in the run.
    var limitOpsPerSecond = Double.nan
    var limitDurable: (p50: Double, p99: Double) = (.nan, .nan)
    var limitRows: [RawSQLite.Row] = []
    var yjs: PeerResult?
    /// The sqlite3 shell's single durable insert as a whole process, median (ms).
    var shellInsertMs: Double?
    /// Each history-sweep command's median at the smallest history measured.
    var historyBaseline: [String: (size: Int, median: Double)] = [:]
    /// The rebuild rate at the largest history rebuilt so far (ops/s).
    var rebuildRate: Double?

    init(plan: BenchPlan, scratch: String, binaries: String, python: String, yjsScript: String, only: Set<String>?) {
        self.plan = plan
        self.scratch = scratch
        self.shopfloor = binaries + "/shopfloor"
        self.shopfloorHQ = binaries + "/shopfloor-hq"
        self.python = python
        self.yjsScript = yjsScript
        self.only = only
        self.base = BaseHistory(workload: workload)
    }

    static func logger(_ label: String) -> Logger {
        var logger = Logger(label: label)
        logger.logLevel = .warning
        return logger
    }

    /// A replica configuration that logs only warnings; `hq` makes it the sequencer, as `shopfloor-hq` opens it.
    static func quiet(durable: Bool, hq: Bool = false) -> ReplicaConfiguration {
        ReplicaConfiguration(durable: durable, sequencer: hq, logger: logger(hq ? "bench.hq" : "bench.replica"))
    }

    func wants(_ name: String) -> Bool { only?.contains(name) ?? true }

    /// What the phases after catch-up may take at most (each ingest configuration stops at its budget).
    var reservedAfterCatchUp: Double {
        let ingestRuns = wants("ingest") ? Double(plan.ingestSizes.count * plan.ingestDevices.count + 1) : 0
        return ingestRuns * (plan.ingestBudgetSeconds + 15) + (wants("ingest") ? plan.ingestProcessBudgetSeconds : 0)
            + (wants("suffix") ? 60 : 0)
    }

    func path(_ name: String) throws -> String {
        let path = scratch + "/" + name
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        return path
    }

    /// Runs one benchmark; a failure is reported and the run goes on with the next.
    func attempt(_ name: String, _ body: () async throws -> Void) async {
        do { try await body() } catch {
            report.notes.append("\(name) failed: \(error)")
            Progress.say("\(name) FAILED: \(error)")
        }
    }

    func directory(_ name: String) throws -> String {
        let path = scratch + "/" + name
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    func runAll() async throws {
        Progress.say(
            "workload: \(workload.skuCount) SKUs, \(workload.catalogCommands.count) catalog operations, "
                + "\(base.operations.count) base operations from \(base.vector.counters.count) replicas")
        // The ceiling is measured first: every write figure is compared with it.
        try limit()
        if wants("peer") { await attempt("peer") { try await peer() } }
        if wants("wire") { await attempt("wire") { try await wire() } }
        if wants("local") || wants("process") { await attempt("local write") { try await localWrite() } }
        // Catch-up runs before ingest, which is bounded by its own budget, so the big sizes get the time left.
        if wants("catchup") || wants("history") { await attempt("catch-up") { try await catchUp() } }
        if wants("suffix") { await attempt("suffix") { try await suffix() } }
        if wants("ingest") { await attempt("ingest") { try await ingest() } }
    }
}
