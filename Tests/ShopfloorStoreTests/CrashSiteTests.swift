import Foundation
import GRDB
import ShopfloorDomain
import ShopfloorReplication
import Synchronization
import Testing

@testable import ShopfloorStore

/// A crash inside a write transaction, at each site where `ReplicaConfiguration.crashSite` is called: the file keeps
/// nothing of the transaction, the live replica's memory matches the rolled-back file, and the next write works.
@Suite struct CrashSiteTests {
    struct Crash: Error {}

    /// Throws at `site` while armed; counts the crashes.
    final class Switch: Sendable {
        let armed = Mutex<CrashSite?>(nil)
        let crashes = Mutex(0)
        func pass(_ site: CrashSite) throws {
            let fire = armed.withLock { armed in
                guard armed == site else { return false }
                armed = nil
                return true
            }
            if fire {
                crashes.withLock { $0 += 1 }
                throw Crash()
            }
        }
    }

    struct State: Equatable {
        var digest: String
        var vector: VersionVector
        var operations: Int
    }

    static func state(_ replica: Replica) throws -> State {
        State(digest: try replica.digest(), vector: replica.versionVector, operations: replica.operationCount)
    }

    /// `replica` crashes at `site` during `body`; checks the file and memory, then that the next write works.
    static func expectCrashChangesNothing(
        _ replica: Replica, at site: CrashSite, _ gate: Switch, configuration: ReplicaConfiguration,
        _ body: () throws -> Void
    ) throws {
        let before = try state(replica)
        let memoryBefore = try replica.shop.orders
        gate.armed.withLock { $0 = site }
        #expect(throws: Crash.self, "\(site)") { try body() }
        #expect(gate.crashes.withLock { $0 } == 1, "the crash site \(site) was not reached")
        // The process lives on: memory was reloaded from the rolled-back file.
        #expect(try state(replica) == before, "\(site)")
        #expect(try replica.shop.orders == memoryBefore, "\(site)")
        // The process dies: the reopened file holds nothing of the transaction either.
        let reopened = try Replica.open(at: replica.path, configuration: configuration)
        #expect(try state(reopened) == before, "\(site) after reopen")
        #expect(try reopened.integrityCheck() == "ok")
        try reopened.rebuild()
        #expect(try reopened.digest() == before.digest, "\(site): rebuild after the crash")
    }

    @Test func aCrashWhileRecordingABatchKeepsNothingOfIt() throws {
        let dir = TempDirectory()
        let gate = Switch()
        let configuration = ReplicaConfiguration(durable: false, crashSite: { try gate.pass($0) })
        let replica = try Replica.create(at: dir.path("a.sqlite"), name: "a", configuration: configuration)
        try seedCatalog(replica)
        try replica.record(.adjustStock(AdjustStock(sku: "STEEL", location: "PLANT", quantity: 100, unitCost: 2)))
        let order = CreateOrder(
            number: "PO-1", kind: .production, location: "PLANT", tolerancePercent: 0,
            outputs: [OutputSpec(sku: "CHAIR", quantity: 10, unitCost: 5)])
        try Self.expectCrashChangesNothing(replica, at: .recordedOperation, gate, configuration: configuration) {
            try replica.record([.createOrder(order), .transition(OrderTransition(order: "PO-1", action: .enter))])
        }
        // The same batch records afterwards, with the counters it would have had.
        let recorded = try replica.record([
            .createOrder(order), .transition(OrderTransition(order: "PO-1", action: .enter)),
        ])
        #expect(recorded.map(\.operation.id.counter) == [11, 12])
        #expect(try replica.shop.orders["PO-1"]?.status == .entered)
    }

    @Test(arguments: [CrashSite.integratedOperations, .integratedFold])
    func aCrashWhileIntegratingKeepsNothingOfThePage(site: CrashSite) throws {
        let dir = TempDirectory()
        let gate = Switch()
        let configuration = ReplicaConfiguration(durable: false, crashSite: { try gate.pass($0) })
        let source = try Replica.create(at: dir.path("src.sqlite"), name: "src", id: "srcc")
        try seedCatalog(source)
        try randomSession(source, seed: 5, steps: 80)
        let target = try Replica.create(
            at: dir.path("dst.sqlite"), name: "dst", id: "dstt", configuration: configuration)
        let ops = try source.operations(missingFrom: target.versionVector, limit: 100_000)
        try target.record(.addLocation(Location(code: "DOCK")))
        try Self.expectCrashChangesNothing(target, at: site, gate, configuration: configuration) {
            _ = try target.integrate(ops)
        }
        let report = try target.integrate(ops)
        #expect(report.outcomes.allSatisfy { $0 == .accepted })
        #expect(target.versionVector[source.id] == source.versionVector[source.id])
    }

    @Test func aCrashWhileRebuildingKeepsTheProjections() throws {
        let dir = TempDirectory()
        let gate = Switch()
        let configuration = ReplicaConfiguration(durable: false, crashSite: { try gate.pass($0) })
        let replica = try Replica.create(at: dir.path("a.sqlite"), name: "a", configuration: configuration)
        try seedCatalog(replica)
        try randomSession(replica, seed: 9, steps: 80)
        try Self.expectCrashChangesNothing(replica, at: .rebuiltFold, gate, configuration: configuration) {
            try replica.rebuild()
        }
    }
}

/// The undo log's stock keys, built without a JSON encoder, are the encoder's bytes: a suffix kept by an earlier
/// build and rewound by this one finds its images under the same keys.
@Suite struct UndoKeyTests {
    @Test(arguments: ["STEEL", "A-1_b.c/d", "Stahl-ÄÖ", "ключ", "a\"b", "back\\slash", "tab\there", "x\u{7F}"])
    func undoKeyIsTheEncodersText(_ sku: String) throws {
        let key = StockKey(sku: SKU(sku), location: "PLANT/2")
        #expect(try ProjectionWriter.undoKey(key) == ProjectionWriter.json([sku, key.location]))
    }
}

/// The hand-computed business date and timestamp are the Gregorian calendar's, in UTC.
@Suite struct CivilDateTests {
    static func expected(_ date: Date) -> (String, String) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let millis = Int((date.timeIntervalSince1970 * 1000).rounded(.down)) % 1000
        let day = String(format: "%04d-%02d-%02d", c.year!, c.month!, c.day!)
        return (day, day + String(format: "T%02d:%02d:%02d.%03dZ", c.hour!, c.minute!, c.second!, millis))
    }

    @Test func matchesTheCalendar() {
        var random = SeededGenerator(seed: 2026)
        var moments: [Double] = [0, 951_782_400, 951_868_799.999, 4_107_542_399.5, 1_709_164_800, 1_735_689_599.001]
        for _ in 0..<20_000 { moments.append(Double(Int.random(in: 0...13_569_465_600, using: &random)) / 1.000_7) }
        for seconds in moments {
            let date = Date(timeIntervalSince1970: seconds)
            let (day, stamp) = Self.expected(date)
            #expect(Replica.businessDate(date) == day, "\(seconds)")
            #expect(Replica.timestamp(date) == stamp, "\(seconds)")
        }
    }
}

/// The fold position saved on every commit, built without an encoder, is the encoder's text.
@Suite struct MetaTextTests {
    @Test(arguments: [nil, 1, UInt64(Int64.max)] as [UInt64?])
    func foldedKeyIsTheEncodersText(_ seq: UInt64?) throws {
        for replica in ["dev0", "a.b-c_9", "é"] {
            let key = CanonicalKey(seq: seq, lamport: 42, replica: replica, counter: 7)
            #expect(try Replica.metaJSON(key) == Replica.json(key))
            let boundary = Boundary(last: key, count: 3)
            let text = "{\"count\":3,\"last\":" + (try Replica.metaJSON(key)) + "}"
            #expect(text == (try Replica.json(boundary)))
        }
    }
}
