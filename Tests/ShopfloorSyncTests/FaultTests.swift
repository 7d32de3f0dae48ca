import AsyncHTTPClient
import Foundation
import GRDB
import Logging
import ShopfloorDomain
import ShopfloorHQ
import ShopfloorReplication
import ShopfloorStore
import ShopfloorSync
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Fault injection with real processes and real HTTP on 127.0.0.1: devices and HQ are killed in the middle of a
/// sync, and the next sync must lose nothing and double nothing (DESIGN.md §4).
@Suite(.serialized, .timeLimit(.minutes(3)))
struct FaultTests {
    /// Operations per push batch in these tests (`shopfloor sync --batch`).
    static let batch = 50

    // MARK: 1. Device killed mid-push

    /// `shopfloor sync` is SIGKILLed while pushing a large backlog, at three different moments; a second sync
    /// finishes the job: HQ ends with exactly the device's operations, once each.
    @Test(arguments: [0.1, 0.5, 0.9])
    func deviceKilledDuringPush(fraction: Double) async throws {
        let dir = TempDirectory()
        let devicePath = dir.path("device.sqlite")
        let backlog = try await Backlog.make(at: devicePath)
        let total = UInt64(backlog.operations)

        try await HQHarness.withHQ(at: dir.path("hq.sqlite")) { hq in
            let credentials = try hq.server.registry.add(name: "floor-1", hq: hq.url)
            try Backlog.enroll(devicePath, hq: hq.url, credentials: credentials)

            // Kill once HQ holds at least `fraction` of the backlog (but not all of it).
            let target = min(max(UInt64(Double(total) * fraction), 1), total - 1)
            let child = try ChildProcess(
                Binaries.shopfloor, ["--db", devicePath, "sync", "--batch", "\(Self.batch)"], name: "sync-1",
                directory: dir.url.path)
            var heldAtKill: UInt64 = 0
            try await Polling.until("HQ to hold \(target) of \(total) operations", timeout: 60, interval: 0.002) {
                heldAtKill = hq.replica.versionVector[backlog.replicaID]
                if heldAtKill >= target {
                    child.send(SIGKILL)
                    return true
                }
                guard child.isRunning else {
                    throw ProcessFailure("the sync ended before the kill (\(heldAtKill)/\(total)): \(child.stderr)")
                }
                return false
            }
            let exit = try await child.waitForExit(timeout: 10)
            #expect(exit.signalled && exit.status == SIGKILL, "the sync should have been killed, but: \(exit)")
            #expect(heldAtKill > 0 && heldAtKill < total, "killed at \(heldAtKill)/\(total)")

            // A request cut off by the kill may still be finishing at HQ: wait until HQ's vector stops moving.
            let held = try await Self.settle(hq.replica, replica: backlog.replicaID)
            #expect(held < total, "HQ already had everything: the kill came too late")
            #expect(
                held % UInt64(Self.batch) == 0,
                "HQ holds \(held): part of a batch was stored (batches are all or nothing)")
            try Self.expectConsistent(hq.replica, replica: backlog.replicaID, "HQ after the device was killed")

            // What the device saved: never ahead of HQ, at most one batch behind.
            let status = try await Self.syncStatus(devicePath, directory: dir.url.path, name: "status-1")
            let saved = total - status.unsent
            #expect(saved <= held, "the device believes HQ has \(saved) but HQ has \(held): operations lost")
            #expect(
                held - saved <= UInt64(Self.batch),
                "device saved \(saved), HQ holds \(held): progress not saved per batch")

            // Sync again, to completion.
            let run = try await ChildProcess.run(
                Binaries.shopfloor, ["--db", devicePath, "sync", "--batch", "\(Self.batch)", "--digest", "--json"],
                name: "sync-2",
                directory: dir.url.path, timeout: 90)
            #expect(run.exit.succeeded, "second sync: \(run.exit); \(run.stderr)")
            let summary = try JSONDecoder().decode(SyncSummary.self, from: Data(run.stdout.utf8))
            #expect(
                summary.pushed == Int(total - held), "second sync accepted \(summary.pushed), expected \(total - held)")
            #expect(
                summary.duplicates == Int(held - saved),
                "second sync resent \(summary.duplicates), expected \(held - saved)")

            try Self.expectSameOperations(hq: hq.replica, backlog: backlog)
            let device = try Replica.open(at: devicePath, configuration: ReplicaConfiguration(durable: false))
            #expect(device.versionVector == hq.replica.versionVector)
            #expect(try device.digest() == hq.replica.digest())
            #expect(
                try device.digest() == backlog.digest, "the device's own state changed by syncing its own operations")
            #expect(summary.digest == (try hq.replica.digest()))
            let after = try await Self.syncStatus(devicePath, directory: dir.url.path, name: "status-2")
            #expect(after.unsent == 0)
            #expect(after.lastError == nil)
        }
    }

    // MARK: 2. HQ restarted mid-sync

    enum HQStop: String, Sendable, CaseIterable, CustomTestStringConvertible {
        case sigkill, sigterm
        var signal: Int32 { self == .sigkill ? SIGKILL : SIGTERM }
        var testDescription: String { rawValue }
    }

    /// HQ (a separate `shopfloor-hq serve` process) is stopped while a device pushes a large backlog, then started
    /// again on the same port with the same database; the device's retries carry the sync through.
    @Test(arguments: HQStop.allCases)
    func hqRestartedDuringSync(stop: HQStop) async throws {
        let dir = TempDirectory()
        let hqPath = dir.path("hq.sqlite")
        let add = try await ChildProcess.run(
            Binaries.shopfloorHQ, ["device", "add", "floor-1", "--db", hqPath, "--json"], name: "device-add",
            directory: dir.url.path, timeout: 30)
        #expect(add.exit.succeeded, "device add: \(add.exit); \(add.stderr)")
        let credentials = try JSONDecoder().decode(DeviceCredentials.self, from: Data(add.stdout.utf8))

        var hq = try await HQProcess.start(db: hqPath, directory: dir.url.path, name: "hq")
        let port = hq.port
        let devicePath = dir.path("device.sqlite")
        let backlog = try await Backlog.make(at: devicePath)
        let total = backlog.operations
        let device = try Replica.open(at: devicePath, configuration: ReplicaConfiguration(durable: false))
        try SyncSettings(hq: hq.url, deviceID: credentials.deviceID, secret: credentials.secret).save(to: device)

        var logger = Logger(label: "test.fault.sync")
        logger.logLevel = .critical
        let client = try SyncClient(
            replica: device, hq: hq.url, deviceID: credentials.deviceID, secret: credentials.secret,
            configuration: SyncClient.Configuration(
                batchOperationsMax: Self.batch, attemptsMax: 40, backoffInitialSeconds: 0.05, backoffMaxSeconds: 0.5,
                requestTimeoutSeconds: 10),
            logger: logger)
        let pushedSoFar = PushProgressCounter()
        let syncTask = Task {
            try await Polling.timeout(60, "the sync across the HQ restart") {
                try await client.sync { progress in
                    if progress.phase == .push { pushedSoFar.set(progress.done) }
                }
            }
        }

        // Stop HQ a third of the way through the push.
        try await Polling.until("a third of the push", timeout: 60, interval: 0.005) {
            pushedSoFar.value >= total / 3
        }
        let doneAtStop = pushedSoFar.value
        #expect(doneAtStop < total, "the push finished before HQ was stopped")
        let stoppedAt = Polling.now()
        hq.child.send(stop.signal)
        let exit = try await hq.child.waitForExit(timeout: 20)
        switch stop {
        case .sigkill: #expect(exit.signalled && exit.status == SIGKILL, "HQ: \(exit)")
        case .sigterm: #expect(exit.succeeded, "HQ should shut down cleanly on SIGTERM: \(exit); \(hq.child.stderr)")
        }

        // The database HQ left behind is sound, and its projections equal a rebuild from its log.
        do {
            let stopped = try Replica.open(at: hqPath)
            #expect(try stopped.integrityCheck() == "ok")
            try Self.expectConsistent(stopped, replica: backlog.replicaID, "HQ's database after \(stop.rawValue)")
        }
        let downFor = Polling.now() - stoppedAt
        if downFor < 0.5 { try await Task.sleep(nanoseconds: UInt64((0.5 - downFor) * 1_000_000_000)) }
        hq = try await HQProcess.start(db: hqPath, port: port, directory: dir.url.path, name: "hq-restarted")

        var accepted = 0
        var resent = 0
        var firstError: (any Error)?
        do {
            let report = try await syncTask.value
            accepted += report.pushed
            resent += report.duplicates
        } catch {
            firstError = error
        }
        if let firstError {
            // The brief allows a second call, but the bounded retries should have been enough: say so.
            Issue.record("the sync did not survive the HQ restart (\(firstError)); retrying once")
            let report = try await Polling.timeout(60, "a second sync") { try await client.sync() }
            accepted += report.pushed
            resent += report.duplicates
        }
        // Every operation accepted exactly once across the restart; resends answered as duplicates.
        #expect(accepted == total, "HQ accepted \(accepted) of \(total) (pushed before the stop: \(doneAtStop))")
        #expect(resent <= Self.batch, "\(resent) operations resent: more than one batch")

        let remote = try await Self.remoteDigest(hq.url, credentials: credentials)
        #expect(remote.digest == (try device.digest()))
        #expect(remote.vector == device.versionVector)
        #expect(remote.operations == UInt64(total))

        // Stop HQ cleanly and inspect its file.
        hq.child.send(SIGTERM)
        let last = try await hq.child.waitForExit(timeout: 20)
        #expect(last.succeeded, "HQ on SIGTERM: \(last)")
        let stored = try Replica.open(at: hqPath)
        #expect(try stored.integrityCheck() == "ok")
        try Self.expectSameOperations(hq: stored, backlog: backlog)
        #expect(try stored.digest() == device.digest())
        try Self.expectConsistent(stored, replica: backlog.replicaID, "HQ's database at the end")
        #expect(try SyncSettings.load(from: device).pushed == UInt64(total))
    }

    // MARK: 3. Device killed mid-pull

    /// A new, empty device pulls a large history; its `shopfloor sync` is SIGKILLed in the middle of the pull.
    /// Its database stays sound and consistent, and the next sync completes with HQ's digest.
    @Test func deviceKilledDuringPull() async throws {
        let dir = TempDirectory()
        let sourcePath = dir.path("source.sqlite")
        let backlog = try await Backlog.make(at: sourcePath)
        let total = UInt64(backlog.operations)

        try await HQHarness.withHQ(at: dir.path("hq.sqlite")) { hq in
            // The history reaches HQ from a first device.
            do {
                let source = try Replica.open(at: sourcePath, configuration: ReplicaConfiguration(durable: false))
                let client = try hq.client(for: source, name: "floor-1", batch: 1000)
                let report = try await client.sync()
                #expect(report.pushed == backlog.operations)
            }
            #expect(hq.replica.versionVector.total == total)
            let hqDigest = try hq.replica.digest()

            // A second device starts empty and is enrolled through the CLI with a token.
            let newPath = dir.path("new.sqlite")
            _ = try Replica.create(
                at: newPath, name: "floor2", id: "floor2", configuration: ReplicaConfiguration(durable: false))
            let credentials = try hq.server.registry.add(name: "floor-2", hq: hq.url)
            // From a file, so the token is in neither argv nor the shell's history (issue 12).
            let tokenFile = dir.path("token")
            try Data((credentials.token + "\n").utf8).write(to: URL(fileURLWithPath: tokenFile))
            let enrol = try await ChildProcess.run(
                Binaries.shopfloor, ["--db", newPath, "enroll", "--token-file", tokenFile], name: "enroll",
                directory: dir.url.path, timeout: 30)
            #expect(enrol.exit.succeeded, "enroll: \(enrol.exit); \(enrol.stderr)")

            // Pull pages are 4 × --batch = 40 operations, folded in groups of 20 × --batch = 200. HQ learns what the
            // device has committed from each pull request, which trails the pages fetched ahead by at most two groups.
            let child = try ChildProcess(
                Binaries.shopfloor, ["--db", newPath, "sync", "--batch", "10"], name: "pull-1",
                directory: dir.url.path)
            var acknowledged: UInt64 = 0
            try await Polling.until("the new device to pull a third of the history", timeout: 60, interval: 0.003) {
                acknowledged =
                    try hq.server.registry.list().first { $0.deviceID == credentials.deviceID }?.acknowledged.total ?? 0
                if acknowledged >= total / 3 {
                    child.send(SIGKILL)
                    return true
                }
                guard child.isRunning else {
                    throw ProcessFailure("the pull ended before the kill (\(acknowledged)/\(total)): \(child.stderr)")
                }
                return false
            }
            let exit = try await child.waitForExit(timeout: 10)
            #expect(exit.signalled && exit.status == SIGKILL, "the pull should have been killed, but: \(exit)")

            var held: UInt64 = 0
            do {
                let device = try Replica.open(at: newPath, configuration: ReplicaConfiguration(durable: false))
                #expect(try device.integrityCheck() == "ok")
                held = device.versionVector.total
                // What the device told HQ it held was committed: nothing it had pulled is lost.
                #expect(held >= acknowledged, "the device holds \(held) but had reported \(acknowledged)")
                #expect(held < total, "the pull finished before the kill")
                try Self.expectConsistent(device, replica: backlog.replicaID, "the device after the kill")
            }

            let run = try await ChildProcess.run(
                Binaries.shopfloor, ["--db", newPath, "sync", "--batch", "\(Self.batch)", "--digest", "--json"],
                name: "pull-2",
                directory: dir.url.path, timeout: 90)
            #expect(run.exit.succeeded, "second sync: \(run.exit); \(run.stderr)")
            let summary = try JSONDecoder().decode(SyncSummary.self, from: Data(run.stdout.utf8))
            #expect(
                summary.pulled == Int(total - held), "second sync pulled \(summary.pulled), expected \(total - held)")
            #expect(summary.pushed == 0)
            #expect(summary.digest == hqDigest)

            let device = try Replica.open(at: newPath, configuration: ReplicaConfiguration(durable: false))
            #expect(try device.integrityCheck() == "ok")
            #expect(try device.digest() == hqDigest)
            #expect(device.versionVector == hq.replica.versionVector)
            try Self.expectSameOperations(hq: device, backlog: backlog)
            #expect(try hq.replica.digest() == hqDigest, "a pull changed HQ")
        }
    }

    // MARK: 4. The same batch pushed twice

    /// One batch POSTed twice over raw HTTP: the second answer is all `duplicate` and HQ does not change;
    /// a batch overlapping what HQ holds gets `duplicate` for the old part and `accepted` for the new.
    @Test func sameBatchPushedTwice() async throws {
        let dir = TempDirectory()
        try await HQHarness.withHQ(at: dir.path("hq.sqlite")) { hq in
            let device = try Replica.create(
                at: dir.path("d.sqlite"), name: "floor1", id: "floor1",
                configuration: ReplicaConfiguration(durable: false))
            try seedCatalog(device)
            for index in 0..<40 {
                try device.record(
                    .adjustStock(
                        AdjustStock(
                            sku: "BOLT", location: "PLANT", quantity: Amount(index + 1), unitCost: amount("0.10"))))
            }
            let credentials = try hq.server.registry.add(name: "floor-1", hq: hq.url)
            let headers = [
                "Shopfloor-Protocol": "1", "Content-Type": "application/json",
                "Authorization": HQHarness.basic(credentials.deviceID, credentials.secret),
            ]
            let first = try device.operations(authoredBy: device.id, after: 0, limit: 30)
            let body = try JSONEncoder().encode(PushRequest(replica: device.id, operations: first))

            let answer1 = try await hq.request("POST", "/v1/push", body: body, headers: headers)
            #expect(answer1.status == 200, "\(String(decoding: answer1.body, as: UTF8.self))")
            let push1 = try JSONDecoder().decode(PushResponse.self, from: answer1.body)
            #expect(push1.results.map(\.status) == Array(repeating: .accepted, count: 30))
            #expect(push1.results.map(\.id) == first.map(\.id.description))
            let digest = try hq.replica.digest()
            let vector = hq.replica.versionVector
            #expect(vector[device.id] == 30)

            let answer2 = try await hq.request("POST", "/v1/push", body: body, headers: headers)
            #expect(answer2.status == 200, "\(String(decoding: answer2.body, as: UTF8.self))")
            let push2 = try JSONDecoder().decode(PushResponse.self, from: answer2.body)
            #expect(push2.results.map(\.status) == Array(repeating: .duplicate, count: 30))
            #expect(push2.results.map(\.id) == first.map(\.id.description))
            #expect(push2.vector == vector)
            #expect(try hq.replica.digest() == digest)
            #expect(hq.replica.versionVector == vector)
            let stored = try hq.replica.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM ops") }
            #expect(stored == 30)

            // Overlap: operations 21…52, of which 21…30 are already at HQ.
            let overlap = try device.operations(authoredBy: device.id, after: 20, limit: 100)
            let answer3 = try await hq.request(
                "POST", "/v1/push",
                body: try JSONEncoder().encode(PushRequest(replica: device.id, operations: overlap)),
                headers: headers)
            #expect(answer3.status == 200, "\(String(decoding: answer3.body, as: UTF8.self))")
            let push3 = try JSONDecoder().decode(PushResponse.self, from: answer3.body)
            #expect(
                push3.results.map(\.status) == Array(repeating: .duplicate, count: 10)
                    + Array(repeating: .accepted, count: overlap.count - 10))
            #expect(hq.replica.versionVector == device.versionVector)
            #expect(try hq.replica.digest() == device.digest())
        }
    }

    // MARK: Helpers

    /// `shopfloor sync --json`'s output.
    struct SyncSummary: Decodable {
        var pushed: Int
        var duplicates: Int
        var pulled: Int
        /// Only with `--digest`.
        var digest: String?
        var operations: UInt64
    }

    /// `shopfloor sync status --json`'s output.
    struct SyncStatus: Decodable {
        var unsent: UInt64
        var operations: UInt64
        var lastError: String?
        enum CodingKeys: String, CodingKey {
            case unsent, operations
            case lastError = "last_error"
        }
    }

    static func syncStatus(_ path: String, directory: String, name: String) async throws -> SyncStatus {
        let run = try await ChildProcess.run(
            Binaries.shopfloor, ["--db", path, "sync", "status", "--json"], name: name, directory: directory,
            timeout: 30)
        guard run.exit.succeeded else { throw ProcessFailure("sync status: \(run.exit); \(run.stderr)") }
        return try JSONDecoder().decode(SyncStatus.self, from: Data(run.stdout.utf8))
    }

    /// Waits until `replica`'s count for `author` has not moved for 300 ms; returns it.
    static func settle(_ hq: Replica, replica author: String) async throws -> UInt64 {
        var last = hq.versionVector[author]
        var stableSince = Polling.now()
        try await Polling.until("HQ to settle", timeout: 10, interval: 0.02) {
            let now = hq.versionVector[author]
            if now != last {
                last = now
                stableSince = Polling.now()
            }
            return Polling.now() - stableSince >= 0.3
        }
        return last
    }

    /// The log holds no gap and no double for `author`, and the projections equal a rebuild from the log.
    static func expectConsistent(
        _ replica: Replica, replica author: String, _ what: String, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let held = replica.versionVector[author]
        let (count, maximum) = try replica.read { db in
            let row = try Row.fetchOne(
                db, sql: "SELECT COUNT(*) AS n, COALESCE(MAX(counter), 0) AS m FROM ops WHERE replica = ?",
                arguments: [author])!
            return (row["n"] as Int64, row["m"] as Int64)
        }
        #expect(
            UInt64(count) == held && UInt64(maximum) == held,
            "\(what): vector says \(held), log has \(count) up to \(maximum)", sourceLocation: sourceLocation)
        let before = try replica.digest()
        try replica.rebuild()
        #expect(
            try replica.digest() == before, "\(what): projections differ from a rebuild of the log",
            sourceLocation: sourceLocation)
    }

    /// `hq` holds exactly the backlog's operations, each once, and every receipt exactly once.
    static func expectSameOperations(
        hq: Replica, backlog: Backlog, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let total = UInt64(backlog.operations)
        #expect(hq.versionVector == VersionVector([backlog.replicaID: total]), sourceLocation: sourceLocation)
        #expect(hq.operationCount == backlog.operations, sourceLocation: sourceLocation)
        let (ops, distinct, receipts) = try hq.read { db in
            (
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM ops")!,
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM (SELECT DISTINCT replica, counter FROM ops)")!,
                try String.fetchAll(db, sql: "SELECT id FROM receipts")
            )
        }
        #expect(
            ops == backlog.operations, "log holds \(ops) operations, expected \(backlog.operations)",
            sourceLocation: sourceLocation)
        #expect(distinct == ops, sourceLocation: sourceLocation)
        #expect(
            receipts.count == backlog.receipts.count, "\(receipts.count) receipts, expected \(backlog.receipts.count)",
            sourceLocation: sourceLocation)
        #expect(Set(receipts) == backlog.receipts, sourceLocation: sourceLocation)
        let ledger = try hq.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM ledger")! }
        #expect(
            ledger == backlog.ledgerRows, "\(ledger) ledger entries, expected \(backlog.ledgerRows)",
            sourceLocation: sourceLocation)
        #expect(
            try hq.digest() == backlog.digest, "digest differs from the authoring device's",
            sourceLocation: sourceLocation)
    }

    static func remoteDigest(_ url: String, credentials: DeviceCredentials) async throws -> DigestResponse {
        var request = HTTPClientRequest(url: url + "/v1/digest")
        request.headers.add(name: "Shopfloor-Protocol", value: "1")
        request.headers.add(name: "Authorization", value: HQHarness.basic(credentials.deviceID, credentials.secret))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1024 * 1024)
        guard response.status.code == 200 else { throw ProcessFailure("GET /v1/digest: \(response.status)") }
        return try JSONDecoder().decode(DigestResponse.self, from: Data(buffer: body))
    }
}

/// A device replica with a large backlog of unsynced operations: the catalog, open work orders, then stock
/// adjustments and receipts interleaved.
struct Backlog: Sendable {
    var replicaID: String
    var operations: Int
    var receipts: Set<String>
    var digest: String
    var ledgerRows: Int

    static let orders = 60

    /// Builds the replica at `path` and closes it again (so another process can own it).
    static func build(
        at path: String, id: String, adjustments: Int = 2_400, receipts receiptCount: Int = 2_400
    ) throws -> Backlog {
        let device = try Replica.create(at: path, name: id, id: id, configuration: ReplicaConfiguration(durable: false))
        try seedCatalog(device)
        var orders: [OrderNumber] = []
        for _ in 0..<Self.orders {
            let number = try device.nextOrderNumber(kind: .work)
            try device.record([
                .createOrder(
                    CreateOrder(
                        number: number, kind: .work, location: "PLANT",
                        outputs: [OutputSpec(sku: "CHAIR", quantity: 1_000_000, unitCost: 12)])),
                .transition(OrderTransition(order: number, action: .enter)),
                .transition(OrderTransition(order: number, action: .start)),
            ])
            orders.append(number)
        }
        var receipts: Set<String> = []
        var pending: [Command] = []
        var adjusted = 0
        let materials: [SKU] = ["STEEL", "BOLT", "PAINT", "FRAME"]
        for index in 0..<(adjustments + receiptCount) {
            if (index % 2 == 1 && receipts.count < receiptCount) || adjusted >= adjustments {
                let receipt = "RC-\(id)-\(index)"
                receipts.insert(receipt)
                pending.append(
                    .addReceipt(
                        AddReceipt(
                            order: orders[index % orders.count], receipt: receipt,
                            lines: [BOMLine(sku: "CHAIR", quantity: 1)])))
            } else {
                adjusted += 1
                pending.append(
                    .adjustStock(
                        AdjustStock(
                            sku: materials[index % materials.count], location: "PLANT", quantity: Amount(index % 7 + 1),
                            unitCost: Amount(index % 5 + 1))))
            }
            if pending.count == 100 {
                try device.record(pending)
                pending.removeAll()
            }
        }
        if !pending.isEmpty { try device.record(pending) }
        let ledgerRows = try device.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM ledger")! }
        return Backlog(
            replicaID: device.id, operations: device.operationCount, receipts: receipts, digest: try device.digest(),
            ledgerRows: ledgerRows)
    }

    /// A copy of the standard backlog (replica `floor1`, about 5,000 operations) at `path`. The backlog is built once
    /// per test process and copied, since building it takes several seconds in a debug build.
    static func make(at path: String) async throws -> Backlog {
        try await BacklogCache.shared.copy(to: path)
    }

    /// Saves HQ's address and the device's credentials in the replica at `path` (as `shopfloor enroll` would).
    static func enroll(_ path: String, hq: String, credentials: DeviceCredentials) throws {
        let device = try Replica.open(at: path, configuration: ReplicaConfiguration(durable: false))
        try SyncSettings(hq: hq, deviceID: credentials.deviceID, secret: credentials.secret).save(to: device)
    }
}

/// The standard backlog, built once per test process in a private temporary directory removed at exit.
actor BacklogCache {
    static let shared = BacklogCache()
    static let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("shopfloor-fault-backlog-\(getpid())").path

    private var template: Backlog?

    func copy(to path: String) throws -> Backlog {
        let source = (Self.directory as NSString).appendingPathComponent("backlog.sqlite")
        if template == nil {
            try? FileManager.default.removeItem(atPath: Self.directory)
            try FileManager.default.createDirectory(atPath: Self.directory, withIntermediateDirectories: true)
            atexit { try? FileManager.default.removeItem(atPath: BacklogCache.directory) }
            // Closed on return, so the file is complete without its write-ahead log.
            template = try Backlog.build(at: source, id: "floor1")
        }
        for suffix in ["", "-wal"] where FileManager.default.fileExists(atPath: source + suffix) {
            try FileManager.default.copyItem(atPath: source + suffix, toPath: path + suffix)
        }
        return template!
    }
}

/// A value shared with a sync's progress callback.
final class PushProgressCounter: Sendable {
    private let storage = Mutex(0)
    var value: Int { storage.withLock { $0 } }
    func set(_ value: Int) { storage.withLock { $0 = value } }
}
