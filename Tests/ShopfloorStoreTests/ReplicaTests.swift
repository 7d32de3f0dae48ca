import Foundation
import GRDB
import ShopfloorDomain
import ShopfloorReplication
import Testing

@testable import ShopfloorStore

/// A temp directory removed at the end of the test.
final class TempDirectory: Sendable {
    let url: URL
    init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("shopfloor-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    deinit { try? FileManager.default.removeItem(at: url) }
}

func amount(_ text: String) -> Amount { try! Amount(parsing: text) }

/// Catalog of the worked example.
func seedCatalog(_ replica: Replica) throws {
    try replica.record(.addLocation(Location(code: "PLANT")))
    try replica.record(.addLocation(Location(code: "WIP")))
    for (sku, unit): (SKU, String) in [("STEEL", "kg"), ("BOLT", "ea"), ("PAINT", "l")] {
        try replica.record(.addItem(Item(sku: sku, kind: .material, unit: unit)))
    }
    try replica.record(.addItem(Item(sku: "FRAME", kind: .component)))
    try replica.record(.addItem(Item(sku: "CHAIR", kind: .product)))
    try replica.record(
        .setBOM(
            SetBOM(
                parent: "FRAME",
                lines: [BOMLine(sku: "STEEL", quantity: amount("2.5")), BOMLine(sku: "BOLT", quantity: 4)])))
    try replica.record(
        .setBOM(
            SetBOM(
                parent: "CHAIR",
                lines: [
                    BOMLine(sku: "FRAME", quantity: 1), BOMLine(sku: "BOLT", quantity: 2),
                    BOMLine(sku: "PAINT", quantity: amount("0.2")),
                ])))
}

/// A seeded random session of commands; refusals are expected and ignored.
func randomSession(_ replica: Replica, seed: UInt64, steps: Int) throws {
    var rng = SeededGenerator(seed: seed)
    var orders: [OrderNumber] = []
    var receipts: [String] = []
    for _ in 0..<steps {
        let choice = rng.next() % 10
        let command: Command
        switch choice {
        case 0, 1:
            let sku = (["STEEL", "BOLT", "PAINT", "FRAME"] as [SKU])[Int(rng.next() % 4)]
            let quantity = Amount(Int(rng.next() % 50) + 1)
            command = .adjustStock(
                AdjustStock(sku: sku, location: "PLANT", quantity: quantity, unitCost: Amount(Int(rng.next() % 9) + 1)))
        case 2:
            command = .transferStock(
                TransferStock(sku: "STEEL", quantity: Amount(Int(rng.next() % 10) + 1), from: "PLANT", to: "WIP"))
        case 3:
            let number = try replica.nextOrderNumber(kind: .production)
            orders.append(number)
            command = .createOrder(
                CreateOrder(
                    number: number, kind: rng.next() % 2 == 0 ? .production : .work, location: "PLANT",
                    outputs: [OutputSpec(sku: "CHAIR", quantity: Amount(Int(rng.next() % 8) + 2), unitCost: 5)]))
        case 4, 5:
            guard let order = orders.randomElement(using: &rng) else { continue }
            let action = OrderTransition.Action.allCases[Int(rng.next() % 4)]
            command = .transition(OrderTransition(order: order, action: action))
        case 6, 7:
            guard let order = orders.randomElement(using: &rng) else { continue }
            let id = replica.nextReceiptID()
            receipts.append(id)
            command = .addReceipt(
                AddReceipt(
                    order: order, receipt: id, lines: [BOMLine(sku: "CHAIR", quantity: Amount(Int(rng.next() % 4) + 1))]
                ))
        case 8:
            guard let receipt = receipts.randomElement(using: &rng) else { continue }
            command = .voidReceipt(VoidReceipt(receipt: receipt))
        default:
            command = .adjustStock(
                AdjustStock(sku: "STEEL", location: "PLANT", quantity: Amount(-(Int(rng.next() % 20) + 1))))
        }
        do { try replica.record(command) } catch ReplicaError.refused { continue }
    }
}

struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct ReplicaTests {
    @Test func rebuildEqualsIncrementalAfterALongRandomSession() throws {
        let dir = TempDirectory()
        let replica = try Replica.create(
            at: dir.path("a.sqlite"), name: "a", configuration: ReplicaConfiguration(durable: false))
        try seedCatalog(replica)
        try randomSession(replica, seed: 42, steps: 600)
        let incremental = try replica.digest()
        let ledgerCount = try replica.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM ledger") }
        #expect((ledgerCount ?? 0) > 100)
        try replica.rebuild()
        #expect(try replica.digest() == incremental)
        // Reopening loads the same state from the projections.
        let reopened = try Replica.open(at: dir.path("a.sqlite"))
        #expect(try reopened.digest() == incremental)
        #expect(reopened.operationCount == replica.operationCount)
        #expect(try reopened.integrityCheck() == "ok")
    }

    /// Batches larger than the working-set cache holds, then small ones: the cache is emptied past its bound, but
    /// the creation counters it keeps must still move, or the next orders and receipts are numbered again (the
    /// 10^5 catch-up of the benchmark found this).
    @Test func batchesPastTheCacheBoundKeepTheCreationCounters() throws {
        let dir = TempDirectory()
        let replica = try Replica.create(
            at: dir.path("a.sqlite"), name: "a", configuration: ReplicaConfiguration(durable: false))
        try seedCatalog(replica)
        let large = WorkingSetCache.ordersMax + 10
        func create(_ range: Range<Int>) -> [Command] {
            range.map { index in
                .createOrder(
                    CreateOrder(
                        number: OrderNumber("WO-\(index)"), kind: .work, location: "PLANT",
                        outputs: [OutputSpec(sku: "FRAME", quantity: 1, unitCost: 1)]))
            }
        }
        try replica.record(create(0..<large))
        try replica.record(create(large..<(large + 3)))
        try replica.record(create((large + 3)..<(2 * large + 3)))
        try replica.record(create((2 * large + 3)..<(2 * large + 5)))
        let indexes = try replica.read { db in
            try Int.fetchAll(db, sql: "SELECT creation_index FROM orders ORDER BY creation_index")
        }
        #expect(indexes == Array(0..<(2 * large + 5)))
        let incremental = try replica.digest()
        try replica.rebuild()
        #expect(try replica.digest() == incremental)
    }

    @Test func refusedCommandsChangeNothing() throws {
        let dir = TempDirectory()
        let replica = try Replica.create(
            at: dir.path("a.sqlite"), name: "a", configuration: ReplicaConfiguration(durable: false))
        try seedCatalog(replica)
        let before = (try replica.digest(), replica.operationCount)
        let refused: [Command] = [
            .addItem(Item(sku: "STEEL", kind: .material)),
            .adjustStock(AdjustStock(sku: "NOPE", location: "PLANT", quantity: 1)),
            .transition(OrderTransition(order: "PO-404", action: .enter)),
            .setBOM(SetBOM(parent: "FRAME", lines: [BOMLine(sku: "CHAIR", quantity: 1)])),
        ]
        for command in refused {
            #expect(throws: ReplicaError.self) { try replica.record(command) }
            #expect(try replica.digest() == before.0)
            #expect(replica.operationCount == before.1)
        }
        // A batch with one bad command records none of it.
        #expect(throws: ReplicaError.self) {
            try replica.record([.addLocation(Location(code: "DOCK")), .addItem(Item(sku: "BOLT", kind: .material))])
        }
        #expect(try replica.digest() == before.0)
        #expect(replica.operationCount == before.1)
        #expect(try replica.shop.catalog.locations["DOCK"] == nil)
    }

    @Test func replicasConvergeWhateverTheOrderOfMerging() throws {
        let dir = TempDirectory()
        let config = ReplicaConfiguration(durable: false)
        let a = try Replica.create(at: dir.path("a.sqlite"), name: "a", id: "aaaa", configuration: config)
        try seedCatalog(a)
        let b = try Replica.create(at: dir.path("b.sqlite"), name: "b", id: "bbbb", configuration: config)
        let c = try Replica.create(at: dir.path("c.sqlite"), name: "c", id: "cccc", configuration: config)
        _ = try b.integrate(try a.allOperations()).outcomes
        _ = try c.integrate(try a.allOperations()).outcomes
        try randomSession(a, seed: 1, steps: 120)
        try randomSession(b, seed: 2, steps: 120)
        try randomSession(c, seed: 3, steps: 120)
        // Merge in different orders.
        for (target, sources) in [(a, [c, b]), (b, [a, c]), (c, [b, a])] {
            for source in sources {
                let outcomes = try target.integrate(
                    try source.operations(missingFrom: target.versionVector, limit: 100_000)
                ).outcomes
                #expect(outcomes.allSatisfy { $0 == .accepted })
            }
        }
        // A second round passes on what the first round brought.
        for (target, sources) in [(a, [b, c]), (b, [c, a]), (c, [a, b])] {
            for source in sources {
                _ = try target.integrate(try source.operations(missingFrom: target.versionVector, limit: 100_000))
            }
        }
        #expect(a.versionVector == b.versionVector && b.versionVector == c.versionVector)
        let digest = try a.digest()
        #expect(try b.digest() == digest)
        #expect(try c.digest() == digest)
        try b.rebuild()
        #expect(try b.digest() == digest)
    }

    @Test func boundaryRefusalsAreNamedAndChangeNothing() throws {
        let dir = TempDirectory()
        let config = ReplicaConfiguration(durable: false)
        let a = try Replica.create(at: dir.path("a.sqlite"), name: "a", id: "aaaa", configuration: config)
        try seedCatalog(a)
        let hq = try Replica.create(at: dir.path("hq.sqlite"), name: "hq", id: "hq", configuration: config)
        let ops = try a.allOperations()
        #expect(try hq.integrate(Array(ops.prefix(3)), author: "aaaa").outcomes.allSatisfy { $0 == .accepted })
        let digest = try hq.digest()
        // A gap: op 5 before op 4.
        let gap = try hq.integrate([ops[4]], author: "aaaa").outcomes
        guard case .refused(let code, _) = gap[0] else { Issue.record("expected refusal"); return }
        #expect(code == .missingDependency)
        // Same batch twice: duplicates.
        #expect(try hq.integrate(Array(ops.prefix(3)), author: "aaaa").outcomes.allSatisfy { $0 == .duplicate })
        // Foreign author.
        guard case .refused(let foreign, _) = try hq.integrate([ops[3]], author: "bbbb").outcomes[0] else {
            Issue.record("expected refusal"); return
        }
        #expect(foreign == .foreignAuthor)
        // Same id, different content.
        var forged = ops[0]
        forged.payload = #"{"code":"FORGED","name":""}"#
        guard case .refused(let mismatch, _) = try hq.integrate([forged]).outcomes[0] else {
            Issue.record("expected refusal"); return
        }
        #expect(mismatch == .contentMismatch)
        // Unknown kind.
        var unknown = ops[3]
        unknown.kind = "teleport.stock"
        guard case .refused(let kind, _) = try hq.integrate([unknown]).outcomes[0] else {
            Issue.record("expected refusal"); return
        }
        #expect(kind == .unknownKind)
        #expect(try hq.digest() == digest)
        #expect(hq.operationCount == 3)
    }

    /// Two handles on one file (HQ's server and a CLI process): after the other handle records, a refused single
    /// command on this one must not put back clocks from before it caught up, or its next operation would reuse
    /// an id and an arrival number.
    @Test func aRefusalAfterCatchingUpKeepsTheNewClocks() throws {
        let dir = TempDirectory()
        let config = ReplicaConfiguration(durable: false)
        let server = try Replica.create(at: dir.path("hq.sqlite"), name: "hq", id: "hq", configuration: config)
        try seedCatalog(server)
        let cli = try Replica.open(at: server.path, configuration: config)
        try cli.record(.addLocation(Location(code: "DOCK")))
        #expect(throws: ReplicaError.self) { try server.record(.addLocation(Location(code: "DOCK"))) }
        #expect(server.versionVector == cli.versionVector)
        #expect(server.operationCount == 10)
        let next = try server.record(.addLocation(Location(code: "YARD")))
        #expect(next.operation.id.counter == 11)
        #expect(next.operation.lamport == 11)
        let reopened = try Replica.open(at: server.path, configuration: config)
        #expect(try reopened.digest() == server.digest())
        #expect(reopened.versionVector[server.id] == 11)
    }
}
