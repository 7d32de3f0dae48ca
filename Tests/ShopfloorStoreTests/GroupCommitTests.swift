import Foundation
import ShopfloorDomain
import ShopfloorReplication
import Testing

@testable import ShopfloorStore

/// HQ stores the pushes that arrive together in one transaction (group commit): each push stays all or nothing on
/// its own, and the result is the same as storing them one after another.
@Suite struct GroupCommitTests {
    /// Three devices' backlogs: the catalog from the first, then seeded sessions on each.
    static func backlogs(_ directory: TempDirectory) throws -> [[ShopOperation]] {
        let config = ReplicaConfiguration(durable: false)
        let first = try Replica.create(at: directory.path("d1.sqlite"), name: "d1", id: "d1", configuration: config)
        try seedCatalog(first)
        var backlogs: [[ShopOperation]] = []
        for (index, id) in ["d1", "d2", "d3"].enumerated() {
            let device =
                index == 0
                ? first
                : try Replica.create(at: directory.path("\(id).sqlite"), name: id, id: id, configuration: config)
            if index > 0 { _ = try device.integrate(try first.operations(authoredBy: "d1", after: 0, limit: 1000)) }
            try randomSession(device, seed: UInt64(7 + index), steps: 60)
            backlogs.append(try device.operations(authoredBy: id, after: 0, limit: 1000))
        }
        return backlogs
    }

    static func hq(_ directory: TempDirectory, _ name: String) throws -> Replica {
        try Replica.create(
            at: directory.path("\(name).sqlite"), name: name, id: "hq",
            configuration: ReplicaConfiguration(durable: false, sequencer: true))
    }

    @Test func aGroupEqualsThePushesOneAfterAnother() throws {
        let directory = TempDirectory()
        let backlogs = try Self.backlogs(directory)
        let grouped = try Self.hq(directory, "grouped")
        let reports = try grouped.integrate(
            group: backlogs.map { PushBatch(operations: $0, author: $0[0].id.replica, allOrNothing: true) })
        #expect(reports.allSatisfy { $0.stored && $0.outcomes.allSatisfy(\.isAccepted) })
        let sequential = try Self.hq(directory, "sequential")
        for backlog in backlogs {
            let report = try sequential.integrate(backlog, author: backlog[0].id.replica, allOrNothing: true)
            #expect(report.stored)
        }
        #expect(try grouped.digest() == sequential.digest())
        #expect(grouped.versionVector == sequential.versionVector)
        // The same sequence numbers, in arrival order.
        #expect(try grouped.allOperations().map(\.seq) == sequential.allOperations().map(\.seq))
        try grouped.rebuild()
        #expect(try grouped.digest() == sequential.digest())
    }

    @Test func aRefusedPushStoresNothingAndLeavesTheOthersOfItsGroup() throws {
        let directory = TempDirectory()
        let backlogs = try Self.backlogs(directory)
        var poisoned = backlogs[1]
        // Another device's operation in d2's push: refused as a foreign author, so nothing of d2's push is stored.
        poisoned.append(backlogs[2][0])
        let hq = try Self.hq(directory, "hq")
        let reports = try hq.integrate(group: [
            PushBatch(operations: backlogs[0], author: "d1"), PushBatch(operations: poisoned, author: "d2"),
            PushBatch(operations: backlogs[2], author: "d3"),
        ])
        #expect(reports.map(\.stored) == [true, false, true])
        guard case .refused(.foreignAuthor, _) = reports[1].outcomes.last else {
            Issue.record("the foreign operation was answered \(String(describing: reports[1].outcomes.last))")
            return
        }
        #expect(hq.versionVector["d1"] == UInt64(backlogs[0].count))
        #expect(hq.versionVector["d2"] == 0)
        #expect(hq.versionVector["d3"] == UInt64(backlogs[2].count))
        // The same state as storing the two good pushes alone.
        let alone = try Self.hq(directory, "alone")
        _ = try alone.integrate(backlogs[0], author: "d1", allOrNothing: true)
        _ = try alone.integrate(backlogs[2], author: "d3", allOrNothing: true)
        #expect(try hq.digest() == alone.digest())
        // And the refused push can be sent again, on its own, and is stored then.
        let retry = try hq.integrate(group: [PushBatch(operations: backlogs[1], author: "d2")])
        #expect(retry[0].stored && retry[0].outcomes.allSatisfy(\.isAccepted))
    }

    @Test func duplicatesAcrossTheGroupAreAnsweredAsDuplicates() throws {
        let directory = TempDirectory()
        let backlogs = try Self.backlogs(directory)
        let hq = try Self.hq(directory, "hq")
        let reports = try hq.integrate(group: [
            PushBatch(operations: backlogs[0], author: "d1"), PushBatch(operations: backlogs[0], author: "d1"),
        ])
        #expect(reports[0].outcomes.allSatisfy { $0.isAccepted })
        #expect(reports[1].stored && reports[1].outcomes.allSatisfy { $0 == .duplicate })
        #expect(hq.versionVector["d1"] == UInt64(backlogs[0].count))
    }
}
