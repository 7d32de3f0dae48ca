import Foundation
import Logging
import ShopfloorDomain
import ShopfloorReplication
import ShopfloorStore
import Testing

// DESIGN.md §3, "Conflicts are data": every rule is built with real replicas on SQLite files. A base replica records
// the shared past; two or three devices integrate it and then record their conflicting operations offline (each
// validated locally by `record`). The union is then delivered to fresh observers in every permutation of the
// per-device groups, in several delivery styles (one batch per group, one batch, op by op with every op offered
// twice, random causal interleavings), and all observers and the fully synced devices must agree: same digest,
// same conflict list, and the rule's own outcome. Peers merging directly order operations by Lamport clock, so each
// rule is also built both ways round. Then the same operations go through HQ (a sequencer: arrival order is the
// canonical order) in every arrival order, and copies of the devices pull from it: the rule's outcome must hold
// for every arrival order, and every copy must agree with HQ.

// MARK: - Lab

/// Replicas in one temp directory, all stamped by the same fixed clock (business date 2026-01-15).
private final class ConflictLab {
    let dir = TempDirectory()
    let config: ReplicaConfiguration = {
        var logger = Logger(label: "conflict-rule-tests")
        logger.logLevel = .warning
        return ReplicaConfiguration(now: { Date(timeIntervalSince1970: 1_768_478_400) }, durable: false, logger: logger)
    }()
    private var made = 0

    func replica(_ id: String) throws -> Replica {
        made += 1
        return try Replica.create(at: dir.path("\(id)-\(made).sqlite"), name: id, id: id, configuration: config)
    }

    /// A device that starts from everything `sources` hold.
    func device(_ id: String, from sources: Replica...) throws -> Replica {
        let device = try replica(id)
        for source in sources { try pull(device, from: source) }
        return device
    }

    /// The shared past: the worked-example catalog, opening stock at PLANT, and optionally an order driven
    /// through `actions`.
    func base(
        steel: Amount = 100, order: CreateOrder? = defaultOrder(), actions: [OrderTransition.Action] = [.enter, .start]
    ) throws -> Replica {
        let base = try replica("base")
        try seedCatalog(base)
        try base.record(.adjustStock(AdjustStock(sku: "STEEL", location: "PLANT", quantity: steel, unitCost: 2)))
        try base.record(
            .adjustStock(AdjustStock(sku: "BOLT", location: "PLANT", quantity: 500, unitCost: amount("0.1"))))
        try base.record(.adjustStock(AdjustStock(sku: "PAINT", location: "PLANT", quantity: 20, unitCost: 5)))
        if let order {
            try base.record(.createOrder(order))
            for action in actions { try base.record(.transition(OrderTransition(order: order.number, action: action))) }
        }
        return base
    }
}

/// PO-1: a production order for 10 CHAIR at PLANT, unit cost 5. Inputs (fully exploded): STEEL 25, BOLT 60, PAINT 2.
private func defaultOrder(
    number: OrderNumber = "PO-1", quantity: Amount = 10, tolerance: Amount = 0, unitCost: Amount? = 5
) -> CreateOrder {
    CreateOrder(
        number: number, kind: .production, location: "PLANT", tolerancePercent: tolerance,
        outputs: [OutputSpec(sku: "CHAIR", quantity: quantity, unitCost: unitCost)])
}

/// Brings `target` up to date with everything `source` holds; every operation must be accepted.
private func pull(_ target: Replica, from source: Replica) throws {
    let ops = try source.operations(missingFrom: target.versionVector, limit: 1_000_000)
    let report = try target.integrate(ops)
    #expect(
        report.outcomes.allSatisfy { $0 == .accepted }, "\(target.id) pulling from \(source.id): \(report.outcomes)")
}

/// Records `count` harmless operations (new locations) so the device's next operation has a higher lamport.
private func pad(_ replica: Replica, _ count: Int) throws {
    for index in 0..<count {
        try replica.record(.addLocation(Location(code: "PAD-\(replica.id)-\(replica.operationCount)-\(index)")))
    }
}

private func receipt(_ order: OrderNumber, _ id: String, chairs: Amount) -> Command {
    .addReceipt(AddReceipt(order: order, receipt: id, lines: [BOMLine(sku: "CHAIR", quantity: chairs)]))
}

private func transition(_ order: OrderNumber, _ action: OrderTransition.Action) -> Command {
    .transition(OrderTransition(order: order, action: action))
}

/// Records `command` on `replica`, returning the operation id ("replica:counter").
@discardableResult
private func op(_ replica: Replica, _ command: Command) throws -> ShopOperation {
    try replica.record(command).operation
}

/// Asserts that `command` is refused locally with a domain error matching `expected`, and that nothing changed.
private func expectRefused(
    _ replica: Replica, _ command: Command, sourceLocation: SourceLocation = #_sourceLocation,
    _ expected: (DomainError) -> Bool
) throws {
    let digest = try replica.digest()
    let count = replica.operationCount
    let vector = replica.versionVector
    do {
        try replica.record(command)
        Issue.record("expected \(command) to be refused", sourceLocation: sourceLocation)
    } catch ReplicaError.refused(let error) {
        #expect(expected(error), "unexpected refusal: \(error)", sourceLocation: sourceLocation)
    }
    #expect(try replica.digest() == digest, sourceLocation: sourceLocation)
    #expect(replica.operationCount == count, sourceLocation: sourceLocation)
    #expect(replica.versionVector == vector, sourceLocation: sourceLocation)
}

// MARK: - Delivery and convergence

private func permutations<T>(_ items: [T]) -> [[T]] {
    guard items.count > 1 else { return [items] }
    return items.indices.flatMap { index -> [[T]] in
        var rest = items
        let first = rest.remove(at: index)
        return permutations(rest).map { [first] + $0 }
    }
}

/// Offers `chunks` one integrate call each, like a sync client would: an operation refused for a missing dependency
/// is offered again with the next chunk (and at the end until nothing is pending). Any other refusal is an issue.
private func deliver(_ chunks: [[ShopOperation]], to replica: Replica, label: String) throws {
    var pending: [ShopOperation] = []
    func offer(_ ops: [ShopOperation]) throws {
        guard !ops.isEmpty else { return }
        let report = try replica.integrate(ops)
        #expect(report.stored)
        var next: [ShopOperation] = []
        for (op, outcome) in zip(ops, report.outcomes) {
            switch outcome {
            case .accepted, .duplicate: break
            case .refused(.missingDependency, _): next.append(op)
            case .refused(let code, let message):
                Issue.record("\(label): \(op.id) refused \(code.rawValue): \(message)")
            }
        }
        pending = next
    }
    for chunk in chunks { try offer(pending + chunk) }
    var previous = Int.max
    while !pending.isEmpty, pending.count < previous {
        previous = pending.count
        try offer(pending)
    }
    #expect(pending.isEmpty, "\(label): never delivered \(pending.map(\.id))")
}

/// What every replica agreed on.
private struct Converged {
    var digest: String
    var conflicts: [ConflictRow]
    /// Observers, then the base and the devices after a full exchange.
    var replicas: [Replica]

    func conflicts(_ kind: Conflict.Kind) -> [ConflictRow] { conflicts.filter { $0.kind == kind.rawValue } }
}

/// Delivers the union of the base's and the devices' operations to fresh observers in every permutation of the
/// per-device groups and several delivery styles, then exchanges everything between the devices, and checks that
/// every replica has the same digest and the same conflicts (also after a rebuild and a reopen).
private func converge(_ lab: ConflictLab, base: Replica, devices: [Replica], seed: UInt64 = 7) throws -> Converged {
    let baseOps = try base.operations(authoredBy: base.id, after: 0, limit: 1_000_000)
    var groups: [[ShopOperation]] = []
    for device in devices {
        groups.append(try device.operations(authoredBy: device.id, after: 0, limit: 1_000_000))
    }
    var expectedVector = VersionVector()
    for op in baseOps + groups.flatMap({ $0 }) { expectedVector.record(op.id) }

    var rng = SeededGenerator(seed: seed)
    var observers: [(String, Replica)] = []
    func observe(_ label: String, _ chunks: [[ShopOperation]]) throws {
        let observer = try lab.replica("obs")
        try deliver(chunks, to: observer, label: label)
        #expect(observer.versionVector == expectedVector, "\(label)")
        observers.append((label, observer))
    }
    for permutation in permutations(Array(groups.indices)) {
        let ordered = permutation.map { groups[$0] }
        let name = permutation.map { devices[$0].id }.joined(separator: ",")
        try observe("groups \(name)", [baseOps] + ordered)
        try observe("one batch \(name)", [baseOps + ordered.flatMap { $0 }])
        let single = (baseOps + ordered.flatMap { $0 }).map { [$0] }
        try observe("op by op twice \(name)", single.flatMap { [$0, $0] } + [baseOps + ordered.flatMap { $0 }])
        // A random interleaving of the groups that keeps each device's counter order, in chunks of 1–3.
        var cursors = Array(repeating: 0, count: ordered.count)
        var chunks: [[ShopOperation]] = [baseOps]
        while let group = cursors.indices.filter({ cursors[$0] < ordered[$0].count }).randomElement(using: &rng) {
            let size = Int(rng.next() % 3) + 1
            let end = min(ordered[group].count, cursors[group] + size)
            chunks.append(Array(ordered[group][cursors[group]..<end]))
            cursors[group] = end
        }
        try observe("interleaved \(name)", chunks)
    }

    // Full exchange between the devices (and the base), then everything must agree.
    let everyone = [base] + devices
    for _ in 0..<2 {
        for target in everyone {
            for source in everyone where source !== target {
                let ops = try source.operations(missingFrom: target.versionVector, limit: 1_000_000)
                let report = try target.integrate(ops)
                #expect(report.outcomes.allSatisfy { $0 == .accepted }, "\(target.id) ← \(source.id)")
            }
        }
    }
    for replica in everyone { #expect(replica.versionVector == expectedVector, "\(replica.id)") }

    let reference = observers[0].1
    let digest = try reference.digest()
    let conflicts = try reference.conflictRows(all: true)
    let all = observers + everyone.map { ($0.id, $0) }
    for (label, replica) in all {
        #expect(try replica.digest() == digest, "digest of \(label)")
        let rows = try replica.conflictRows(all: true)
        #expect(rows == conflicts, "conflicts of \(label): \(rows.map { "\($0.kind) \($0.subject)" })")
        // The in-memory fold agrees with the rows.
        #expect(try replica.conflicts.map(\.conflict.id) == rows.map(\.id), "in-memory conflicts of \(label)")
    }
    // The projections are derived data: a rebuild from the log and a reopen give the same state.
    try reference.rebuild()
    #expect(try reference.digest() == digest, "rebuilt observer")
    let reopened = try Replica.open(at: observers.last!.1.path, configuration: lab.config)
    #expect(try reopened.digest() == digest, "reopened observer")
    #expect(try reopened.conflicts.map(\.conflict.id) == conflicts.map(\.id))
    return Converged(digest: digest, conflicts: conflicts, replicas: all.map(\.1) + [reopened])
}

// MARK: - Through HQ

/// HQ numbers operations on arrival, and that sequence is the canonical order. For every order in which the devices
/// push (after the base), a fresh HQ receives the groups; then a copy of each device (same id, same operations,
/// no sequence numbers yet) pulls from HQ in small pages, as does a new device. All must agree with HQ, and
/// `check` runs on HQ and on each of them with the device ids in arrival order.
private func throughHQ(
    _ lab: ConflictLab, base: Replica, devices: [Replica], check: (Replica, [String]) throws -> Void
) throws {
    let baseOps = try base.operations(authoredBy: base.id, after: 0, limit: 1_000_000)
    var groups: [String: [ShopOperation]] = [:]
    for device in devices {
        groups[device.id] = try device.operations(authoredBy: device.id, after: 0, limit: 1_000_000)
    }
    for arrival in permutations(devices.map(\.id)) {
        let label = "arrival \(arrival.joined(separator: ","))"
        var config = lab.config
        config.sequencer = true
        let hq = try Replica.create(
            at: lab.dir.path("hq-\(UUID().uuidString).sqlite"), name: "hq", id: "hq", configuration: config)
        #expect(try hq.integrate(baseOps, author: base.id).outcomes.allSatisfy { $0 == .accepted }, "\(label)")
        // Push in arrival order; an operation whose causal past is not at HQ yet waits for the next round.
        var waiting = arrival.map { ($0, groups[$0]!) }
        for _ in 0..<10 where waiting.contains(where: { !$0.1.isEmpty }) {
            waiting = try waiting.map { author, ops in
                guard !ops.isEmpty else { return (author, ops) }
                let report = try hq.integrate(ops, author: author)
                for (op, outcome) in zip(ops, report.outcomes) {
                    if case .refused(let code, let message) = outcome, code != .missingDependency {
                        Issue.record("\(label): \(op.id) refused \(code.rawValue): \(message)")
                    }
                }
                return (author, zip(ops, report.outcomes).filter { !($0.1 == .accepted) }.map(\.0))
            }
        }
        #expect(waiting.allSatisfy { $0.1.isEmpty }, "\(label): never pushed \(waiting.flatMap { $0.1.map(\.id) })")
        let digest = try hq.digest()
        let conflicts = try hq.conflictRows(all: true)
        try check(hq, arrival)

        var copies: [Replica] = []
        for device in devices + [try lab.replica("newcomer")] {
            let copy = try lab.replica(device.id)
            let held = try device.allOperations()
            #expect(held.allSatisfy { $0.seq == nil })
            #expect(try copy.integrate(held).outcomes.allSatisfy { $0 == .accepted }, "\(label)")
            // Pull in pages of 3, as `SyncClient` does.
            for _ in 0..<1000 {
                let page = try hq.page(after: copy.sequencedThrough, holding: copy.versionVector, limit: 3)
                if page.operations.isEmpty && page.sequenced.isEmpty { break }
                let assignments = Dictionary(page.sequenced.map { ($0.id, $0.seq) }, uniquingKeysWith: { $1 })
                let report = try copy.integrate(page.operations, assignments: assignments)
                #expect(report.outcomes.allSatisfy { $0 == .accepted }, "\(label) pull of \(copy.id)")
            }
            copies.append(copy)
        }
        for copy in copies {
            #expect(copy.versionVector == hq.versionVector, "\(label): \(copy.id)")
            #expect(try copy.digest() == digest, "\(label): digest of \(copy.id)")
            #expect(try copy.conflictRows(all: true) == conflicts, "\(label): conflicts of \(copy.id)")
            try check(copy, arrival)
        }
        try copies[0].rebuild()
        #expect(try copies[0].digest() == digest, "\(label): rebuilt copy")
    }
}

private func operations(_ row: ConflictRow) -> Set<String> { Set(row.operations.map(\.operation)) }

private func entries(_ replica: Replica, ref: OrderNumber, operation: ShopOperation) throws -> [LedgerRow] {
    try replica.ledger(ref: ref).filter { $0.operation == operation.id.description }
}

private func onHand(_ replica: Replica, _ sku: SKU, _ location: String = "PLANT") throws -> Amount {
    try replica.positions(sku: sku, location: location).first?.onHand ?? .zero
}

// MARK: - Tests

@Suite struct ConflictRuleTests {
    // MARK: Rules 1 and 2

    /// A cancels PO-1 in Production while B, offline, receives 4 CHAIR: the order ends Completed (closed short),
    /// the receipt is kept with its entries exactly once, and a cancel-vs-receipt conflict lists both operations.
    /// Peers merging directly (the Lamport order decides) and through HQ (arrival decides), either way round.
    @Test(arguments: [true, false])
    func cancelConcurrentWithReceiptClosesShortKeepingTheReceipt(cancelFirst: Bool) throws {
        let lab = ConflictLab()
        let base = try lab.base()
        let a = try lab.device("aaaa", from: base)
        let b = try lab.device("bbbb", from: base)
        try pad(cancelFirst ? b : a, 2)
        let cancel = try op(a, transition("PO-1", .cancel))
        let received = try op(b, receipt("PO-1", "R-B", chairs: 4))
        #expect((cancel.key < received.key) == cancelFirst)
        // Each device saw only its own side.
        #expect(try a.shop.orders["PO-1"]?.status == .cancelled)
        #expect(try b.shop.orders["PO-1"]?.status == .production)

        func verify(_ replica: Replica) throws {
            let order = try #require(try replica.orderDetail("PO-1"))
            #expect(order.status == "Completed")
            #expect(order.receipts.map(\.id) == ["R-B"])
            #expect(order.receipts.allSatisfy { !$0.voided })
            #expect(order.lines.map(\.produced) == [4])
            #expect(order.lines.map(\.onOrder) == [0])
            #expect(order.inputs.allSatisfy { $0.demand.isZero && $0.allocated.isZero })
            let written = try entries(replica, ref: "PO-1", operation: received)
            #expect(written.map(\.event).sorted() == ["CONSUME", "CONSUME", "CONSUME", "PRODUCE"])
            #expect(Set(written.map(\.sku)) == ["STEEL", "BOLT", "PAINT", "CHAIR"])
            let ledger = try replica.ledger(ref: "PO-1")
            #expect(!ledger.contains { $0.event == "REVERSE_PRODUCE" || $0.event == "REVERSE_CONSUME" })
            #expect(ledger.filter { $0.event == "PRODUCE" }.count == 1)
            #expect(try onHand(replica, "CHAIR") == 4)
            #expect(try onHand(replica, "STEEL") == 90)
            for position in try replica.positions(location: "PLANT") {
                #expect(position.onOrder.isZero && position.demand.isZero && position.allocated.isZero, "\(position)")
            }
            let conflicts = try replica.conflictRows(all: true)
            #expect(conflicts.map(\.kind) == ["cancel-vs-receipt"])
            let conflict = try #require(conflicts.first)
            #expect(conflict.subject == "PO-1")
            #expect(operations(conflict) == [cancel.id.description, received.id.description])
            #expect(Set(conflict.operations.map(\.author)) == ["aaaa", "bbbb"])
        }
        let result = try converge(lab, base: base, devices: [a, b])
        for replica in result.replicas { try verify(replica) }
        try throughHQ(lab, base: base, devices: [a, b]) { replica, _ in try verify(replica) }
    }

    /// Three devices: A cancels while B and C each receive. Every receipt is kept, the order ends Completed, and
    /// every receipt's operation appears in a conflict together with the cancel.
    @Test(arguments: [true, false])
    func cancelConcurrentWithTwoReceipts(cancelFirst: Bool) throws {
        let lab = ConflictLab()
        let base = try lab.base()
        let a = try lab.device("aaaa", from: base)
        let b = try lab.device("bbbb", from: base)
        let c = try lab.device("cccc", from: base)
        if cancelFirst {
            try pad(b, 1)
            try pad(c, 1)
        } else {
            try pad(a, 2)
        }
        let cancel = try op(a, transition("PO-1", .cancel))
        let fromB = try op(b, receipt("PO-1", "R-B", chairs: 3))
        let fromC = try op(c, receipt("PO-1", "R-C", chairs: 2))

        func verify(_ replica: Replica) throws {
            let order = try #require(try replica.orderDetail("PO-1"))
            #expect(order.status == "Completed")
            #expect(Set(order.receipts.map(\.id)) == ["R-B", "R-C"])
            #expect(order.lines.map(\.produced) == [5])
            #expect(try onHand(replica, "CHAIR") == 5)
            let conflicts = try replica.conflictRows(all: true)
            #expect(!conflicts.isEmpty)
            #expect(conflicts.allSatisfy { $0.kind == "cancel-vs-receipt" || $0.kind == "receipt-after-close" })
            for receiptOp in [fromB, fromC] {
                #expect(
                    conflicts.contains {
                        operations($0).isSuperset(of: [cancel.id.description, receiptOp.id.description])
                    },
                    "no conflict names the cancel and \(receiptOp.id)")
            }
        }
        let result = try converge(lab, base: base, devices: [a, b, c])
        for replica in result.replicas { try verify(replica) }
        try throughHQ(lab, base: base, devices: [a, b, c]) { replica, _ in try verify(replica) }
    }

    // MARK: Rule 3

    /// Two devices each receive 8 of an order for 10 (tolerance 0) concurrently: both kept, an over-receipt conflict.
    @Test func concurrentReceiptsPastTheOrderedQuantityAreKept() throws {
        let lab = ConflictLab()
        let base = try lab.base()
        let a = try lab.device("aaaa", from: base)
        let b = try lab.device("bbbb", from: base)
        let fromA = try op(a, receipt("PO-1", "R-A", chairs: 8))
        let fromB = try op(b, receipt("PO-1", "R-B", chairs: 8))

        func verify(_ replica: Replica) throws {
            let order = try #require(try replica.orderDetail("PO-1"))
            #expect(order.lines.map(\.produced) == [16])
            #expect(Set(order.receipts.map(\.id)) == ["R-A", "R-B"])
            #expect(order.receipts.allSatisfy { !$0.voided })
            #expect(order.status == "Received")
            #expect(try onHand(replica, "CHAIR") == 16)
            // Consumption follows the quantity actually received: 16 × 2.5 STEEL.
            #expect(try onHand(replica, "STEEL") == 60)
            let conflicts = try replica.conflictRows(all: true)
            #expect(conflicts.map(\.kind) == ["over-receipt"])
            let conflict = try #require(conflicts.first)
            #expect(conflict.subject == "PO-1")
            #expect(operations(conflict) == [fromA.id.description, fromB.id.description])
        }
        let result = try converge(lab, base: base, devices: [a, b])
        for replica in result.replicas { try verify(replica) }
        try throughHQ(lab, base: base, devices: [a, b]) { replica, _ in try verify(replica) }
    }

    /// Tolerance decides: 8 + 8 of 10 is past 50% tolerance (15) but within 60% (16).
    @Test(arguments: [(Amount(50), true), (Amount(60), false)])
    func overReceiptRespectsTheTolerance(tolerance: Amount, conflicting: Bool) throws {
        let lab = ConflictLab()
        let base = try lab.base(order: defaultOrder(tolerance: tolerance))
        let a = try lab.device("aaaa", from: base)
        let b = try lab.device("bbbb", from: base)
        try op(a, receipt("PO-1", "R-A", chairs: 8))
        try op(b, receipt("PO-1", "R-B", chairs: 8))
        let result = try converge(lab, base: base, devices: [a, b])
        #expect(result.conflicts.map(\.kind) == (conflicting ? ["over-receipt"] : []))
        for replica in result.replicas {
            #expect(try replica.orderDetail("PO-1")?.lines.map(\.produced) == [16])
        }
    }

    /// Three concurrent receipts of 6 on an order for 10: all kept (18); the receipts past the quantity are flagged,
    /// each naming the concurrent receipts it piled onto.
    @Test func threeConcurrentReceipts() throws {
        let lab = ConflictLab()
        let base = try lab.base()
        let devices = try ["aaaa", "bbbb", "cccc"].map { try lab.device($0, from: base) }
        let ops = try devices.enumerated().map { index, device in
            try op(device, receipt("PO-1", "R-\(index)", chairs: 6))
        }
        func verify(_ replica: Replica) throws {
            #expect(try replica.orderDetail("PO-1")?.lines.map(\.produced) == [18])
            let flagged = try replica.conflictRows(all: true).filter { $0.kind == "over-receipt" }
            #expect(flagged.count == 2)
            #expect(flagged.allSatisfy { $0.subject == "PO-1" })
            #expect(
                flagged.reduce(into: Set<String>()) { $0.formUnion(operations($1)) } == Set(ops.map(\.id.description)))
        }
        let result = try converge(lab, base: base, devices: devices)
        for replica in result.replicas { try verify(replica) }
        try throughHQ(lab, base: base, devices: devices) { replica, _ in try verify(replica) }
    }

    // MARK: Rule 4

    /// A closes PO-1 short while B receives 4: the receipt is kept, the order ends Completed, and a
    /// receipt-after-close conflict names both operations, whichever sorts first.
    @Test(arguments: [true, false])
    func receiptConcurrentWithCloseIsKept(closeFirst: Bool) throws {
        let lab = ConflictLab()
        let base = try lab.base()
        let a = try lab.device("aaaa", from: base)
        let b = try lab.device("bbbb", from: base)
        try pad(closeFirst ? b : a, 2)
        let close = try op(a, transition("PO-1", .complete))
        let received = try op(b, receipt("PO-1", "R-B", chairs: 4))
        #expect((close.key < received.key) == closeFirst)

        func verify(_ replica: Replica, _ label: String) throws {
            let order = try #require(try replica.orderDetail("PO-1"))
            #expect(order.status == "Completed")
            #expect(order.receipts.map(\.id) == ["R-B"])
            #expect(order.lines.map(\.produced) == [4])
            #expect(try entries(replica, ref: "PO-1", operation: received).count == 4)
            #expect(try onHand(replica, "CHAIR") == 4)
            for position in try replica.positions(location: "PLANT") {
                #expect(position.onOrder.isZero && position.demand.isZero && position.allocated.isZero, "\(position)")
            }
            // Rule 4 holds for a receipt concurrent with a close, not only for one that sorts after it.
            let conflicts = try replica.conflictRows(all: true)
            #expect(conflicts.map(\.kind) == ["receipt-after-close"], "\(label)")
            if let conflict = conflicts.first {
                #expect(conflict.subject == "PO-1")
                #expect(operations(conflict) == [close.id.description, received.id.description])
            }
        }
        let result = try converge(lab, base: base, devices: [a, b])
        for replica in result.replicas { try verify(replica, "close first: \(closeFirst)") }
        try throughHQ(lab, base: base, devices: [a, b]) { replica, arrival in try verify(replica, "arrival \(arrival)")
        }
    }

    /// A voids receipt R-1 while B closes the order: the void applies, the order ends Completed with nothing
    /// outstanding, and a receipt-after-close conflict names both operations, whichever sorts first.
    @Test(arguments: [true, false])
    func voidConcurrentWithClose(closeFirst: Bool) throws {
        let lab = ConflictLab()
        let base = try lab.base()
        try base.record(receipt("PO-1", "R-1", chairs: 4))
        let a = try lab.device("aaaa", from: base)
        let b = try lab.device("bbbb", from: base)
        try pad(closeFirst ? a : b, 2)
        let void = try op(a, .voidReceipt(VoidReceipt(receipt: "R-1")))
        let close = try op(b, transition("PO-1", .complete))
        #expect((close.key < void.key) == closeFirst)

        func verify(_ replica: Replica, _ label: String) throws {
            let order = try #require(try replica.orderDetail("PO-1"))
            #expect(order.status == "Completed")
            #expect(order.receipts.map(\.voided) == [true])
            #expect(order.lines.map(\.produced) == [0])
            #expect(order.inputs.allSatisfy { $0.consumed.isZero })
            #expect(try onHand(replica, "CHAIR") == 0)
            #expect(try onHand(replica, "STEEL") == 100)
            let reversals = try entries(replica, ref: "PO-1", operation: void)
            #expect(
                reversals.map(\.event).sorted() == [
                    "REVERSE_CONSUME", "REVERSE_CONSUME", "REVERSE_CONSUME", "REVERSE_PRODUCE",
                ])
            for position in try replica.positions(location: "PLANT") {
                #expect(position.onOrder.isZero && position.demand.isZero && position.allocated.isZero, "\(position)")
            }
            let conflicts = try replica.conflictRows(all: true)
            #expect(conflicts.map(\.kind) == ["receipt-after-close"], "\(label)")
            if let conflict = conflicts.first {
                #expect(operations(conflict) == [close.id.description, void.id.description])
            }
        }
        let result = try converge(lab, base: base, devices: [a, b])
        for replica in result.replicas { try verify(replica, "close first: \(closeFirst)") }
        try throughHQ(lab, base: base, devices: [a, b]) { replica, arrival in try verify(replica, "arrival \(arrival)")
        }
    }

    // MARK: Rule 5

    /// Concurrent `order.set-cost` with different values: the later in canonical order wins everywhere and a
    /// concurrent-edit conflict lists both operations and both values. Through HQ, the later to arrive wins.
    @Test(arguments: [true, false])
    func concurrentSetCost(aLater: Bool) throws {
        let lab = ConflictLab()
        let base = try lab.base(order: defaultOrder(unitCost: nil), actions: [])
        let a = try lab.device("aaaa", from: base)
        let b = try lab.device("bbbb", from: base)
        try pad(aLater ? a : b, 2)
        let fromA = try op(a, .setCost(SetCost(order: "PO-1", sku: "CHAIR", unitCost: amount("6.25"))))
        let fromB = try op(b, .setCost(SetCost(order: "PO-1", sku: "CHAIR", unitCost: 7)))
        #expect((fromB.key < fromA.key) == aLater)

        func verify(_ replica: Replica, aWins: Bool) throws {
            let winner = aWins ? amount("6.25") : Amount(7)
            #expect(try replica.orderDetail("PO-1")?.lines.map(\.unitCost) == [winner])
            #expect(try replica.shop.orders["PO-1"]?.lines.first?.unitCost == winner)
            let conflicts = try replica.conflictRows(all: true)
            #expect(conflicts.map(\.kind) == ["concurrent-edit"])
            let conflict = try #require(conflicts.first)
            #expect(conflict.subject == "PO-1")
            #expect(operations(conflict) == [fromA.id.description, fromB.id.description])
            #expect(conflict.explanation.contains("6.25") && conflict.explanation.contains(" 7 "))
            #expect(conflict.outcome.contains("= \(winner.description) "))
        }
        let result = try converge(lab, base: base, devices: [a, b])
        for replica in result.replicas { try verify(replica, aWins: aLater) }
        try throughHQ(lab, base: base, devices: [a, b]) { replica, arrival in
            try verify(replica, aWins: arrival.last == "aaaa")
        }
    }

    /// Concurrent `order.edit --notes`: same rule.
    @Test func concurrentNotesEdit() throws {
        let lab = ConflictLab()
        let base = try lab.base()
        let a = try lab.device("aaaa", from: base)
        let b = try lab.device("bbbb", from: base)
        let fromA = try op(a, .editOrder(EditOrder(order: "PO-1", notes: "rush: customer waiting")))
        let fromB = try op(b, .editOrder(EditOrder(order: "PO-1", notes: "hold for paint")))

        func verify(_ replica: Replica, aWins: Bool) throws {
            #expect(try replica.orderDetail("PO-1")?.notes == (aWins ? "rush: customer waiting" : "hold for paint"))
            let conflicts = try replica.conflictRows(all: true)
            #expect(conflicts.map(\.kind) == ["concurrent-edit"])
            let conflict = try #require(conflicts.first)
            #expect(conflict.subject == "PO-1")
            #expect(operations(conflict) == [fromA.id.description, fromB.id.description])
            #expect(
                conflict.explanation.contains("rush: customer waiting")
                    && conflict.explanation.contains("hold for paint"))
        }
        let result = try converge(lab, base: base, devices: [a, b])
        for replica in result.replicas { try verify(replica, aWins: fromB.key < fromA.key) }
        try throughHQ(lab, base: base, devices: [a, b]) { replica, arrival in
            try verify(replica, aWins: arrival.last == "aaaa")
        }
    }

    /// Concurrent `bom.set` of one parent: the later definition wins everywhere; a concurrent-edit conflict.
    @Test(arguments: [true, false])
    func concurrentBOMSet(aLater: Bool) throws {
        let lab = ConflictLab()
        let base = try lab.base(order: nil)
        let a = try lab.device("aaaa", from: base)
        let b = try lab.device("bbbb", from: base)
        try pad(aLater ? a : b, 1)
        let linesA = [BOMLine(sku: "BOLT", quantity: 4), BOMLine(sku: "STEEL", quantity: 3)]
        let linesB = [BOMLine(sku: "BOLT", quantity: 6), BOMLine(sku: "STEEL", quantity: amount("2.5"))]
        let fromA = try op(a, .setBOM(SetBOM(parent: "FRAME", lines: linesA)))
        let fromB = try op(b, .setBOM(SetBOM(parent: "FRAME", lines: linesB)))
        #expect((fromB.key < fromA.key) == aLater)

        func verify(_ replica: Replica, aWins: Bool) throws {
            #expect(try replica.shop.catalog.boms["FRAME"] == (aWins ? linesA : linesB))
            let conflicts = try replica.conflictRows(all: true)
            #expect(conflicts.map(\.kind) == ["concurrent-edit"])
            let conflict = try #require(conflicts.first)
            #expect(conflict.subject == "FRAME")
            #expect(operations(conflict) == [fromA.id.description, fromB.id.description])
        }
        let result = try converge(lab, base: base, devices: [a, b])
        for replica in result.replicas { try verify(replica, aWins: aLater) }
        try throughHQ(lab, base: base, devices: [a, b]) { replica, arrival in
            try verify(replica, aWins: arrival.last == "aaaa")
        }
    }

    /// Three devices set the cost concurrently: one winner (the last in canonical order), and the conflict of the
    /// last write lists all three operations and all three values (DESIGN §3 rule 5: "a conflict listing every
    /// value"), in every delivery order and through HQ in every arrival order.
    @Test func threeConcurrentSetCosts() throws {
        let lab = ConflictLab()
        let base = try lab.base(order: defaultOrder(unitCost: nil), actions: [])
        let devices = try ["aaaa", "bbbb", "cccc"].map { try lab.device($0, from: base) }
        let values: [Amount] = [6, 7, 8]
        let ops = try zip(devices, values).map { device, value in
            try op(device, .setCost(SetCost(order: "PO-1", sku: "CHAIR", unitCost: value)))
        }

        func verify(_ replica: Replica, winner: Int, _ label: String) throws {
            #expect(try replica.orderDetail("PO-1")?.lines.map(\.unitCost) == [values[winner]], "\(label)")
            let edits = try replica.conflictRows(all: true).filter { $0.kind == "concurrent-edit" }
            // The second write conflicts with the first; the third with both.
            #expect(edits.count == 2, "\(label): \(edits.map(\.explanation))")
            let last = try #require(edits.last)
            #expect(operations(last) == Set(ops.map(\.id.description)), "\(label)")
            #expect(last.outcome.contains("= \(values[winner].description) "), "\(label)")
            for value in values {
                #expect(last.explanation.contains(" \(value.description) by "), "\(label): \(last.explanation)")
            }
        }
        let last = ops.indices.max { ops[$0].key < ops[$1].key }!
        let result = try converge(lab, base: base, devices: devices)
        for replica in result.replicas { try verify(replica, winner: last, replica.id) }
        try throughHQ(lab, base: base, devices: devices) { replica, arrival in
            try verify(replica, winner: devices.firstIndex { $0.id == arrival.last }!, "\(replica.id) \(arrival)")
        }
    }

    /// Of three concurrent writers, the third saw the first: only the second still stands beside it.
    @Test func aWriteThatSawOneRivalListsOnlyTheOther() throws {
        let lab = ConflictLab()
        let base = try lab.base(order: defaultOrder(unitCost: nil), actions: [])
        let a = try lab.device("aaaa", from: base)
        let b = try lab.device("bbbb", from: base)
        let fromA = try op(a, .setCost(SetCost(order: "PO-1", sku: "CHAIR", unitCost: 6)))
        let fromB = try op(b, .setCost(SetCost(order: "PO-1", sku: "CHAIR", unitCost: 7)))
        let c = try lab.device("cccc", from: base, a)
        try pad(c, 3)
        let fromC = try op(c, .setCost(SetCost(order: "PO-1", sku: "CHAIR", unitCost: 8)))
        let result = try converge(lab, base: base, devices: [a, b, c])
        let edits = result.conflicts(.concurrentEdit)
        #expect(edits.count == 2, "\(edits.map(\.explanation))")
        let lastEdit = try #require(edits.last)
        #expect(operations(lastEdit) == [fromB.id.description, fromC.id.description])
        #expect(!lastEdit.explanation.contains(" 6 by "), "\(lastEdit.explanation)")
        #expect(operations(edits[0]) == [fromA.id.description, fromB.id.description])
        for replica in result.replicas {
            #expect(try replica.orderDetail("PO-1")?.lines.map(\.unitCost) == [8])
        }
    }

    /// One edit changes two fields that another device edited concurrently: one conflict names both fields and
    /// all their values (the conflict id is per operation and subject, so a second conflict would be lost).
    @Test func oneEditClashingOnTwoFieldsIsOneConflictNamingBoth() throws {
        let lab = ConflictLab()
        let base = try lab.base()
        let a = try lab.device("aaaa", from: base)
        let b = try lab.device("bbbb", from: base)
        let fromA = try op(a, .editOrder(EditOrder(order: "PO-1", due: "2026-03-01", notes: "rush")))
        let fromB = try op(b, .editOrder(EditOrder(order: "PO-1", due: "2026-04-01", notes: "hold")))
        let result = try converge(lab, base: base, devices: [a, b])
        let edits = result.conflicts(.concurrentEdit)
        #expect(edits.count == 1)
        let conflict = try #require(edits.first)
        #expect(operations(conflict) == [fromA.id.description, fromB.id.description])
        for text in ["2026-03-01", "2026-04-01", "rush", "hold", ":due", ":notes"] {
            #expect(conflict.explanation.contains(text), "\(text) missing from \(conflict.explanation)")
        }
        #expect(conflict.outcome.contains(":due = ") && conflict.outcome.contains(":notes = "))
    }

    /// A write that saw the previous one is not a conflict.
    @Test func sequentialEditsAreNotConflicts() throws {
        let lab = ConflictLab()
        let base = try lab.base(order: defaultOrder(unitCost: nil), actions: [])
        let a = try lab.device("aaaa", from: base)
        try op(a, .setCost(SetCost(order: "PO-1", sku: "CHAIR", unitCost: 6)))
        let b = try lab.device("bbbb", from: base, a)
        try op(b, .setCost(SetCost(order: "PO-1", sku: "CHAIR", unitCost: 9)))
        let result = try converge(lab, base: base, devices: [a, b])
        #expect(result.conflicts.isEmpty)
        for replica in result.replicas {
            #expect(try replica.orderDetail("PO-1")?.lines.map(\.unitCost) == [9])
        }
    }

    // MARK: Rule 6

    /// A receipt consuming more STEEL than on hand, and a stock adjust out beyond on hand: both kept, negative
    /// on hand, a negative-stock conflict per SKU@LOCATION; the recording device sees it at once.
    @Test func consumptionBeyondStockIsKeptAndFlagged() throws {
        let lab = ConflictLab()
        let base = try lab.base(steel: 10)
        let a = try lab.device("aaaa", from: base)
        let b = try lab.device("bbbb", from: base)
        // 8 CHAIR consume 20 STEEL with 10 on hand.
        let received = try op(a, receipt("PO-1", "R-A", chairs: 8))
        #expect(try onHand(a, "STEEL") == -10)
        let local = try a.conflictRows()
        #expect(local.map(\.kind) == ["negative-stock"])
        #expect(local.first?.subject == "STEEL@PLANT")
        #expect(local.first.map(operations) == [received.id.description])
        // 1000 BOLT out with 500 on hand.
        let adjust = try op(b, .adjustStock(AdjustStock(sku: "BOLT", location: "PLANT", quantity: -1000)))
        #expect(try onHand(b, "BOLT") == -500)
        #expect(try b.conflictRows().map(\.subject) == ["BOLT@PLANT"])

        func verify(_ replica: Replica) throws {
            #expect(try onHand(replica, "STEEL") == -10)
            // 500 − 8 × 6 consumed − 1000 adjusted.
            #expect(try onHand(replica, "BOLT") == -548)
            #expect(try replica.orderDetail("PO-1")?.lines.map(\.produced) == [8])
            let conflicts = try replica.conflictRows(all: true)
            #expect(conflicts.count == 2)
            #expect(conflicts.allSatisfy { $0.kind == "negative-stock" })
            #expect(Set(conflicts.map(\.subject)) == ["STEEL@PLANT", "BOLT@PLANT"])
            #expect(conflicts.first { $0.subject == "STEEL@PLANT" }.map(operations) == [received.id.description])
            #expect(conflicts.first { $0.subject == "BOLT@PLANT" }.map(operations) == [adjust.id.description])
        }
        let result = try converge(lab, base: base, devices: [a, b])
        for replica in result.replicas { try verify(replica) }
        try throughHQ(lab, base: base, devices: [a, b]) { replica, _ in try verify(replica) }
    }

    /// Each device takes 6 of 10 STEEL, fine locally; merged, the later one takes stock below zero and is flagged.
    @Test func concurrentConsumptionGoesNegativeOnMerge() throws {
        let lab = ConflictLab()
        let base = try lab.base(steel: 10, order: nil)
        let a = try lab.device("aaaa", from: base)
        let b = try lab.device("bbbb", from: base)
        let fromA = try op(a, .adjustStock(AdjustStock(sku: "STEEL", location: "PLANT", quantity: -6)))
        let fromB = try op(b, .transferStock(TransferStock(sku: "STEEL", quantity: 6, from: "PLANT", to: "WIP")))
        #expect(try a.conflictRows().isEmpty)
        #expect(try b.conflictRows().isEmpty)

        func verify(_ replica: Replica, later: ShopOperation) throws {
            #expect(try onHand(replica, "STEEL") == -2)
            #expect(try onHand(replica, "STEEL", "WIP") == 6)
            let conflicts = try replica.conflictRows(all: true)
            #expect(conflicts.map(\.kind) == ["negative-stock"])
            #expect(conflicts.first?.subject == "STEEL@PLANT")
            #expect(conflicts.first.map(operations) == [later.id.description])
        }
        let result = try converge(lab, base: base, devices: [a, b])
        for replica in result.replicas { try verify(replica, later: fromA.key < fromB.key ? fromB : fromA) }
        try throughHQ(lab, base: base, devices: [a, b]) { replica, arrival in
            try verify(replica, later: arrival.last == "aaaa" ? fromA : fromB)
        }
    }

    // MARK: Rule 7

    /// A and B each create PO-7 offline and work on it; C, who saw only B's, receives on "PO-7"; after a full
    /// sync A receives on plain "PO-7". Both orders are kept, the later create is renamed PO-7~<author>, every
    /// operation lands on the order its author meant, and the plain number means the un-renamed order.
    @Test(arguments: [true, false])
    func duplicateOrderNumbersKeepBothOrders(aFirst: Bool) throws {
        let lab = ConflictLab()
        let base = try lab.base(order: nil)
        let a = try lab.device("aaaa", from: base)
        let b = try lab.device("bbbb", from: base)
        try pad(aFirst ? b : a, 2)
        let createA = try op(a, .createOrder(defaultOrder(number: "PO-7", quantity: 10)))
        try op(a, transition("PO-7", .enter))
        try op(a, transition("PO-7", .start))
        try op(a, receipt("PO-7", "RA-1", chairs: 3))
        let createB = try op(b, .createOrder(defaultOrder(number: "PO-7", quantity: 20)))
        try op(b, transition("PO-7", .enter))
        try op(b, transition("PO-7", .start))
        try op(b, receipt("PO-7", "RB-1", chairs: 5))
        #expect((createA.key < createB.key) == aFirst)
        // C saw B's order only, and means it.
        let c = try lab.device("cccc", from: base, b)
        try op(c, receipt("PO-7", "RC-1", chairs: 2))
        // A sees everything, then names the plain number: the un-renamed order.
        try pull(a, from: b)
        try pull(a, from: c)
        let orderA: OrderNumber = aFirst ? "PO-7" : "PO-7~aaaa"
        let orderB: OrderNumber = aFirst ? "PO-7~bbbb" : "PO-7"
        #expect(try a.shop.orders.keys.sorted() == ["PO-7", aFirst ? "PO-7~bbbb" : "PO-7~aaaa"])
        try op(a, receipt("PO-7", "RA-2", chairs: 1))
        // B can still reach its own order by the name it now has.
        try pull(b, from: a)
        try op(b, .editOrder(EditOrder(order: orderB, notes: "B's order")))

        let result = try converge(lab, base: base, devices: [a, b, c])
        for replica in result.replicas {
            #expect(try replica.orders().map(\.number) == ["PO-7", aFirst ? "PO-7~bbbb" : "PO-7~aaaa"])
            let mineA = try #require(try replica.orderDetail(orderA))
            let mineB = try #require(try replica.orderDetail(orderB))
            #expect(mineA.lines.map(\.ordered) == [10])
            #expect(mineB.lines.map(\.ordered) == [20])
            #expect(mineA.status == "Production" && mineB.status == "Production")
            #expect(mineA.lines.map(\.produced) == [aFirst ? 4 : 3], "A's order on \(replica.id)")
            #expect(mineB.lines.map(\.produced) == [aFirst ? 7 : 8], "B's order on \(replica.id)")
            #expect(Set(mineA.receipts.map(\.id)) == (aFirst ? ["RA-1", "RA-2"] : ["RA-1"]))
            #expect(Set(mineB.receipts.map(\.id)) == (aFirst ? ["RB-1", "RC-1"] : ["RB-1", "RC-1", "RA-2"]))
            #expect(mineB.notes == "B's order")
            let renamed = aFirst ? mineB : mineA
            #expect(renamed.requestedNumber == "PO-7")
            // Commitments per order: both were entered and started on their own.
            #expect(try replica.ledger(ref: orderA).filter { $0.event == "ORDER" }.map(\.quantity) == [10])
            #expect(try replica.ledger(ref: orderB).filter { $0.event == "ORDER" }.map(\.quantity) == [20])
        }
        #expect(result.conflicts.map(\.kind) == ["duplicate-number"])
        let conflict = try #require(result.conflicts.first)
        #expect(conflict.subject == "PO-7")
        #expect(operations(conflict) == [createA.id.description, createB.id.description])
        #expect(conflict.outcome.contains(aFirst ? "PO-7~bbbb" : "PO-7~aaaa"))
    }

    /// Three devices create PO-7 offline (A's sorts first, then C's, then B's); D saw only B's and C's and receives
    /// on "PO-7", meaning C's (the one it had as plain PO-7). Every replica, including one reopened from its file
    /// before D's receipt arrives, puts the receipt on C's order, now PO-7~cccc.
    @Test func duplicateNumberResolutionSurvivesAReopen() throws {
        let lab = ConflictLab()
        let base = try lab.base(order: nil)
        let a = try lab.device("aaaa", from: base)
        let b = try lab.device("bbbb", from: base)
        let c = try lab.device("cccc", from: base)
        try pad(c, 1)
        try pad(b, 2)
        var creates: [String: ShopOperation] = [:]
        for (device, quantity) in [(a, Amount(10)), (b, Amount(20)), (c, Amount(30))] {
            creates[device.id] = try op(device, .createOrder(defaultOrder(number: "PO-7", quantity: quantity)))
            try op(device, transition("PO-7", .enter))
            try op(device, transition("PO-7", .start))
        }
        #expect(creates["aaaa"]!.key < creates["cccc"]!.key && creates["cccc"]!.key < creates["bbbb"]!.key)
        let d = try lab.device("dddd", from: base, b, c)
        #expect(try d.shop.orders["PO-7"]?.lines.first?.quantity == 30)
        let received = try op(d, receipt("PO-7", "RD-1", chairs: 2))
        #expect(try d.shop.orders["PO-7"]?.lines.first?.produced == 2)

        // A live observer and one reopened from its file just before D's receipt arrives (as every CLI command
        // and every HQ restart does).
        let live = try lab.device("live", from: base, a, b, c)
        let restarted = try lab.device("restarted", from: base, a, b, c)
        #expect(try restarted.digest() == live.digest())
        let reopened = try Replica.open(at: restarted.path, configuration: lab.config)
        #expect(try reopened.digest() == live.digest())
        for observer in [live, reopened] {
            let report = try observer.integrate([received])
            #expect(report.outcomes == [.accepted])
            #expect(
                try observer.orderDetail("PO-7~cccc")?.lines.map(\.produced) == [2], "C's order on \(observer.path)")
            #expect(
                try observer.orderDetail("PO-7~bbbb")?.lines.map(\.produced) == [0], "B's order on \(observer.path)")
        }
        #expect(try reopened.digest() == live.digest())
        try reopened.rebuild()
        #expect(try reopened.digest() == live.digest())

        let result = try converge(lab, base: base, devices: [a, b, c, d])
        for replica in result.replicas {
            #expect(try replica.orderDetail("PO-7")?.lines.map(\.ordered) == [10])
            #expect(try replica.orderDetail("PO-7~cccc")?.lines.map(\.ordered) == [30])
            #expect(try replica.orderDetail("PO-7~cccc")?.lines.map(\.produced) == [2])
            #expect(try replica.orderDetail("PO-7~bbbb")?.lines.map(\.ordered) == [20])
        }
        #expect(result.conflicts(.duplicateNumber).count == 2)
    }

    /// The receipt-id version of the above: A, C and B (in canonical order) each record receipt R-1 on PO-1; D saw
    /// only B's and C's and voids "R-1", meaning C's (its plain R-1). A replica reopened just before D's void arrives
    /// must void the same receipt as a live one: C's, now R-1~cccc.
    @Test func duplicateReceiptResolutionSurvivesAReopen() throws {
        let lab = ConflictLab()
        let base = try lab.base()
        let a = try lab.device("aaaa", from: base)
        let b = try lab.device("bbbb", from: base)
        let c = try lab.device("cccc", from: base)
        try pad(c, 1)
        try pad(b, 2)
        let fromA = try op(a, receipt("PO-1", "R-1", chairs: 1))
        let fromB = try op(b, receipt("PO-1", "R-1", chairs: 2))
        let fromC = try op(c, receipt("PO-1", "R-1", chairs: 3))
        #expect(fromA.key < fromC.key && fromC.key < fromB.key)
        let d = try lab.device("dddd", from: base, b, c)
        let void = try op(d, .voidReceipt(VoidReceipt(receipt: "R-1")))
        // On D, C's receipt is the plain R-1: 2 (B's) are left.
        #expect(try d.shop.orders["PO-1"]?.lines.first?.produced == 2)

        let live = try lab.device("live", from: base, a, b, c)
        let restarted = try lab.device("restarted", from: base, a, b, c)
        let reopened = try Replica.open(at: restarted.path, configuration: lab.config)
        #expect(try reopened.digest() == live.digest())
        for (label, observer) in [("live", live), ("reopened", reopened)] {
            #expect(try observer.integrate([void]).outcomes == [.accepted])
            let receipts = try #require(try observer.orderDetail("PO-1")).receipts
            #expect(receipts.first { $0.id == "R-1~cccc" }?.voided == true, "C's receipt on the \(label) replica")
            #expect(receipts.filter(\.voided).count == 1, "\(label)")
            #expect(try observer.orderDetail("PO-1")?.lines.map(\.produced) == [3], "\(label)")
        }
        #expect(try reopened.digest() == live.digest())

        let result = try converge(lab, base: base, devices: [a, b, c, d])
        for replica in result.replicas {
            #expect(try replica.orderDetail("PO-1")?.receipts.first { $0.id == "R-1~cccc" }?.voided == true)
        }
    }

    /// Two devices void the same receipt concurrently: it is reversed exactly once, the same way everywhere.
    @Test func concurrentVoidsReverseOnce() throws {
        let lab = ConflictLab()
        let base = try lab.base()
        try base.record(receipt("PO-1", "R-1", chairs: 4))
        let a = try lab.device("aaaa", from: base)
        let b = try lab.device("bbbb", from: base)
        try op(a, .voidReceipt(VoidReceipt(receipt: "R-1")))
        try op(b, .voidReceipt(VoidReceipt(receipt: "R-1")))
        func verify(_ replica: Replica) throws {
            let ledger = try replica.ledger(ref: "PO-1")
            #expect(ledger.filter { $0.event == "REVERSE_PRODUCE" }.count == 1)
            #expect(try replica.orderDetail("PO-1")?.lines.map(\.produced) == [0])
            #expect(try replica.orderDetail("PO-1")?.status == "Production")
            #expect(try onHand(replica, "CHAIR") == 0)
            // The second void changes nothing, and says so.
            #expect(try replica.conflictRows(all: true).map(\.kind) == ["refused-operation"])
        }
        let result = try converge(lab, base: base, devices: [a, b])
        for replica in result.replicas { try verify(replica) }
        try throughHQ(lab, base: base, devices: [a, b]) { replica, _ in try verify(replica) }
    }

    /// A cancels PO-1 while it is Entered; B, concurrently, starts it and receives 3. Whatever the canonical order,
    /// the receipt is kept and the order ends closed with nothing outstanding.
    @Test(arguments: [true, false])
    func cancelInEnteredConcurrentWithStartAndReceipt(cancelFirst: Bool) throws {
        let lab = ConflictLab()
        let base = try lab.base(actions: [.enter])
        let a = try lab.device("aaaa", from: base)
        let b = try lab.device("bbbb", from: base)
        try pad(cancelFirst ? b : a, 3)
        let cancel = try op(a, transition("PO-1", .cancel))
        try op(b, transition("PO-1", .start))
        let received = try op(b, receipt("PO-1", "R-B", chairs: 3))
        func verify(_ replica: Replica) throws {
            let order = try #require(try replica.orderDetail("PO-1"))
            #expect(order.status == "Completed")
            #expect(order.lines.map(\.produced) == [3])
            #expect(try onHand(replica, "CHAIR") == 3)
            for position in try replica.positions(location: "PLANT") {
                #expect(position.onOrder.isZero && position.demand.isZero && position.allocated.isZero, "\(position)")
            }
            #expect(
                try replica.conflictRows(all: true).contains {
                    $0.kind == "cancel-vs-receipt"
                        && operations($0).isSuperset(of: [cancel.id.description, received.id.description])
                })
        }
        let result = try converge(lab, base: base, devices: [a, b])
        for replica in result.replicas { try verify(replica) }
        try throughHQ(lab, base: base, devices: [a, b]) { replica, _ in try verify(replica) }
    }

    /// Through HQ: A and B create PO-7 offline and work on it; whoever pushes first keeps PO-7, the other's becomes
    /// PO-7~<id> on HQ and, once it pulls, on the device too. Afterwards each device reaches its own order by the name
    /// it now sees, and the plain number means the first one, on every replica.
    @Test(arguments: [true, false])
    func duplicateOrderNumbersThroughHQ(aPushesFirst: Bool) throws {
        let lab = ConflictLab()
        let base = try lab.base(order: nil)
        var config = lab.config
        config.sequencer = true
        let hq = try Replica.create(at: lab.dir.path("hq.sqlite"), name: "hq", id: "hq", configuration: config)
        func push(_ device: Replica) throws {
            let ops = try device.operations(authoredBy: device.id, after: hq.versionVector[device.id], limit: 100_000)
            let report = try hq.integrate(ops, author: device.id, allOrNothing: true)
            #expect(report.stored && report.outcomes.allSatisfy { $0 == .accepted }, "push of \(device.id)")
        }
        func pull(_ device: Replica) throws {
            while true {
                let page = try hq.page(after: device.sequencedThrough, holding: device.versionVector, limit: 4)
                if page.operations.isEmpty && page.sequenced.isEmpty { return }
                let assignments = Dictionary(page.sequenced.map { ($0.id, $0.seq) }, uniquingKeysWith: { $1 })
                #expect(
                    try device.integrate(page.operations, assignments: assignments).outcomes.allSatisfy {
                        $0 == .accepted
                    })
            }
        }
        try push(base)
        let a = try lab.replica("aaaa")
        let b = try lab.replica("bbbb")
        try pull(a)
        try pull(b)
        for (device, quantity, chairs) in [(a, Amount(10), Amount(3)), (b, Amount(20), Amount(5))] {
            try op(device, .createOrder(defaultOrder(number: "PO-7", quantity: quantity)))
            try op(device, transition("PO-7", .enter))
            try op(device, transition("PO-7", .start))
            try op(device, receipt("PO-7", "R-\(device.id)", chairs: chairs))
        }
        let (first, second) = aPushesFirst ? (a, b) : (b, a)
        try push(first)
        try push(second)
        try pull(first)
        try pull(second)
        let renamed = OrderNumber("PO-7~\(second.id)")
        for replica in [hq, a, b] {
            #expect(try replica.orders().map(\.number) == ["PO-7", renamed])
            #expect(try replica.orderDetail("PO-7")?.receipts.map(\.id) == ["R-\(first.id)"])
            #expect(try replica.orderDetail(renamed)?.receipts.map(\.id) == ["R-\(second.id)"])
        }
        #expect(try a.digest() == hq.digest())
        #expect(try b.digest() == hq.digest())

        // Each reaches its own order by the name it sees; the plain number means the first.
        try op(second, receipt(renamed, "R-\(second.id)-2", chairs: 2))
        try op(second, receipt("PO-7", "R-\(second.id)-3", chairs: 1))
        try op(first, receipt("PO-7", "R-\(first.id)-2", chairs: 1))
        try push(second)
        try push(first)
        try pull(first)
        try pull(second)
        let newcomer = try lab.replica("newcomer")
        try pull(newcomer)
        let firstInitial: Amount = aPushesFirst ? 3 : 5
        let secondInitial: Amount = aPushesFirst ? 5 : 3
        for replica in [hq, a, b, newcomer] {
            #expect(try replica.digest() == hq.digest(), "\(replica.id)")
            #expect(try replica.orderDetail("PO-7")?.lines.map(\.produced) == [firstInitial + 2], "\(replica.id)")
            #expect(try replica.orderDetail(renamed)?.lines.map(\.produced) == [secondInitial + 2], "\(replica.id)")
            #expect(try replica.orderDetail(renamed)?.requestedNumber == "PO-7")
            let conflicts = try replica.conflictRows(all: true)
            #expect(conflicts.map(\.kind) == ["duplicate-number"])
            #expect(conflicts.first?.subject == "PO-7")
            #expect(conflicts.first.map(operations) == ["\(first.id):1", "\(second.id):1"])
        }
    }

    /// Two devices choose the same receipt id offline on one order: both receipts are kept, one is renamed, and
    /// the duplicate-number conflict names both operations (to whom it happened).
    @Test func duplicateReceiptIDsKeepBothReceipts() throws {
        let lab = ConflictLab()
        let base = try lab.base()
        let a = try lab.device("aaaa", from: base)
        let b = try lab.device("bbbb", from: base)
        let fromA = try op(a, receipt("PO-1", "R-1", chairs: 2))
        let fromB = try op(b, receipt("PO-1", "R-1", chairs: 3))
        // Each device voids "its" R-1 later: the void must reach the receipt it saw.
        try op(b, .voidReceipt(VoidReceipt(receipt: "R-1")))

        let result = try converge(lab, base: base, devices: [a, b])
        for replica in result.replicas {
            let order = try #require(try replica.orderDetail("PO-1"))
            #expect(Set(order.receipts.map(\.id)) == ["R-1", "R-1~bbbb"])
            #expect(order.receipts.first { $0.id == "R-1" }?.voided == false)
            #expect(order.receipts.first { $0.id == "R-1~bbbb" }?.voided == true)
            #expect(order.lines.map(\.produced) == [2])
        }
        let duplicates = result.conflicts(.duplicateNumber)
        #expect(duplicates.count == 1)
        #expect(duplicates.first?.subject == "R-1")
        #expect(duplicates.first.map(operations) == [fromA.id.description, fromB.id.description])
    }

    // MARK: Rule 8

    /// The same operation id with different content is refused at the boundary and never overwrites.
    @Test func sameIDDifferentContentIsRefused() throws {
        let lab = ConflictLab()
        let base = try lab.base()
        let observer = try lab.device("obs", from: base)
        let digest = try observer.digest()
        let stored = try observer.allOperations()
        let original = try #require(stored.first { $0.kind == "stock.adjust" })
        var forged = original
        forged.payload = original.payload.replacingOccurrences(of: "\"quantity\":\"100\"", with: "\"quantity\":\"999\"")
        var relamported = original
        relamported.lamport += 1
        #expect(forged.payload != original.payload)
        for candidate in [forged, relamported] {
            let report = try observer.integrate([candidate])
            guard case .refused(let code, let message) = report.outcomes.first else {
                Issue.record("expected a refusal, got \(report.outcomes)")
                continue
            }
            #expect(code == .contentMismatch)
            #expect(message.contains(original.id.description))
        }
        #expect(try observer.allOperations() == stored)
        #expect(try observer.digest() == digest)
        #expect(try observer.conflictRows(all: true).isEmpty)
    }

    // MARK: Acknowledgement

    /// An acknowledgement syncs; open lists drop the conflict everywhere; unknown or repeated acks are refused locally.
    @Test func acknowledgementSyncsAndClosesTheConflictEverywhere() throws {
        let lab = ConflictLab()
        let base = try lab.base()
        let a = try lab.device("aaaa", from: base)
        let b = try lab.device("bbbb", from: base)
        try op(a, receipt("PO-1", "R-A", chairs: 8))
        try op(b, receipt("PO-1", "R-B", chairs: 8))
        try pull(a, from: b)
        try pull(b, from: a)
        let c = try lab.device("cccc", from: a)
        let open = try a.conflictRows()
        #expect(open.map(\.kind) == ["over-receipt"])
        let id = try #require(open.first?.id)
        #expect(try b.conflictRows().map(\.id) == [id])

        try expectRefused(a, .acknowledgeConflict(AcknowledgeConflict(conflict: "c-0000000000000000"))) {
            $0 == .unknownConflict("c-0000000000000000")
        }
        let ack = try op(a, .acknowledgeConflict(AcknowledgeConflict(conflict: id, note: "counted: 16 on the shelf")))
        try expectRefused(a, .acknowledgeConflict(AcknowledgeConflict(conflict: id))) { $0 == .alreadyAcknowledged(id) }
        #expect(try a.conflictRows().isEmpty)

        let result = try converge(lab, base: base, devices: [a, b, c])
        for replica in result.replicas {
            #expect(try replica.conflictRows().isEmpty)
            #expect(try replica.orderDetail("PO-1")?.openConflicts == [])
            let all = try replica.conflictRows(all: true)
            #expect(all.map(\.id) == [id])
            #expect(all.first?.acknowledged?.operation == ack.id.description)
            #expect(all.first?.acknowledged?.note == "counted: 16 on the shelf")
        }
        try expectRefused(b, .acknowledgeConflict(AcknowledgeConflict(conflict: id))) { $0 == .alreadyAcknowledged(id) }
    }

    /// Two devices acknowledge the same conflict offline: every replica keeps the first in canonical order.
    @Test(arguments: [true, false])
    func concurrentAcknowledgementsConverge(aFirst: Bool) throws {
        let lab = ConflictLab()
        let base = try lab.base()
        let a = try lab.device("aaaa", from: base)
        let b = try lab.device("bbbb", from: base)
        try op(a, receipt("PO-1", "R-A", chairs: 8))
        try op(b, receipt("PO-1", "R-B", chairs: 8))
        try pull(a, from: b)
        try pull(b, from: a)
        let id = try #require(try a.conflictRows().first?.id)
        try pad(aFirst ? b : a, 2)
        let ackA = try op(a, .acknowledgeConflict(AcknowledgeConflict(conflict: id, note: "A: keep")))
        let ackB = try op(b, .acknowledgeConflict(AcknowledgeConflict(conflict: id, note: "B: keep")))
        #expect((ackA.key < ackB.key) == aFirst)
        let first = aFirst ? ackA : ackB

        let result = try converge(lab, base: base, devices: [a, b])
        for replica in result.replicas {
            #expect(try replica.conflictRows().isEmpty)
            let acknowledged = try replica.conflictRows(all: true).first?.acknowledged
            #expect(acknowledged?.operation == first.id.description)
            #expect(acknowledged?.note == (aFirst ? "A: keep" : "B: keep"))
        }
    }

    // MARK: Local validation

    /// What the recording device can see is still refused, with the domain error, and nothing is recorded.
    @Test func localValidationRefusesWhatTheDeviceCanSee() throws {
        let lab = ConflictLab()
        let base = try lab.base()
        let a = try lab.device("aaaa", from: base)
        let b = try lab.device("bbbb", from: base)

        // Over-receipt beyond tolerance, at once and on top of an earlier receipt.
        try expectRefused(a, receipt("PO-1", "R-X", chairs: 11)) {
            if case .overReceipt(
                order: "PO-1", sku: "CHAIR", ordered: 10, received: 0, receiving: 11, tolerancePercent: 0) = $0
            {
                return true
            }
            return false
        }
        try op(a, receipt("PO-1", "R-A", chairs: 8))
        try expectRefused(a, receipt("PO-1", "R-Y", chairs: 3)) {
            if case .overReceipt(order: "PO-1", sku: _, ordered: _, received: 8, receiving: 3, tolerancePercent: _) = $0
            {
                return true
            }
            return false
        }

        // Cancel with visible receipts: its own, and one that arrived by sync.
        try expectRefused(a, transition("PO-1", .cancel)) {
            $0 == .cancelWithReceipts(order: "PO-1", receipts: ["R-A"])
        }
        try pull(b, from: a)
        try expectRefused(b, transition("PO-1", .cancel)) {
            $0 == .cancelWithReceipts(order: "PO-1", receipts: ["R-A"])
        }

        // A duplicate order number the device can see, its own or synced.
        try expectRefused(a, .createOrder(defaultOrder(number: "PO-1"))) { $0 == .duplicateOrder("PO-1") }
        try op(b, .createOrder(defaultOrder(number: "PO-2")))
        try pull(a, from: b)
        try expectRefused(a, .createOrder(defaultOrder(number: "PO-2"))) { $0 == .duplicateOrder("PO-2") }

        // A duplicate receipt id the device can see.
        try expectRefused(b, receipt("PO-1", "R-A", chairs: 1)) { $0 == .duplicateReceipt("R-A") }

        // A receipt on an order closed in view of the device.
        try op(a, transition("PO-1", .complete))
        try pull(b, from: a)
        try expectRefused(b, receipt("PO-1", "R-Z", chairs: 1)) {
            if case .forbiddenTransition(order: "PO-1", status: .completed, event: .receive, allowed: _) = $0 {
                return true
            }
            return false
        }
        #expect(try a.conflictRows(all: true).isEmpty)
        #expect(try b.conflictRows(all: true).isEmpty)
    }

    // MARK: Make Transfer (schema 2)

    /// The base with a store: 60 kg of STEEL at 3 in STORE, to transfer into PO-1's WIP (its location, PLANT).
    private func baseWithStore(_ lab: ConflictLab) throws -> Replica {
        let base = try lab.base()
        try base.record(.addLocation(Location(code: "STORE")))
        try base.record(.adjustStock(AdjustStock(sku: "STEEL", location: "STORE", quantity: 60, unitCost: 3)))
        return base
    }

    private func transfer(_ quantity: Amount) -> Command {
        .transferToOrder(
            OrderTransfer(order: "PO-1", from: "STORE", lines: [BOMLine(sku: "STEEL", quantity: quantity)]))
    }

    /// A transfers 25 kg of steel for PO-1 while B receives 4 chairs offline: both stand, in either canonical
    /// order and every arrival order at HQ, with the same outcome and no conflict.
    @Test(arguments: [true, false])
    func transferConcurrentWithReceiptBothStand(transferFirst: Bool) throws {
        let lab = ConflictLab()
        let base = try baseWithStore(lab)
        let a = try lab.device("aaaa", from: base)
        let b = try lab.device("bbbb", from: base)
        try pad(transferFirst ? b : a, 2)
        let moved = try op(a, transfer(25))
        let received = try op(b, receipt("PO-1", "R-B", chairs: 4))
        #expect((moved.key < received.key) == transferFirst)
        #expect(moved.schema == 2)
        #expect(received.schema == 1)

        func verify(_ replica: Replica, _ label: String) throws {
            let order = try #require(try replica.orderDetail("PO-1"))
            #expect(order.status == "Production", "\(label)")
            #expect(order.receipts.map(\.id) == ["R-B"])
            #expect(order.inputs.first { $0.sku == "STEEL" }?.transferred == 25, "\(label)")
            #expect(try entries(replica, ref: "PO-1", operation: moved).map(\.event) == ["TRANSFER", "TRANSFER"])
            #expect(try onHand(replica, "STEEL", "STORE") == 35)
            // 100 at PLANT + 25 moved in − 10 consumed by 4 of 10 chairs.
            #expect(try onHand(replica, "STEEL") == 115)
            #expect(try replica.conflictRows(all: true).isEmpty, "\(label)")
        }
        let result = try converge(lab, base: base, devices: [a, b])
        for replica in result.replicas { try verify(replica, "transfer first: \(transferFirst)") }
        try throughHQ(lab, base: base, devices: [a, b]) { replica, arrival in try verify(replica, "arrival \(arrival)")
        }
    }

    /// A cancels PO-1 while B transfers steel for it: the cancel stands, the material stays in WIP (it moved), and
    /// a transfer-after-close conflict names both operations, whichever sorts first.
    @Test(arguments: [true, false])
    func transferConcurrentWithCancelIsKeptAndFlagged(cancelFirst: Bool) throws {
        let lab = ConflictLab()
        let base = try baseWithStore(lab)
        let a = try lab.device("aaaa", from: base)
        let b = try lab.device("bbbb", from: base)
        try pad(cancelFirst ? b : a, 2)
        let cancel = try op(a, transition("PO-1", .cancel))
        let moved = try op(b, transfer(25))
        #expect((cancel.key < moved.key) == cancelFirst)

        func verify(_ replica: Replica, _ label: String) throws {
            let order = try #require(try replica.orderDetail("PO-1"))
            #expect(order.status == "Cancelled", "\(label)")
            #expect(try onHand(replica, "STEEL") == 125, "\(label)")
            #expect(try onHand(replica, "STEEL", "STORE") == 35)
            for position in try replica.positions(location: "PLANT") {
                #expect(position.onOrder.isZero && position.demand.isZero && position.allocated.isZero, "\(position)")
            }
            let conflicts = try replica.conflictRows(all: true)
            #expect(conflicts.map(\.kind) == ["transfer-after-close"], "\(label)")
            if let conflict = conflicts.first {
                #expect(conflict.subject == "PO-1")
                #expect(operations(conflict) == [cancel.id.description, moved.id.description])
            }
        }
        let result = try converge(lab, base: base, devices: [a, b])
        for replica in result.replicas { try verify(replica, "cancel first: \(cancelFirst)") }
        try throughHQ(lab, base: base, devices: [a, b]) { replica, arrival in try verify(replica, "arrival \(arrival)")
        }
    }

    /// On the `transferred` basis a receipt consumes what was transferred, in proportion: a transfer and a receipt
    /// recorded concurrently give the outcome of their canonical order, the same on every replica and through HQ.
    @Test(arguments: [true, false])
    func transferredBasisFollowsTheCanonicalOrder(transferFirst: Bool) throws {
        let lab = ConflictLab()
        var order = defaultOrder(number: "PO-T")
        order.wip = "STORE"
        order.backflush = .transferred
        let base = try lab.base(order: nil)
        try base.record(.addLocation(Location(code: "STORE")))
        try base.record(.createOrder(order))
        try base.record(transition("PO-T", .enter))
        try base.record(transition("PO-T", .start))
        let a = try lab.device("aaaa", from: base)
        let b = try lab.device("bbbb", from: base)
        try pad(transferFirst ? b : a, 2)
        let moved = try op(
            a,
            .transferToOrder(
                OrderTransfer(
                    order: "PO-T", from: "PLANT",
                    lines: [BOMLine(sku: "STEEL", quantity: 25), BOMLine(sku: "BOLT", quantity: 60)])))
        let received = try op(b, receipt("PO-T", "R-T", chairs: 4))
        #expect((moved.key < received.key) == transferFirst)
        #expect(received.schema == 1)

        func verify(_ replica: Replica, _ label: String) throws {
            let consumed = try entries(replica, ref: "PO-T", operation: received).filter { $0.event == "CONSUME" }
            // Transferred first: 4 of 10 chairs take 10 kg and 24 bolts; otherwise nothing had been transferred.
            #expect(
                consumed.map { "\($0.sku) \($0.quantity)" }.sorted()
                    == (transferFirst ? ["BOLT -24", "STEEL -10"] : []), "\(label)")
            #expect(try onHand(replica, "STEEL", "STORE") == (transferFirst ? 15 : 25), "\(label)")
            #expect(try replica.conflictRows(all: true).isEmpty, "\(label)")
        }
        let result = try converge(lab, base: base, devices: [a, b])
        for replica in result.replicas { try verify(replica, "transfer first: \(transferFirst)") }
    }

    /// Two devices set the plant's default basis concurrently: the later in canonical order wins everywhere, and a
    /// concurrent-edit conflict on `plant` lists both.
    @Test(arguments: [true, false])
    func concurrentPlantDefaults(aLater: Bool) throws {
        let lab = ConflictLab()
        let base = try lab.base(order: nil)
        let a = try lab.device("aaaa", from: base)
        let b = try lab.device("bbbb", from: base)
        try pad(aLater ? a : b, 2)
        let setA = try op(a, .setPlantDefault(PlantDefault(backflush: .transferred)))
        let setB = try op(b, .setPlantDefault(PlantDefault(backflush: .bom)))
        #expect((setB.key < setA.key) == aLater)
        #expect(setA.schema == 2)

        func verify(_ replica: Replica, _ label: String) throws {
            #expect(try replica.plantBackflush() == (aLater ? .transferred : .bom), "\(label)")
            let conflicts = try replica.conflictRows(all: true)
            #expect(conflicts.map(\.kind) == ["concurrent-edit"], "\(label)")
            #expect(conflicts.first?.subject == "plant")
            if let conflict = conflicts.first {
                #expect(operations(conflict) == [setA.id.description, setB.id.description])
            }
        }
        let result = try converge(lab, base: base, devices: [a, b])
        for replica in result.replicas { try verify(replica, "a later: \(aLater)") }
    }
}
