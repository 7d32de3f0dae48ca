import Foundation
import ShopfloorDomain
import ShopfloorStore

extension Bench {
    /// Whole-process floor commands on a device that holds `size` operations: what a floor operator waits for, at
    /// each history size. Flat means the cost follows what a command touches, not the history.
    func historySweep(device: String, size: Int) async throws {
        guard wants("history") else { return }
        let replica = try Replica.open(at: device, configuration: Self.quiet(durable: true))
        // An order of this device's own, in production, with room for every receipt the processes add.
        let sku = workload.products[0]
        let order = OrderNumber("WO-history-\(size)")
        try replica.record([
            .createOrder(
                CreateOrder(
                    number: order, kind: .production, location: workload.locations[0],
                    outputs: [OutputSpec(sku: sku, quantity: 10_000_000, unitCost: 10)])),
            .transition(OrderTransition(order: order, action: .enter)),
            .transition(OrderTransition(order: order, action: .start)),
        ])
        let open = try replica.orders(status: OrderStatus.production.rawValue).count
        Progress.say(
            "history: floor commands as whole processes on \(size.formatted3) ops (\(open.formatted3) orders in production)"
        )
        let runs = plan.processRuns
        var timings: [String: [Double]] = [:]
        var peak = 0
        let commands: [(String, [String])] = [
            ("receipt", ["receipt", "add", order.rawValue, "\(sku)=1"]),
            ("show", ["order", "show", order.rawValue]),
            ("list", ["order", "list", "--status", "production"]),
        ]
        for _ in 0..<runs {
            for (name, arguments) in commands {
                let run = try await Spawn.runChecked(
                    shopfloor, arguments + ["--db", device], stdout: try path("history/\(name).out"),
                    stderr: try path("history/\(name).err"), timeoutSeconds: 60)
                timings[name, default: []].append(run.seconds * 1000)
                peak = max(peak, run.peakKiB)
            }
        }
        let labels = [
            "receipt": "`shopfloor receipt add`", "show": "`shopfloor order show`",
            "list": "`shopfloor order list --status production` (\(open) orders)",
        ]
        for (name, _) in commands {
            let median = percentile(timings[name]!, 50)
            let first = historyBaseline[name]
            if first == nil { historyBaseline[name] = (size, median) }
            var target: String?
            var met: Bool?
            if let first, size >= 1_000_000 {
                target = "≤ 1.5 × at \(first.size.formatted3) ops"
                met = median <= 1.5 * first.median
            }
            if name == "receipt", size >= 1_000_000 {
                target = (target.map { $0 + ", " } ?? "") + "≤ 30 ms and ≤ 12 × sqlite3 shell"
                met = (met ?? true) && median <= 30 && (shellInsertMs.map { median <= 12 * $0 } ?? true)
            }
            let baseline =
                name == "receipt" && shellInsertMs != nil
                ? ("sqlite3 shell, 1 durable insert", shellInsertMs!)
                : first.map { ("same command on \($0.size.formatted3) ops", $0.median) }
            report.add(
                id: "history.\(name).\(size)", "history",
                "\(labels[name]!) whole process on \(size.formatted3) ops, median",
                median, "ms", baseline: baseline, target: target, met: met,
                note: "\(runs) runs; peak RSS \(peak / 1024) MiB")
        }
    }
}
