import Foundation
import Logging
import ShopfloorDomain
import ShopfloorPostgres
import ShopfloorReplication
import ShopfloorStore
import Testing

/// HQ's push on PostgreSQL: the fold SQLite runs, on the company's database, with one sequence for every node.
@Suite(.serialized) struct PostgresPushTests {
    static let logger = Logger(label: "shopfloor.test.postgres")

    /// A floor device on a SQLite file of its own.
    static func device(_ directory: URL, _ id: String) throws -> Replica {
        try Replica.create(
            at: directory.appendingPathComponent("\(id).sqlite").path, name: id, id: id,
            configuration: ReplicaConfiguration(durable: false))
    }

    /// The first device's catalog and opening stock; every other device starts from it.
    static func catalog(_ replica: Replica) throws {
        try replica.record(.addLocation(Location(code: "PLANT")))
        for (sku, kind): (SKU, ItemKind) in [("TUBE", .material), ("SCREW", .material), ("STOOL", .product)] {
            try replica.record(.addItem(Item(sku: sku, kind: kind, unit: "ea")))
        }
        try replica.record(
            .setBOM(
                SetBOM(parent: "STOOL", lines: [BOMLine(sku: "TUBE", quantity: 3), BOMLine(sku: "SCREW", quantity: 6)]))
        )
        try replica.record(.adjustStock(AdjustStock(sku: "TUBE", location: "PLANT", quantity: 900, unitCost: 2)))
        try replica.record(
            .adjustStock(
                AdjustStock(sku: "SCREW", location: "PLANT", quantity: 5000, unitCost: Amount(parsing: "0.05"))))
    }

    /// A shift on one device: orders released, goods received against them, stock counted, amounts in decimals.
    static func shift(_ replica: Replica, orders: Int) throws {
        for index in 0..<orders {
            let number = try replica.nextOrderNumber(kind: .production)
            try replica.record(
                .createOrder(
                    CreateOrder(
                        number: number, kind: .production, location: "PLANT",
                        outputs: [OutputSpec(sku: "STOOL", quantity: Amount(4 + index % 3), unitCost: 7)])))
            try replica.record(.transition(OrderTransition(order: number, action: .enter)))
            try replica.record(.transition(OrderTransition(order: number, action: .start)))
            try replica.record(
                .addReceipt(
                    AddReceipt(
                        order: number, receipt: replica.nextReceiptID(), lines: [BOMLine(sku: "STOOL", quantity: 2)])))
            try replica.record(
                .adjustStock(
                    AdjustStock(sku: "TUBE", location: "PLANT", quantity: try Amount(parsing: "-1.125"))))
        }
    }

    static func backlog(_ replica: Replica) throws -> [ShopOperation] {
        try replica.operations(authoredBy: replica.id, after: 0, limit: 10_000)
    }

    /// A migrated database, a scratch folder for the devices' files, and two nodes on the database; the nodes are
    /// closed and the folder removed afterwards, whatever happens.
    static func withTwoNodes(
        _ body: @Sendable (TestDatabase, URL, [PostgresStore]) async throws -> Void
    ) async throws {
        try await TestDatabase.with { database in
            try await database.migrate()
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pg-push-\(UUID())")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let nodes = [
                try await PostgresStore.open(database.location, logger: Self.logger),
                try await PostgresStore.open(database.location, logger: Self.logger),
            ]
            do {
                try await body(database, directory, nodes)
            } catch {
                for node in nodes { await node.close() }
                throw error
            }
            for node in nodes { await node.close() }
        }
    }

    /// Three devices push at the same moment through two nodes, in small batches that interleave: every
    /// operation is numbered once, 1...N with no gap, and the projections the nodes folded on PostgreSQL are
    /// what a SQLite HQ folds from the same log in the same order.
    @Test func twoNodesStoringPushesAtOnceNumberAndFoldAsOne() async throws {
        try await Self.withTwoNodes { _, directory, nodes in
            let first = try Self.device(directory, "d1")
            try Self.catalog(first)
            let shared = try Self.backlog(first)
            var devices = [first]
            for id in ["d2", "d3"] {
                let device = try Self.device(directory, id)
                _ = try device.integrate(shared)
                devices.append(device)
            }
            for device in devices { try Self.shift(device, orders: 6) }
            // The catalog first (the others depend on it), then everyone at once, 5 operations a push.
            let catalogReports = try await nodes[0].integrate(group: [PushBatch(operations: shared, author: "d1")])
            #expect(catalogReports[0].outcomes.allSatisfy { $0.isAccepted })
            let backlogs = try devices.map { try Self.backlog($0).filter { !shared.map(\.id).contains($0.id) } }
            let outcomes = try await withThrowingTaskGroup(of: [IntegrationOutcome].self) { group in
                for (index, backlog) in backlogs.enumerated() {
                    let author = devices[index].id
                    group.addTask {
                        var outcomes: [IntegrationOutcome] = []
                        for (batch, start) in stride(from: 0, to: backlog.count, by: 5).enumerated() {
                            let node = nodes[(index + batch) % nodes.count]
                            let push = Array(backlog[start..<min(start + 5, backlog.count)])
                            let reports = try await node.integrate(
                                group: [PushBatch(operations: push, author: author, strict: true)])
                            outcomes += reports[0].outcomes
                        }
                        return outcomes
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(outcomes.count == backlogs.joined().count)
            #expect(outcomes.allSatisfy { $0.isAccepted })
            // Pushing a batch again through the other node stores nothing twice.
            let again = try await nodes[1].integrate(
                group: [PushBatch(operations: Array(backlogs[1].prefix(5)), author: "d2")])
            #expect(again[0].outcomes.allSatisfy { $0 == .duplicate })

            let total = shared.count + backlogs.joined().count
            var log: [ShopOperation] = []
            var after: UInt64 = 0
            while true {
                let page = try await nodes[1].page(after: after, holding: VersionVector(), limit: 50)
                log += page.operations
                after = page.last
                if !page.more { break }
            }
            #expect(log.map(\.seq) == (1...UInt64(total)).map { $0 })
            #expect(Set(log.map(\.id)).count == total)

            // A SQLite HQ folding the same log in the same order holds the same projections.
            let reference = try Replica.create(
                at: directory.appendingPathComponent("hq.sqlite").path, name: "hq", id: "hq",
                configuration: ReplicaConfiguration(durable: false, sequencer: true))
            let unnumbered = log.map { op -> ShopOperation in
                var op = op
                op.seq = nil
                return op
            }
            let report = try reference.integrate(group: [PushBatch(operations: unnumbered)])[0]
            #expect(report.outcomes.allSatisfy { $0.isAccepted })
            let folded = try await nodes[0].withExecutor("read the projections", idempotent: true) { sql in
                try Replica.shop(sql)
            }
            let expected = try reference.shop
            #expect(folded.catalog.items == expected.catalog.items)
            #expect(folded.catalog.boms == expected.catalog.boms)
            #expect(folded.orders == expected.orders)
            #expect(folded.valuations == expected.valuations)
            #expect(folded.positions == expected.positions)
            #expect(folded.conflicts == expected.conflicts)
            #expect(folded.fieldWrites == expected.fieldWrites)
            #expect(!folded.orders.isEmpty && !folded.positions.isEmpty)
        }
    }

    /// A push cut off inside its transaction, after its operations were stored or after they were folded (what a
    /// node killed there leaves: PostgreSQL rolls the transaction back), leaves nothing; the same push sent again,
    /// through another node, is stored once and folds as if nothing had happened.
    @Test(arguments: [CrashSite.integratedOperations, .integratedFold])
    func aPushCutOffMidTransactionLeavesNothingAndTheRetryStoresItOnce(site: CrashSite) async throws {
        struct Cut: Error {}
        try await Self.withTwoNodes { database, directory, nodes in
            let device = try Self.device(directory, "d1")
            try Self.catalog(device)
            try Self.shift(device, orders: 2)
            let backlog = try Self.backlog(device)
            await #expect(throws: Cut.self) {
                try await nodes[0].integrate(group: [PushBatch(operations: backlog, author: "d1")]) { reached in
                    if reached == site { throw Cut() }
                }
            }
            #expect(try await database.integer("SELECT count(*) FROM ops") == 0)
            #expect(try await database.integer("SELECT count(*) FROM ledger") == 0)
            #expect(try await database.integer("SELECT next FROM hq_sequence") == 1)
            let retry = try await nodes[1].integrate(group: [PushBatch(operations: backlog, author: "d1")])
            #expect(retry[0].outcomes.allSatisfy { $0.isAccepted })
            let again = try await nodes[0].integrate(group: [PushBatch(operations: backlog, author: "d1")])
            #expect(again[0].outcomes.allSatisfy { $0 == .duplicate })
            #expect(try await database.integer("SELECT count(*) FROM ops") == backlog.count)
            #expect(try await database.integer("SELECT next FROM hq_sequence") == backlog.count + 1)
            let folded = try await nodes[1].withExecutor("read the projections", idempotent: true) { sql in
                try Replica.shop(sql)
            }
            let expected = try device.shop
            #expect(folded.orders == expected.orders)
            #expect(folded.positions == expected.positions)
            #expect(folded.valuations == expected.valuations)
        }
    }
}
