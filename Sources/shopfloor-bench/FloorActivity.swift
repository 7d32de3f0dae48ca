import ShopfloorDomain

/// One replica's floor work as commands: orders created, entered, started, received in 6–14 deliveries and
/// completed, a dozen of them open at once; now and then material comes in. About 70% of the commands are
/// receipts. Every command is valid where it is recorded, so a replica records them all without a refusal.
struct FloorActivity: Sendable {
    struct OutputPlan: Sendable {
        var sku: SKU
        var quantity: Int
        var received = 0
        var perReceipt: Int
    }

    enum Stage: Sendable { case created, entered, started, received }

    struct OpenOrder: Sendable {
        var number: OrderNumber
        var outputs: [OutputPlan]
        var stage: Stage
    }

    let author: String
    let workload: Workload
    var rng: SplitMix64
    var open: [OpenOrder] = []
    var ordersCreated = 0
    var receiptsMade = 0
    let openOrdersTarget: Int

    init(author: String, workload: Workload, seed: UInt64, openOrdersTarget: Int = 12) {
        self.author = author
        self.workload = workload
        self.rng = SplitMix64(seed: seed)
        self.openOrdersTarget = openOrdersTarget
    }

    mutating func next() -> Command {
        if rng.next() % 100 < 3 {
            let sku = workload.materials[Int(rng.next() % UInt64(workload.materials.count))]
            let location = workload.locations[Int(rng.next() % UInt64(workload.locations.count))]
            return .adjustStock(AdjustStock(sku: sku, location: location, quantity: 500, unitCost: amount("2.15")))
        }
        if open.count < openOrdersTarget { return createOrder() }
        let index = Int(rng.next() % UInt64(open.count))
        switch open[index].stage {
        case .created:
            open[index].stage = .entered
            return .transition(OrderTransition(order: open[index].number, action: .enter))
        case .entered:
            open[index].stage = .started
            return .transition(OrderTransition(order: open[index].number, action: .start))
        case .started:
            return receipt(index)
        case .received:
            let number = open[index].number
            open.remove(at: index)
            return .transition(OrderTransition(order: number, action: .complete))
        }
    }

    /// The next receipt command, with the open orders' state moved on; other commands are skipped.
    mutating func nextReceipt(skippingAtMost limit: Int = 64, record: (Command) throws -> Void) rethrows -> Command {
        for _ in 0..<limit {
            let command = next()
            if case .addReceipt = command { return command }
            try record(command)
        }
        preconditionFailure("no receipt in \(limit) commands")
    }

    mutating func createOrder() -> Command {
        ordersCreated += 1
        let kind: OrderKind = rng.next() % 10 < 6 ? .work : .production
        let number = OrderNumber("\(kind == .work ? "WO" : "PO")-\(author)-\(ordersCreated)")
        let location = workload.locations[Int(rng.next() % UInt64(workload.locations.count))]
        let deliveries = 6 + Int(rng.next() % 9)
        var outputs: [OutputPlan] = []
        let outputCount = rng.next() % 5 == 0 ? 2 : 1
        while outputs.count < outputCount {
            let sku = workload.producible[Int(rng.next() % UInt64(workload.producible.count))]
            guard !outputs.contains(where: { $0.sku == sku }) else { continue }
            let perReceipt = 5 + Int(rng.next() % 16)
            outputs.append(OutputPlan(sku: sku, quantity: perReceipt * deliveries, perReceipt: perReceipt))
        }
        open.append(OpenOrder(number: number, outputs: outputs, stage: .created))
        let cost = "\(8 + rng.next() % 30).\(pad(Int(rng.next() % 100), 2))"
        return .createOrder(
            CreateOrder(
                number: number, kind: kind, location: location, due: "2026-12-\(pad(1 + Int(rng.next() % 28), 2))",
                outputs: outputs.map { OutputSpec(sku: $0.sku, quantity: Amount($0.quantity), unitCost: amount(cost)) })
        )
    }

    mutating func receipt(_ index: Int) -> Command {
        receiptsMade += 1
        var lines: [BOMLine] = []
        for line in open[index].outputs.indices {
            let output = open[index].outputs[line]
            let quantity = min(output.perReceipt, output.quantity - output.received)
            guard quantity > 0 else { continue }
            open[index].outputs[line].received += quantity
            lines.append(BOMLine(sku: output.sku, quantity: Amount(quantity)))
        }
        if open[index].outputs.allSatisfy({ $0.received >= $0.quantity }) { open[index].stage = .received }
        return .addReceipt(AddReceipt(order: open[index].number, receipt: "RC-\(author)-\(receiptsMade)", lines: lines))
    }
}
