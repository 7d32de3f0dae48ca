import Foundation
import GRDB
import ShopfloorDomain
import ShopfloorHQ
import ShopfloorReplication
import ShopfloorStore
import ShopfloorSync
import Testing

/// Catch-up from a snapshot (PROTOCOL.md §20), through a real HQ on 127.0.0.1.
@Suite struct SnapshotTests {
    static func configuration(lag: UInt64 = 40) -> HQConfiguration {
        var configuration = HQConfiguration(port: 0, adminSecret: HQHarness.adminSecret)
        configuration.snapshotLagMinimum = lag
        return configuration
    }

    static func device(_ directory: TempDirectory, _ name: String) throws -> Replica {
        try Replica.create(
            at: directory.path("\(name).sqlite"), name: name, configuration: ReplicaConfiguration(durable: false))
    }

    /// A history of about 100 operations at HQ, by a floor device (items, stock, an order and receipts).
    static func history(_ hq: HQHarness, _ directory: TempDirectory) async throws {
        let author = try device(directory, "author")
        try author.record([.addLocation(Location(code: "PLANT")), .addItem(Item(sku: "CHAIR", kind: .product))])
        for index in 0..<40 {
            try author.record(.addItem(Item(sku: SKU("PART-\(index)"), kind: .material)))
            try author.record(
                .adjustStock(
                    AdjustStock(
                        sku: SKU("PART-\(index)"), location: "PLANT", quantity: Amount(index + 1),
                        unitCost: try Amount(parsing: "1.25"))))
        }
        try author.record(
            .setBOM(
                SetBOM(
                    parent: "CHAIR", lines: [BOMLine(sku: "PART-1", quantity: 2), BOMLine(sku: "PART-2", quantity: 1)]))
        )
        try author.record([
            .createOrder(
                CreateOrder(
                    number: "WO-1", kind: .work, location: "PLANT",
                    outputs: [OutputSpec(sku: "CHAIR", quantity: 5, unitCost: 10)])),
            .transition(OrderTransition(order: "WO-1", action: .enter)),
            .transition(OrderTransition(order: "WO-1", action: .start)),
            .addReceipt(AddReceipt(order: "WO-1", receipt: "RC-1", lines: [BOMLine(sku: "CHAIR", quantity: 2)])),
        ])
        _ = try await hq.client(for: author, name: "author").sync()
    }

    @Test func aFreshDeviceCatchesUpFromASnapshotAndThenFromTheLog() async throws {
        let directory = TempDirectory()
        try await HQHarness.withHQ(at: directory.path("hq.sqlite"), configuration: Self.configuration()) { hq in
            try await Self.history(hq, directory)
            let device = try Self.device(directory, "fresh")
            let client = try hq.client(for: device, name: "fresh")
            let report = try await client.sync(digest: true)
            #expect(report.snapshot != nil, "a device 80 operations behind is offered a snapshot")
            #expect(report.pulled == Int(hq.replica.versionVector.total))
            #expect(report.digest == (try hq.replica.digest()))
            #expect(device.versionVector == hq.replica.versionVector)
            #expect(device.sequencedThrough == hq.replica.sequencedThrough)
            // The log came with it: a rebuild from it gives the same state, and the device's own work syncs.
            try device.rebuild()
            #expect(try device.digest() == hq.replica.digest())
            try device.record(
                .addReceipt(AddReceipt(order: "WO-1", receipt: "RC-2", lines: [BOMLine(sku: "CHAIR", quantity: 1)])))
            try hq.replica.record(.addItem(Item(sku: "TABLE", kind: .product)))
            let again = try await client.sync(digest: true)
            #expect(again.snapshot == nil, "one operation behind: the log")
            #expect(again.pushed == 1 && again.pulled == 1)
            #expect(again.digest == (try hq.replica.digest()))
            #expect(try device.shop.position(sku: "CHAIR", location: "PLANT").onHand == 3)
            // Nothing of the download is left beside the replica.
            #expect(!FileManager.default.fileExists(atPath: device.path + ".snapshot"))
        }
    }

    @Test func aDownloadResumesAndABadOneIsThrownAwayForTheLog() async throws {
        let directory = TempDirectory()
        try await HQHarness.withHQ(at: directory.path("hq.sqlite"), configuration: Self.configuration()) { hq in
            try await Self.history(hq, directory)
            for corrupt in [false, true] {
                let device = try Self.device(directory, "device-\(corrupt)")
                let client = try hq.client(for: device, name: "device-\(corrupt)")
                // What a sync killed during the download kept: the first bytes of the snapshot HQ offers.
                let credentials = Data("\(client.deviceID):\(client.secret)".utf8).base64EncodedString()
                let headers = ["Shopfloor-Protocol": "1", "Authorization": "Basic \(credentials)"]
                let ask = try JSONEncoder().encode(
                    SnapshotRequest(vector: VersionVector(), format: Replica.snapshotFormat))
                let offered = try await hq.request("POST", "/v1/snapshot", body: ask, headers: headers)
                let manifest = try #require(try JSONDecoder().decode(SnapshotOffer.self, from: offered.body).snapshot)
                let part = try await hq.request(
                    "GET", "/v1/snapshot/\(manifest.id)", headers: headers.merging(["Range": "bytes=0-4095"]) { $1 })
                #expect(part.status == 206 && part.body.count == 4096)
                var bytes = Array(part.body)
                if corrupt { bytes[100] ^= 0xFF }
                try SnapshotDownload(replica: device).store(id: manifest.id, offset: 0, bytes: bytes)
                let report = try await client.sync(digest: true)
                // Resumed after the 4,096 bytes it held; a corrupted prefix fails the hash, and the log is pulled.
                #expect(report.snapshot == (corrupt ? nil : manifest.id))
                #expect(report.digest == (try hq.replica.digest()))
                #expect(!FileManager.default.fileExists(atPath: device.path + ".snapshot"))
            }
        }
    }

    @Test func aSnapshotCarriesNoSecretAndRefusesADeviceThatHoldsMore() async throws {
        let directory = TempDirectory()
        try await HQHarness.withHQ(at: directory.path("hq.sqlite"), configuration: Self.configuration()) { hq in
            try await Self.history(hq, directory)
            let snapshot = directory.path("snapshot.sqlite")
            let contents = try hq.replica.writeSnapshot(to: snapshot)
            #expect(contents.vector == hq.replica.versionVector && contents.seq == hq.replica.sequencedThrough)
            let tables = try await DatabaseQueue(path: snapshot).read { db in
                try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
            }
            #expect(!tables.contains("devices") && !tables.contains("api_tokens") && !tables.contains("sync_state"))
            #expect(tables.contains("ops") && tables.contains("ledger"))
            // A device with an operation the snapshot lacks refuses it and keeps everything.
            let device = try Self.device(directory, "busy")
            try device.record(.addLocation(Location(code: "MINE")))
            let before = try device.digest()
            #expect(throws: SnapshotRefusal.self) { try device.installSnapshot(from: snapshot) }
            #expect(try device.digest() == before)
            #expect(device.versionVector.total == 1)
            // Shared with another connection, the replica copies the rows and leaves the file where it is; both see
            // HQ's state.
            let shared = try Self.device(directory, "shared")
            let other = try Replica.open(at: shared.path, configuration: ReplicaConfiguration(durable: false))
            _ = try shared.installSnapshot(from: snapshot)
            #expect(FileManager.default.fileExists(atPath: snapshot))
            #expect(try shared.digest() == hq.replica.digest())
            #expect(try other.digest() == hq.replica.digest())
            // Alone, it adopts the file (renamed over its own) and keeps its identity and order numbering.
            let empty = try Self.device(directory, "empty")
            try empty.record(.addLocation(Location(code: "DOCK-1")))
            _ = try await hq.client(for: empty, name: "empty").sync()
            try hq.replica.record(.addLocation(Location(code: "DOCK-2")))
            let later = directory.path("later.sqlite")
            _ = try hq.replica.writeSnapshot(to: later)
            _ = try empty.installSnapshot(from: later)
            #expect(!FileManager.default.fileExists(atPath: later))
            #expect(try empty.digest() == hq.replica.digest())
            let reopened = try Replica.open(at: empty.path, configuration: ReplicaConfiguration(durable: false))
            #expect(reopened.id == empty.id && reopened.name == "empty")
            #expect(try empty.integrityCheck() == "ok")
            // Its next operation carries its own id and the counter after the one it pushed.
            try empty.record(.addLocation(Location(code: "DOCK-3")))
            #expect(try empty.operations(authoredBy: empty.id, after: 1, limit: 10).map(\.id.counter) == [2])
        }
    }

    /// Bad input at the snapshot endpoints is refused, naming the problem (schemathesis found the unbounded format).
    @Test func snapshotRequestsOutOfBoundsAreRefused() async throws {
        let directory = TempDirectory()
        try await HQHarness.withHQ(at: directory.path("hq.sqlite"), configuration: Self.configuration()) { hq in
            let client = try hq.client(for: try Self.device(directory, "d"), name: "d")
            let credentials = Data("\(client.deviceID):\(client.secret)".utf8).base64EncodedString()
            let headers = ["Shopfloor-Protocol": "1", "Authorization": "Basic \(credentials)"]
            let long = try JSONEncoder().encode(
                SnapshotRequest(vector: VersionVector(), format: String(repeating: "0", count: 201)))
            let refused = try await hq.request("POST", "/v1/snapshot", body: long, headers: headers)
            #expect(refused.status == 400)
            #expect(String(decoding: refused.body, as: UTF8.self).contains("format: at most 200"))
            let unknown = try await hq.request("GET", "/v1/snapshot/s1-nothing", headers: headers)
            #expect(unknown.status == 404)
            // A range past the end of a real snapshot is 416, naming the size.
            try await Self.history(hq, directory)
            let ask = try JSONEncoder().encode(SnapshotRequest(vector: VersionVector(), format: Replica.snapshotFormat))
            let offered = try await hq.request("POST", "/v1/snapshot", body: ask, headers: headers)
            let manifest = try #require(try JSONDecoder().decode(SnapshotOffer.self, from: offered.body).snapshot)
            let past = try await hq.request(
                "GET", "/v1/snapshot/\(manifest.id)",
                headers: headers.merging(["Range": "bytes=\(manifest.bytes)-"]) { $1 })
            #expect(past.status == 416)
            #expect(String(decoding: past.body, as: UTF8.self).contains("\(manifest.bytes) bytes"))
            let last = try await hq.request(
                "GET", "/v1/snapshot/\(manifest.id)",
                headers: headers.merging(["Range": "bytes=\(manifest.bytes - 10)-"]) { $1 })
            #expect(last.status == 206 && last.body.count == 10)
            let backwards = try await hq.request(
                "GET", "/v1/snapshot/s1-nothing", headers: headers.merging(["Range": "bytes=9-3"]) { $1 })
            #expect(backwards.status == 400)
            let anonymous = try await hq.request("POST", "/v1/snapshot", body: long)
            #expect(anonymous.status == 401)
        }
    }
}
