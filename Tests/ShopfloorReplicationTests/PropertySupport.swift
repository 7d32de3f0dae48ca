import Foundation
import Logging
import ShopfloorDomain
import ShopfloorReplication
import ShopfloorStore
import Testing

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny, fast, seedable generator, so every failure replays from its seed.
struct SplitMixRNG: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in 0..<bound.
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    /// True with probability `percent` / 100.
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }

    mutating func pick<T>(_ items: [T]) -> T? { items.isEmpty ? nil : items[below(items.count)] }
}

/// Replicas on SQLite files in a temp directory removed at the end.
final class ReplicaLab: @unchecked Sendable {
    let url: URL
    let config: ReplicaConfiguration
    private var made = 0

    init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("shopfloor-repl-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        var logger = Logger(label: "replication-tests")
        logger.logLevel = .warning
        config = ReplicaConfiguration(
            now: { Date(timeIntervalSince1970: 1_768_478_400) }, durable: false, logger: logger)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func replica(_ id: String) throws -> Replica {
        made += 1
        return try Replica.create(
            at: url.appendingPathComponent("\(id)-\(made).sqlite").path, name: id, id: id, configuration: config)
    }

    func reopen(_ replica: Replica) throws -> Replica {
        try Replica.open(at: replica.path, configuration: config)
    }
}

func amount(_ text: String) -> Amount { try! Amount(parsing: text) }

/// Offers everything `source` holds that `target` lacks (at most `limit`, a causally closed prefix).
@discardableResult
func pull(_ target: Replica, from source: Replica, limit: Int = 1_000_000) throws -> IntegrationReport {
    try target.integrate(try source.operations(missingFrom: target.versionVector, limit: limit))
}

/// One author of a random history: either a real replica, or an in-memory one (the pure ``Fold`` with its own
/// clocks, stamping operations exactly as ``Replica/record(_:date:)`` does), which is much faster to drive.
protocol HistoryNode: AnyObject {
    var nodeID: String { get }
    var shop: Shop { get throws }
    /// Records `command` after local validation; false when refused.
    func attempt(_ command: Command) throws -> Bool
    /// Takes (a causally closed prefix of) what `source` holds and this node lacks.
    func pull(from source: Self, limit: Int) throws
    /// Everything held, in canonical order.
    func heldOperations() throws -> [ShopOperation]
    func newOrderNumber() throws -> OrderNumber
    func newReceiptID() -> String
}

extension Replica: HistoryNode {
    var nodeID: String { id }
    func attempt(_ command: Command) throws -> Bool {
        do {
            try record(command)
            return true
        } catch ReplicaError.refused { return false }
    }
    func pull(from source: Replica, limit: Int) throws {
        let report = try ShopfloorReplicationTests.pull(self, from: source, limit: limit)
        #expect(report.outcomes.allSatisfy { $0 == .accepted }, "pull refused \(report.outcomes)")
    }
    func heldOperations() throws -> [ShopOperation] { try allOperations() }
    func newOrderNumber() throws -> OrderNumber { try nextOrderNumber(kind: .production) }
    func newReceiptID() -> String { nextReceiptID() }
}

/// A replica without a database: the fold, the clocks and the log in memory.
final class MemoryNode: HistoryNode {
    let nodeID: String
    private(set) var fold = Fold()
    private(set) var vector = VersionVector()
    private(set) var lamport: UInt64 = 0
    /// Canonical order.
    private(set) var log: [ShopOperation] = []
    private var sequence = 0

    init(id: String) { nodeID = id }

    var shop: Shop { fold.shop }

    func attempt(_ command: Command) throws -> Bool {
        let op = ShopOperation(
            id: OperationID(replica: nodeID, counter: vector[nodeID] + 1), lamport: lamport + 1, context: vector,
            timestamp: "2026-01-15T12:00:00.000Z", date: "2026-01-15", command: command)
        do { _ = try fold.applyLocal(op, command: command) } catch { return false }
        lamport = op.lamport
        vector.record(op.id)
        log.append(op)
        return true
    }

    func pull(from source: MemoryNode, limit: Int) throws {
        let new = Array(source.log.lazy.filter { !self.vector.contains($0.id) }.prefix(limit))
        guard let first = new.first else { return }
        // A prefix of the source's canonical order: causally closed, since that order extends happens-before.
        for op in new {
            vector.record(op.id)
            lamport = max(lamport, op.lamport)
        }
        log = (log + new).sorted { $0.key < $1.key }
        if fold.canAppend(first) {
            for op in new { _ = fold.apply(op) }
        } else {
            fold = Fold()
            for op in log { _ = fold.apply(op) }
        }
    }

    func heldOperations() -> [ShopOperation] { log }

    func newOrderNumber() -> OrderNumber {
        sequence += 1
        return OrderNumber("PO-\(nodeID)-\(sequence)")
    }

    func newReceiptID() -> String { "RC-\(nodeID)-\(vector[nodeID] + 1)" }
}

/// The operations a fresh ``MemoryNode`` records for the worked-example catalog and opening stock.
func seedShop(_ node: some HistoryNode) throws {
    let commands: [Command] = [
        .addLocation(Location(code: "PLANT")), .addLocation(Location(code: "WIP")),
        .addItem(Item(sku: "STEEL", kind: .material, unit: "kg")), .addItem(Item(sku: "BOLT", kind: .material)),
        .addItem(Item(sku: "PAINT", kind: .material, unit: "l")), .addItem(Item(sku: "FRAME", kind: .component)),
        .addItem(Item(sku: "CHAIR", kind: .product)),
        .setBOM(
            SetBOM(
                parent: "FRAME",
                lines: [BOMLine(sku: "STEEL", quantity: amount("2.5")), BOMLine(sku: "BOLT", quantity: 4)])),
        .setBOM(
            SetBOM(
                parent: "CHAIR",
                lines: [
                    BOMLine(sku: "FRAME", quantity: 1), BOMLine(sku: "BOLT", quantity: 2),
                    BOMLine(sku: "PAINT", quantity: amount("0.2")),
                ])),
        .adjustStock(AdjustStock(sku: "STEEL", location: "PLANT", quantity: 200, unitCost: 2)),
        .adjustStock(AdjustStock(sku: "BOLT", location: "PLANT", quantity: 800, unitCost: amount("0.1"))),
        .adjustStock(AdjustStock(sku: "PAINT", location: "PLANT", quantity: 40, unitCost: 5)),
    ]
    for command in commands { #expect(try node.attempt(command)) }
}

/// A random history over several replicas: random commands recorded on random replicas, which now and then pull
/// (part of) what another holds, so there are real concurrent operations and every kind of conflict.
struct RandomHistory {
    /// Every operation, in canonical order.
    var operations: [ShopOperation]
    /// What each author held at the end: causally closed, overlapping op sets.
    var held: [[ShopOperation]]
    var authors: Int

    /// Random distinct 4-letter ids, so the canonical tie-break does not follow the order replicas were made in.
    static func ids(_ count: Int, rng: inout SplitMixRNG) -> [String] {
        let alphabet = Array("abcdefghjkmnpqrstuvwxyz")
        var ids: [String] = []
        while ids.count < count {
            let id = String((0..<4).map { _ in alphabet[rng.below(alphabet.count)] })
            if !ids.contains(id) { ids.append(id) }
        }
        return ids
    }

    /// Drives `nodes` for `steps` random steps (a step is a command, or a pull 18% of the time).
    static func drive<Node: HistoryNode>(
        _ nodes: [Node], seed: UInt64, steps: Int, rng: inout SplitMixRNG
    ) throws -> RandomHistory {
        try seedShop(nodes[0])
        for node in nodes.dropFirst() { try node.pull(from: nodes[0], limit: .max) }
        for _ in 0..<steps {
            let node = nodes[rng.below(nodes.count)]
            if rng.chance(18) {
                let source = nodes[rng.below(nodes.count)]
                guard source !== node else { continue }
                try node.pull(from: source, limit: rng.chance(50) ? 1 + rng.below(25) : .max)
                continue
            }
            guard let command = try randomCommand(for: node, rng: &rng) else { continue }
            _ = try node.attempt(command)
        }
        let held = try nodes.map { try $0.heldOperations() }
        var all: [OperationID: ShopOperation] = [:]
        for ops in held { for op in ops { all[op.id] = op } }
        return RandomHistory(operations: all.values.sorted { $0.key < $1.key }, held: held, authors: nodes.count)
    }

    /// A history authored in memory by 3–5 nodes.
    static func inMemory(seed: UInt64, steps: Int) throws -> RandomHistory {
        var rng = SplitMixRNG(seed: seed)
        let nodes = ids(3 + rng.below(3), rng: &rng).map(MemoryNode.init(id:))
        return try drive(nodes, seed: seed, steps: steps, rng: &rng)
    }

    /// A history authored by 3–5 real replicas (slower; checks how ``Replica/record(_:date:)`` stamps operations).
    static func onReplicas(seed: UInt64, steps: Int, lab: ReplicaLab) throws -> (RandomHistory, [Replica]) {
        var rng = SplitMixRNG(seed: seed)
        let replicas = try ids(3 + rng.below(3), rng: &rng).map { try lab.replica($0) }
        return (try drive(replicas, seed: seed, steps: steps, rng: &rng), replicas)
    }

    static func randomCommand(for node: some HistoryNode, rng: inout SplitMixRNG) throws -> Command? {
        let shop = try node.shop
        let orders = shop.orders.keys.sorted()
        let receipts = shop.receiptOrders.keys.sorted()
        let materials: [SKU] = ["STEEL", "BOLT", "PAINT"]
        let locations = ["PLANT", "WIP"]
        switch rng.below(22) {
        case 0, 1:
            return .adjustStock(
                AdjustStock(
                    sku: rng.pick(materials)!, location: rng.pick(locations)!, quantity: Amount(1 + rng.below(60)),
                    unitCost: rng.chance(80) ? Amount(1 + rng.below(9)) : nil))
        case 2:
            return .adjustStock(
                AdjustStock(
                    sku: rng.pick(materials)!, location: rng.pick(locations)!, quantity: Amount(-(1 + rng.below(40)))))
        case 3:
            let from = rng.pick(locations)!
            return .transferStock(
                TransferStock(
                    sku: rng.pick(materials + ["CHAIR"])!, quantity: Amount(1 + rng.below(20)), from: from,
                    to: from == "PLANT" ? "WIP" : "PLANT"))
        case 4, 5, 6:
            // A small shared pool of typed numbers makes concurrent duplicates likely.
            let number = rng.chance(60) ? OrderNumber("PO-\(rng.below(6))") : try node.newOrderNumber()
            return .createOrder(
                CreateOrder(
                    number: number, kind: rng.chance(50) ? .production : .work, location: "PLANT",
                    due: rng.chance(30) ? "2026-02-\(10 + rng.below(18))" : nil,
                    tolerancePercent: rng.chance(30) ? 10 : 0,
                    outputs: [
                        OutputSpec(
                            sku: rng.chance(80) ? "CHAIR" : "FRAME", quantity: Amount(2 + rng.below(10)),
                            unitCost: rng.chance(80) ? Amount(1 + rng.below(9)) : nil)
                    ]))
        case 7:
            guard let order = rng.pick(orders), let line = shop.orders[order]?.lines.first else { return nil }
            return .setCost(SetCost(order: order, sku: line.sku, unitCost: Amount(1 + rng.below(9))))
        case 8:
            guard let order = rng.pick(orders) else { return nil }
            return .editOrder(
                EditOrder(
                    order: order, notes: rng.chance(50) ? "note \(rng.below(4))" : nil,
                    tolerancePercent: rng.chance(30) ? Amount(rng.below(3) * 10) : nil))
        case 9, 10, 11, 12:
            guard let order = rng.pick(orders), let status = shop.orders[order]?.status else { return nil }
            // Mostly the next sensible step, sometimes anything.
            let action: OrderTransition.Action
            switch (status, rng.chance(75)) {
            case (.draft, true): action = .enter
            case (.entered, true): action = .start
            case (.production, true): action = rng.chance(70) ? .complete : .cancel
            default: action = rng.pick(OrderTransition.Action.allCases)!
            }
            return .transition(OrderTransition(order: order, action: action))
        case 13, 14, 15, 16:
            guard let order = rng.pick(orders), let line = shop.orders[order]?.lines.first else { return nil }
            let id = rng.chance(40) ? "R-\(rng.below(8))" : node.newReceiptID()
            return .addReceipt(
                AddReceipt(
                    order: order, receipt: id, lines: [BOMLine(sku: line.sku, quantity: Amount(1 + rng.below(6)))]))
        case 17:
            guard let receipt = rng.pick(receipts) else { return nil }
            return .voidReceipt(VoidReceipt(receipt: receipt))
        case 18:
            if rng.chance(50) {
                return .setBOM(
                    SetBOM(
                        parent: "FRAME",
                        lines: [
                            BOMLine(sku: "STEEL", quantity: Amount(1 + rng.below(4))),
                            BOMLine(sku: "BOLT", quantity: Amount(2 + rng.below(4))),
                        ]))
            }
            return .setBOM(
                SetBOM(
                    parent: "CHAIR",
                    lines: [
                        BOMLine(sku: "FRAME", quantity: 1),
                        BOMLine(sku: "PAINT", quantity: amount("0.\(1 + rng.below(5))")),
                    ]))
        case 19:
            let open = shop.conflicts.map(\.id).filter { shop.acknowledgements[$0] == nil }
            guard let conflict = rng.pick(open) else { return nil }
            return .acknowledgeConflict(AcknowledgeConflict(conflict: conflict, note: "ack \(rng.below(3))"))
        case 20:
            // Concurrent definitions of one new SKU.
            return .addItem(Item(sku: SKU("X\(rng.below(3))"), kind: .material, unit: rng.pick(["kg", "ea", "m"])!))
        default:
            return .addLocation(Location(code: "L\(rng.below(4))", name: "site \(rng.below(3))"))
        }
    }
}

/// A random linear extension of the operations' causal order (each author's counter order and every context),
/// found from the context vectors alone.
func randomCausalOrder(_ ops: [ShopOperation], rng: inout SplitMixRNG) -> [ShopOperation] {
    var byAuthor: [String: [ShopOperation]] = [:]
    for op in ops.sorted(by: { $0.id.counter < $1.id.counter }) { byAuthor[op.id.replica, default: []].append(op) }
    var delivered = VersionVector()
    var result: [ShopOperation] = []
    var authors = byAuthor.keys.sorted()
    while !authors.isEmpty {
        // The next operation of an author is ready when everything in its context is delivered.
        let ready = authors.filter { author in
            let next = byAuthor[author]![Int(delivered[author])]
            return next.context.isCovered(by: delivered)
        }
        guard let author = rng.pick(ready) else {
            Issue.record("no operation is ready: the op set is not causally closed")
            return result
        }
        let op = byAuthor[author]![Int(delivered[author])]
        result.append(op)
        delivered.record(op.id)
        if Int(delivered[author]) == byAuthor[author]!.count { authors.removeAll { $0 == author } }
    }
    return result
}

/// Checks that the canonical key extends happens-before: every operation sorts after everything in its context.
func checkCanonicalOrderExtendsHappensBefore(_ ops: [ShopOperation], comment: Comment) {
    var keys: [OperationID: CanonicalKey] = [:]
    for op in ops { keys[op.id] = op.key }
    for op in ops {
        for (replica, counter) in op.context.counters {
            // The author's ops have increasing keys, so the last one in the context is the one to check ...
            guard let key = keys[OperationID(replica: replica, counter: counter)] else {
                Issue.record("\(comment): \(op.id)'s context names \(replica):\(counter), which is not in the set")
                continue
            }
            #expect(key < op.key, "\(comment): \(replica):\(counter) is in \(op.id)'s context but sorts after it")
        }
        // ... and they are increasing.
        if op.id.counter > 1, let previous = keys[OperationID(replica: op.id.replica, counter: op.id.counter - 1)] {
            #expect(previous < op.key, "\(comment): \(op.id) sorts before its author's previous operation")
        }
    }
}
