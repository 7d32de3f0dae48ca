import Foundation
import ShopfloorDomain
import ShopfloorReplication
import ShopfloorStore

extension Bench {
    /// Commands per `record` call in the burst.
    static let burstPerCall = 200

    /// Appending operations on one replica with every projection: a burst (synchronous=NORMAL), single durable
    /// receipts (synchronous=FULL), and `shopfloor receipt add` as a whole process.
    func localWrite() async throws {
        let database = try path("local/replica.sqlite")
        var replica: Replica? = try Replica.create(
            at: database, name: "local", id: BaseHistory.officeID, configuration: Self.quiet(durable: false))
        for start in stride(from: 0, to: workload.catalogCommands.count, by: 200) {
            try replica!.record(
                Array(workload.catalogCommands[start..<min(start + 200, workload.catalogCommands.count)]))
        }
        let peers = try replica!.integrate(base.peerOperations)
        precondition(peers.outcomes.allSatisfy(\.isAccepted), "the peers' operations were refused")
        var activity = FloorActivity(author: BaseHistory.officeID, workload: workload, seed: 99)
        for _ in 0..<plan.localWarmup { try replica!.record(activity.next()) }

        if wants("local") {
            // Many commands in one call (a scanned delivery, an import), then one command per call.
            for perCall in [Self.burstPerCall, 1] {
                Progress.say(
                    "local write: burst of \(plan.localBurst.formatted3) commands, \(perCall) per call, durable: false")
                var receipts = 0
                var recorded = 0
                let cpu = CPUTime.now()
                let clock = Stopwatch()
                while recorded < plan.localBurst && clock.seconds < plan.localBurstSecondsMax {
                    var commands: [Command] = []
                    for _ in 0..<perCall {
                        let command = activity.next()
                        if case .addReceipt = command { receipts += 1 }
                        commands.append(command)
                    }
                    try replica!.record(commands)
                    recorded += commands.count
                }
                let rate = Double(recorded) / clock.seconds
                let cpuPerOp = (CPUTime.now() - cpu) / Double(recorded) * 1e6
                let batched = perCall > 1
                report.add(
                    id: batched ? "local.burst" : "local.burst.single", "local write",
                    "burst, Replica.record of \(perCall) command\(batched ? "s" : "") per call, durable: false (WAL + NORMAL)",
                    rate, "ops/s", baseline: ("raw burst", limitOpsPerSecond),
                    target: batched ? "≥ 0.02 × raw" : nil, met: batched ? rate >= 0.02 * limitOpsPerSecond : nil,
                    note:
                        "\(recorded.formatted3) ops\(recorded < plan.localBurst ? " (time bound)" : ""), \(receipts * 100 / recorded)% "
                        + "receipts, \(activity.ordersCreated.formatted3) orders so far, one txn per call, CPU \(cpuPerOp.formatted3) µs/op"
                )
            }
        }

        // Reopened durable: synchronous=FULL, as the CLI and HQ run.
        replica = nil
        replica = try Replica.open(at: database, configuration: Self.quiet(durable: true))
        if wants("local") {
            Progress.say("local write: \(plan.durableCommits.formatted3) single durable receipts")
            var latencies: [Double] = []
            for _ in 0..<plan.durableCommits {
                let command = try activity.nextReceipt { try replica!.record($0) }
                let clock = Stopwatch()
                try replica!.record(command)
                latencies.append(clock.seconds * 1000)
            }
            let p99 = percentile(latencies, 99)
            report.add(
                id: "local.receipt.p50", "local write", "durable receipt in-process, p50", percentile(latencies, 50),
                "ms",
                baseline: ("raw durable commit p50", limitDurable.p50), target: "≤ 3 × raw",
                met: percentile(latencies, 50) <= 3 * limitDurable.p50)
            report.add(
                id: "local.receipt.p99", "local write", "durable receipt in-process, p99", p99, "ms",
                baseline: ("raw durable commit p99", limitDurable.p99))
        }

        guard wants("process") else { return }
        // An order with room for every receipt the processes add.
        let sku = workload.products[0]
        let order: OrderNumber = "WO-cli-1"
        try replica!.record(
            .createOrder(
                CreateOrder(
                    number: order, kind: .production, location: workload.locations[0],
                    outputs: [OutputSpec(sku: sku, quantity: 10_000_000, unitCost: 10)])))
        try replica!.record(.transition(OrderTransition(order: order, action: .enter)))
        try replica!.record(.transition(OrderTransition(order: order, action: .start)))
        let orders = try replica!.orders().count
        let operations = replica!.operationCount
        replica = nil

        Progress.say(
            "process: \(plan.processRuns) × `shopfloor receipt add` on \(operations.formatted3) ops, \(orders.formatted3) orders"
        )
        var seconds: [Double] = []
        var peak = 0
        for _ in 0..<plan.processRuns {
            let run = try await Spawn.runChecked(
                shopfloor, ["receipt", "add", order.rawValue, "\(sku)=1", "--db", database],
                stdout: try path("local/receipt.out"),
                stderr: try path("local/receipt.err"), timeoutSeconds: 60)
            seconds.append(run.seconds * 1000)
            peak = max(peak, run.peakKiB)
        }
        // The same durable insert by the sqlite3 shell: a process that only opens the file and commits one row.
        var shell: [Double] = []
        let shellDatabase = try path("local/shell.sqlite")
        _ = try RawSQLite.Connection(path: shellDatabase, synchronous: "FULL").execute(RawSQLite.opsTable)
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/sqlite3") {
            for index in 0..<plan.processRuns {
                let sql =
                    "PRAGMA synchronous = FULL; "
                    + RawSQLite.literalInsert(limitRows[index % limitRows.count], index: index + 1)
                let run = try await Spawn.runChecked(
                    "/usr/bin/sqlite3", [shellDatabase, sql], stderr: try path("local/shell.err"), timeoutSeconds: 60)
                shell.append(run.seconds * 1000)
            }
        }
        let p50 = percentile(seconds, 50)
        let shellBaseline = shell.isEmpty ? nil : ("sqlite3 shell, 1 durable insert", percentile(shell, 50))
        shellInsertMs = shellBaseline?.1
        report.add(
            id: "local.cli.receipt", "local write", "`shopfloor receipt add` whole process, median", p50, "ms",
            baseline: shellBaseline,
            target: "≤ 30 ms", met: p50 <= 30, note: "peak RSS \(peak / 1024) MiB")
        report.add(
            id: "local.cli.receipt.p99", "local write", "`shopfloor receipt add` whole process, p99",
            percentile(seconds, 99), "ms",
            baseline: shell.isEmpty ? nil : ("sqlite3 shell p99", percentile(shell, 99)))
    }
}
