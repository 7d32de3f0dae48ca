import Foundation
import ShopfloorDomain
import ShopfloorReplication
import ShopfloorStore
import Testing

/// HQ numbers operations on arrival and that sequence is the canonical order; devices fold their unsynced suffix
/// after it and rewind it when HQ's numbers arrive. These tests drive that with an in-process HQ (a sequencer
/// replica) and the same calls `SyncClient` and HQ's endpoints make.
@Suite struct SequencingTests {
    /// Pushes everything `device` authored that HQ lacks, as one all-or-nothing batch.
    static func push(_ device: Replica, to hq: Replica) throws {
        let ops = try device.operations(authoredBy: device.id, after: hq.versionVector[device.id], limit: 1_000_000)
        guard !ops.isEmpty else { return }
        let report = try hq.integrate(ops, author: device.id, allOrNothing: true)
        #expect(
            report.stored && report.outcomes.allSatisfy { $0 == .accepted }, "push of \(device.id): \(report.outcomes)")
    }

    /// Pulls pages of at most `limit` from HQ until it has nothing more.
    static func pull(_ device: Replica, from hq: Replica, limit: Int = 1000) throws {
        for _ in 0..<10_000 {
            let page = try hq.page(after: device.sequencedThrough, holding: device.versionVector, limit: limit)
            if page.operations.isEmpty && page.sequenced.isEmpty { return }
            let assignments = Dictionary(page.sequenced.map { ($0.id, $0.seq) }, uniquingKeysWith: { $1 })
            let report = try device.integrate(page.operations, assignments: assignments)
            #expect(report.outcomes.allSatisfy { $0 == .accepted }, "pull of \(device.id): \(report.outcomes)")
        }
        Issue.record("pull of \(device.id) never ended")
    }

    static func sequencer(_ lab: ReplicaLab) throws -> Replica {
        var config = lab.config
        config.sequencer = true
        return try Replica.create(
            at: lab.url.appendingPathComponent("hq-\(UUID().uuidString).sqlite").path, name: "hq", id: "hq",
            configuration: config)
    }

    /// Every operation's causal past comes before it in the replica's canonical order.
    static func checkCausalFoldOrder(_ replica: Replica, sourceLocation: SourceLocation = #_sourceLocation) throws {
        var held = VersionVector()
        for op in try replica.allOperations() {
            #expect(
                op.context.isCovered(by: held),
                "\(replica.id): \(op.id) (seq \(op.seq.map(String.init) ?? "none")) sorts before part of its context \(op.context)",
                sourceLocation: sourceLocation)
            held.record(op.id)
        }
    }

    /// A sync round trip: the device and HQ agree, whatever the page size, and a rebuild agrees with both.
    @Test(arguments: [1, 3, 1000])
    func devicesConvergeOnHQsOrder(pageLimit: Int) throws {
        let lab = ReplicaLab()
        let hq = try Self.sequencer(lab)
        let a = try lab.replica("dev-a")
        let b = try lab.replica("dev-b")
        try seedShop(a)
        try Self.push(a, to: hq)
        try Self.pull(b, from: hq, limit: pageLimit)
        // Concurrent work: both receive on one order and edit its notes.
        for device in [a, b] {
            try device.record(
                .createOrder(
                    CreateOrder(
                        number: OrderNumber("PO-\(device.id)"), kind: .production, location: "PLANT",
                        outputs: [OutputSpec(sku: "CHAIR", quantity: 10, unitCost: 5)])))
        }
        try Self.push(b, to: hq)
        try Self.push(a, to: hq)
        for device in [a, b] {
            try Self.pull(device, from: hq, limit: pageLimit)
            try Self.push(device, to: hq)
        }
        for device in [a, b] { try Self.pull(device, from: hq, limit: pageLimit) }
        let digest = try hq.digest()
        for device in [a, b] {
            #expect(try device.digest() == digest, "\(device.id)")
            #expect(device.versionVector == hq.versionVector)
            try Self.checkCausalFoldOrder(device)
            try device.rebuild()
            #expect(try device.digest() == digest, "\(device.id) rebuilt")
        }
        try Self.checkCausalFoldOrder(hq)
    }

    /// A peer hands A an operation HQ has already numbered, whose causal past includes A's own operations that A
    /// does not know HQ's numbers for yet. A must not fold it before that past: the canonical order extends
    /// happens-before on every replica, not only once everyone has synced. And A's next pull must still bring HQ's
    /// numbers for its own operations, though it now holds a higher one.
    @Test func aSequencedOperationFromAPeerIsNotFoldedBeforeItsPast() throws {
        let lab = ReplicaLab()
        let hq = try Self.sequencer(lab)
        let a = try lab.replica("dev-a")
        let b = try lab.replica("dev-b")
        try seedShop(a)
        try a.record(
            .createOrder(
                CreateOrder(
                    number: "PO-1", kind: .production, location: "PLANT",
                    outputs: [OutputSpec(sku: "CHAIR", quantity: 10, unitCost: 5)])))
        try a.record(.transition(OrderTransition(order: "PO-1", action: .enter)))
        try a.record(.transition(OrderTransition(order: "PO-1", action: .start)))
        // A pushes but does not pull: its own operations stay unsequenced on A.
        try Self.push(a, to: hq)
        // B learns everything from HQ, receives on PO-1, pushes, and learns its receipt's number.
        try Self.pull(b, from: hq)
        let receipt = try b.record(
            .addReceipt(AddReceipt(order: "PO-1", receipt: "R-1", lines: [BOMLine(sku: "CHAIR", quantity: 4)]))
        ).operation
        try Self.push(b, to: hq)
        try Self.pull(b, from: hq)
        // B hands its receipt (now numbered) to A directly.
        let direct = try b.operations(missingFrom: a.versionVector, limit: 100)
        #expect(direct.map(\.id) == [receipt.id])
        #expect(direct.first?.seq != nil)
        let report = try a.integrate(direct)
        #expect(report.outcomes == [.accepted])
        try Self.checkCausalFoldOrder(a)
        #expect(try a.shop.orders["PO-1"]?.lines.first?.produced == 4, "the receipt was not applied to PO-1 on A")
        #expect(try a.conflictRows(all: true).filter { $0.kind == "refused-operation" }.isEmpty)
        // Once A syncs, it has HQ's numbers for all its operations and agrees with HQ. (A pull cursor taken as the
        // highest number held would skip the numbers below the one the peer brought.)
        try Self.pull(a, from: hq)
        #expect(
            try a.allOperations().allSatisfy { $0.seq != nil }, "A never learnt HQ's numbers for its own operations")
        #expect(try a.digest() == hq.digest())
        #expect(try a.conflictRows(all: true) == hq.conflictRows(all: true))
    }
}
