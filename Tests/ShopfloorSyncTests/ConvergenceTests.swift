import Foundation
import ShopfloorDomain
import ShopfloorReplication
import ShopfloorStore
import ShopfloorSync
import Testing

@Suite struct ConvergenceTests {
    /// Three devices work offline, then sync with a real HQ over HTTP in several orders: every replica ends with
    /// HQ's digest, and no receipt is lost or doubled.
    @Test(arguments: [[0, 1, 2], [2, 0, 1], [1, 2, 0]])
    func threeDevicesConverge(order: [Int]) async throws {
        let dir = TempDirectory()
        try await HQHarness.withHQ(at: dir.path("hq.sqlite")) { hq in
            let config = ReplicaConfiguration(durable: false)
            let devices = try (0..<3).map {
                try Replica.create(at: dir.path("d\($0).sqlite"), name: "d\($0)", id: "dev\($0)", configuration: config)
            }
            let clients = try devices.enumerated().map { try hq.client(for: $1, name: "floor-\($0)") }
            // Device 0 owns the catalog; everyone gets it before going offline.
            try seedCatalog(devices[0])
            _ = try await clients[0].sync()
            _ = try await clients[1].sync()
            _ = try await clients[2].sync()
            // A shared order, entered and started on device 0, known to all.
            try devices[0].record(
                .createOrder(
                    CreateOrder(
                        number: "PO-SHARED", kind: .production, location: "PLANT",
                        outputs: [OutputSpec(sku: "CHAIR", quantity: 20, unitCost: 12)])))
            try devices[0].record(.transition(OrderTransition(order: "PO-SHARED", action: .enter)))
            try devices[0].record(.transition(OrderTransition(order: "PO-SHARED", action: .start)))
            _ = try await clients[0].sync()
            _ = try await clients[1].sync()
            _ = try await clients[2].sync()

            // Offline: every device records its own order and a receipt; devices 1 and 2 both receipt the shared order.
            for (index, device) in devices.enumerated() {
                let number = try device.nextOrderNumber(kind: .work)
                try device.record(
                    .createOrder(
                        CreateOrder(
                            number: number, kind: .work, location: "PLANT",
                            outputs: [OutputSpec(sku: "CHAIR", quantity: 5, unitCost: 3)])))
                try device.record(.transition(OrderTransition(order: number, action: .enter)))
                try device.record(.transition(OrderTransition(order: number, action: .start)))
                try device.record(.adjustStock(AdjustStock(sku: "FRAME", location: "PLANT", quantity: 5, unitCost: 11)))
                try device.record(
                    .addReceipt(
                        AddReceipt(
                            order: number, receipt: device.nextReceiptID(),
                            lines: [BOMLine(sku: "CHAIR", quantity: Amount(index + 1))])))
                if index > 0 {
                    try device.record(
                        .addReceipt(
                            AddReceipt(
                                order: "PO-SHARED", receipt: device.nextReceiptID(),
                                lines: [BOMLine(sku: "CHAIR", quantity: 4)])))
                }
            }
            // Sync in the given order, twice around so everyone hears everything.
            for _ in 0..<2 { for index in order { _ = try await clients[index].sync() } }

            let digest = try hq.replica.digest()
            for device in devices {
                #expect(try device.digest() == digest)
                #expect(device.versionVector == hq.replica.versionVector)
            }
            // Every receipt exactly once: 3 work-order receipts + 2 on the shared order.
            let receipts = try hq.replica.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM receipts") }
            #expect(receipts == 5)
            let shared = try hq.replica.shop.order("PO-SHARED")
            #expect(shared.lines[0].produced == 8)
            #expect(shared.status == .production)
            // Rebuild from the log gives the same state everywhere.
            try devices[1].rebuild()
            #expect(try devices[1].digest() == digest)
        }
    }

    /// The same push twice: the second is all duplicates and changes nothing.
    @Test func samePushTwiceIsIdempotent() async throws {
        let dir = TempDirectory()
        try await HQHarness.withHQ(at: dir.path("hq.sqlite")) { hq in
            let device = try Replica.create(
                at: dir.path("d.sqlite"), name: "d", id: "dev0", configuration: ReplicaConfiguration(durable: false))
            let client = try hq.client(for: device, name: "floor")
            try seedCatalog(device)
            let first = try await client.sync()
            #expect(first.pushed == device.operationCount)
            let digest = try hq.replica.digest()
            // Forget the saved progress so the client pushes everything again.
            var settings = try SyncSettings.load(from: device)
            settings.pushed = 0
            try settings.save(to: device)
            let second = try await client.sync()
            #expect(second.pushed == 0)
            #expect(second.duplicates == device.operationCount)
            #expect(try hq.replica.digest() == digest)
            #expect(hq.replica.operationCount == device.operationCount)
        }
    }
}
