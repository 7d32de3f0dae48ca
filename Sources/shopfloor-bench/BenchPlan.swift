/// How much each benchmark does: `quick` takes seconds (CI); `full` stays under 15 minutes on 2 cores.
struct BenchPlan: Sendable {
    /// Rows for the raw SQLite ceiling.
    var limitRows: Int
    /// Single durable commits, for the raw and the replica latency.
    var durableCommits: Int
    /// Commands recorded before the timed burst, so the replica already holds many orders.
    var localWarmup: Int
    var localBurst: Int
    /// The burst stops early once this is spent.
    var localBurstSecondsMax: Double
    /// `shopfloor receipt add` processes.
    var processRuns: Int
    var ingestDevices: [Int]
    var ingestSizes: [Int]
    /// A configuration stops pushing once this is spent (and says so).
    var ingestBudgetSeconds: Double
    /// The run against `shopfloor-hq serve` in its own process, for HQ's peak RSS.
    var ingestProcess: (devices: Int, operations: Int)
    /// That run stops pushing once this is spent.
    var ingestProcessBudgetSeconds: Double
    var catchUpSizes: [Int]
    /// A catch-up size is skipped (and the table says so) when the rates measured at the previous size project it
    /// past this whole-run budget.
    var budgetSeconds: Double
    /// Own operations a device records offline before it syncs, and operations others sent HQ meanwhile.
    var suffix: (own: Int, others: Int)
    var rebuildSizes: Set<Int>
    /// Catch-ups up to this size also compare the device's digest with HQ's.
    var digestCheckMax: Int
    var wireBatches: Int
    /// Receipts the Yjs peer authors over 8 replicas and merges.
    var peerReceipts: Int

    static let quick = BenchPlan(
        limitRows: 50_000, durableCommits: 50, localWarmup: 200, localBurst: 500, localBurstSecondsMax: 10,
        processRuns: 5,
        ingestDevices: [1, 8], ingestSizes: [1_000], ingestBudgetSeconds: 10, ingestProcess: (8, 1_000),
        ingestProcessBudgetSeconds: 10,
        catchUpSizes: [2_000, 3_000], budgetSeconds: 120, suffix: (100, 100), rebuildSizes: [3_000],
        digestCheckMax: 3_000,
        wireBatches: 1, peerReceipts: 4_000)

    static let full = BenchPlan(
        limitRows: 1_000_000, durableCommits: 1_000, localWarmup: 3_000, localBurst: 20_000, localBurstSecondsMax: 40,
        processRuns: 50,
        ingestDevices: [1, 8, 32], ingestSizes: [10_000, 100_000], ingestBudgetSeconds: 30,
        ingestProcess: (8, 1_000_000), ingestProcessBudgetSeconds: 150, catchUpSizes: [2_000, 100_000, 1_000_000],
        budgetSeconds: 840,
        suffix: (1_000, 100_000), rebuildSizes: [100_000, 1_000_000],
        digestCheckMax: 100_000, wireBatches: 10, peerReceipts: 100_000)
}
