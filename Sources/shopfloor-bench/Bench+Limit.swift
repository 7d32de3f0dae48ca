import Foundation

extension Bench {
    /// The raw SQLite ceiling: a burst in one transaction (WAL, synchronous=NORMAL) and single durable commits
    /// (WAL, synchronous=FULL), with rows taken from the shop's real history.
    func limit() throws {
        Progress.say("limit: raw SQLite C API, same library and pragmas, ops-table rows")
        var history = SharedHistory(base: base)
        limitRows = (base.operations + history.next(10_000)).map(RawSQLite.Row.init)
        let averageBytes = Double(limitRows.map(\.bytes).reduce(0, +)) / Double(limitRows.count)
        let seconds = try RawSQLite.burst(limitRows, count: plan.limitRows, path: try path("limit/burst.sqlite"))
        limitOpsPerSecond = Double(plan.limitRows) / seconds
        report.add(
            id: "limit.insert", "limit", "raw INSERT burst, 1 txn, WAL + synchronous=NORMAL", limitOpsPerSecond,
            "rows/s",
            note: "\(plan.limitRows.formatted3) rows of \(averageBytes.formatted3) B, ops schema + 2 indexes")
        let latencies = try RawSQLite.durableCommits(
            limitRows, count: plan.durableCommits, path: try path("limit/durable.sqlite"))
        limitDurable = (percentile(latencies, 50) * 1000, percentile(latencies, 99) * 1000)
        report.add(
            id: "limit.commit.p50", "limit", "raw single-row commit, WAL + synchronous=FULL, p50", limitDurable.p50,
            "ms")
        report.add(
            id: "limit.commit.p99", "limit", "raw single-row commit, WAL + synchronous=FULL, p99", limitDurable.p99,
            "ms")
    }
}
