import Foundation
import GRDB
import ShopfloorDomain
import ShopfloorHQ
import ShopfloorReplication
import ShopfloorStore
import ShopfloorSync
import Testing

/// HQ behaviour the conformance vectors cannot express: the sync client's view of errors, device status after real
/// syncs, configured limits, enrolment over HTTP, and resumption after a kill.
@Suite struct HQErrorTests {
    static let protocolHeader = [Wire.versionHeader: "\(Wire.protocolVersion)"]
    static let admin = protocolHeader.merging(["Authorization": "Bearer \(HQHarness.adminSecret)"]) { $1 }

    static func device(_ credentials: DeviceCredentials) -> [String: String] {
        protocolHeader.merging(["Authorization": HQHarness.basic(credentials.deviceID, credentials.secret)]) { $1 }
    }

    static func replica(_ dir: TempDirectory, _ id: String) throws -> Replica {
        try Replica.create(
            at: dir.path("\(id).sqlite"), name: id, id: id, configuration: ReplicaConfiguration(durable: false))
    }

    /// Operation `counter` of `replica`, valid right after its predecessor: a location.add.
    static func operation(
        _ replica: String, _ counter: UInt64, lamport: UInt64? = nil, context: VersionVector? = nil, code: String? = nil
    ) -> ShopOperation {
        ShopOperation(
            id: OperationID(replica: replica, counter: counter), lamport: lamport ?? counter,
            context: context ?? VersionVector([replica: counter - 1]), timestamp: "2026-03-01T08:00:00.000Z",
            date: "2026-03-01", command: .addLocation(Location(code: code ?? "L\(counter)")))
    }

    static func body(_ value: some Encodable) throws -> Data { try JSONEncoder().encode(value) }

    static func devices(_ hq: HQHarness) async throws -> [DeviceStatus] {
        let answer = try await hq.request("GET", "/v1/devices", headers: admin)
        #expect(answer.status == 200)
        return try JSONDecoder().decode(Conformance.DeviceList.self, from: answer.body).devices
    }

    // MARK: Bounds

    /// One pull with a cursor past SQLite's integers stopped HQ with no reply (found by fuzzing, issue 12). It is
    /// refused with a message naming the field, and HQ goes on serving.
    @Test func aPullCursorPastInt64IsRefusedAndHQLivesOn() async throws {
        let dir = TempDirectory()
        try await HQHarness.withHQ(at: dir.path("hq.sqlite")) { hq in
            let credentials = try hq.server.registry.add(name: "floor-1")
            let headers = Self.device(credentials)
            for after in ["9223372036854775808", "18446744073709551615"] {
                let body = Data("{\"after\":\(after),\"vector\":{}}".utf8)
                let answer = try await hq.request("POST", "/v1/pull", body: body, headers: headers)
                #expect(answer.status == 400, "after \(after)")
                #expect(String(decoding: answer.body, as: UTF8.self).contains("malformed_body"))
                #expect(String(decoding: answer.body, as: UTF8.self).contains("after"))
            }
            let health = try await hq.request("GET", "/health")
            #expect(health.status == 200)
            let largest = Data("{\"after\":9223372036854775807,\"vector\":{}}".utf8)
            let page = try await hq.request("POST", "/v1/pull", body: largest, headers: headers)
            #expect(page.status == 200)
        }
    }

    // MARK: Revocation and binding

    @Test func revokeOverHTTPStopsTheSyncClient() async throws {
        let dir = TempDirectory()
        try await HQHarness.withHQ(at: dir.path("hq.sqlite")) { hq in
            let device = try Self.replica(dir, "dev0")
            let client = try hq.client(for: device, name: "floor-1")
            try device.record(.addLocation(Location(code: "PLANT")))
            _ = try await client.sync()
            let digest = try hq.replica.digest()

            let revoked = try await hq.request("DELETE", "/v1/devices/\(client.deviceID)", headers: Self.admin)
            #expect(revoked.status == 200)
            let listed = try await Self.devices(hq)
            #expect(listed.first?.revoked != nil)

            try device.record(.addLocation(Location(code: "STORE")))
            let error = await #expect(throws: SyncError.self) { _ = try await client.sync() }
            if case .refused(let status, let code, _)? = error {
                #expect(status == 403 && code == "device_revoked")
            } else {
                Issue.record("expected a 403 device_revoked refusal, got \(String(describing: error))")
            }
            #expect(try hq.replica.digest() == digest)
            // The refusal is saved on the device for `shopfloor sync status`, and its progress is untouched.
            let settings = try SyncSettings.load(from: device)
            #expect(settings.lastError?.contains("device_revoked") == true)
            #expect(settings.pushed == 1)
        }
    }

    @Test func aReplicaBelongsToOneDevice() async throws {
        let dir = TempDirectory()
        try await HQHarness.withHQ(at: dir.path("hq.sqlite")) { hq in
            let first = try hq.server.registry.add(name: "floor-1")
            let second = try hq.server.registry.add(name: "floor-2")
            let push = try Self.body(PushRequest(replica: "dev0", operations: [Self.operation("dev0", 1)]))
            #expect(try await hq.request("POST", "/v1/push", body: push, headers: Self.device(first)).status == 200)
            let stolen = try await hq.request("POST", "/v1/push", body: push, headers: Self.device(second))
            #expect(stolen.status == 403)
            #expect(try JSONDecoder().decode(ErrorResponse.self, from: stolen.body).error.code == "foreign_author")
            // Even an empty push may not claim another device's replica.
            let empty = try Self.body(PushRequest(replica: "dev0", operations: []))
            #expect(try await hq.request("POST", "/v1/push", body: empty, headers: Self.device(second)).status == 403)
            let listed = try await Self.devices(hq)
            #expect(listed.first { $0.deviceID == first.deviceID }?.replica == "dev0")
            #expect(listed.first { $0.deviceID == second.deviceID }?.replica == nil)
        }
    }

    /// A replica id stays bound to the device that first pushed it, even after that device is revoked: new
    /// credentials for the same replica file are refused (PROTOCOL.md §3.4).
    @Test func aRevokedDevicesReplicaStaysBound() async throws {
        let dir = TempDirectory()
        try await HQHarness.withHQ(at: dir.path("hq.sqlite")) { hq in
            let old = try hq.server.registry.add(name: "floor-1")
            let push = try Self.body(PushRequest(replica: "dev0", operations: [Self.operation("dev0", 1)]))
            #expect(try await hq.request("POST", "/v1/push", body: push, headers: Self.device(old)).status == 200)
            #expect(try hq.server.registry.revoke(old.deviceID))
            let new = try hq.server.registry.add(name: "floor-1 again")
            let next = try Self.body(PushRequest(replica: "dev0", operations: [Self.operation("dev0", 2)]))
            let answer = try await hq.request("POST", "/v1/push", body: next, headers: Self.device(new))
            #expect(answer.status == 403)
            #expect(try JSONDecoder().decode(ErrorResponse.self, from: answer.body).error.code == "foreign_author")
            #expect(hq.replica.operationCount == 1)
        }
    }

    // MARK: Device status

    @Test func deviceStatusAfterSyncs() async throws {
        let dir = TempDirectory()
        try await HQHarness.withHQ(at: dir.path("hq.sqlite")) { hq in
            let a = try Self.replica(dir, "dev0")
            let b = try Self.replica(dir, "dev1")
            let clientA = try hq.client(for: a, name: "floor-a")
            let clientB = try hq.client(for: b, name: "floor-b")
            let idle = try hq.server.registry.add(name: "floor-idle")
            for code in ["PLANT", "STORE", "WIP"] { try a.record(.addLocation(Location(code: code))) }
            for sku: SKU in ["STEEL", "BOLT"] { try b.record(.addItem(Item(sku: sku, kind: .material))) }

            _ = try await clientA.sync()
            _ = try await clientB.sync()
            var status = Dictionary(uniqueKeysWithValues: try await Self.devices(hq).map { ($0.name, $0) })
            let (sa, sb, si) = (status["floor-a"]!, status["floor-b"]!, status["floor-idle"]!)
            #expect(sa.replica == "dev0" && sa.pushed == 3 && sa.lastContact != nil && sa.revoked == nil)
            // A reported holding its own 3 before B pushed 2: it lags by B's 2.
            #expect(sa.acknowledged == VersionVector(["dev0": 3]))
            #expect(sa.lag == 2)
            // "Acknowledged" is the vector of the device's last pull request; the client pulls until an empty page,
            // so after a sync it is everything the device holds.
            #expect(sb.replica == "dev1" && sb.pushed == 2)
            #expect(sb.acknowledged == VersionVector(["dev0": 3, "dev1": 2]))
            #expect(sb.lag == 0)
            #expect(si.replica == nil && si.lastContact == nil && si.pushed == 0 && si.lag == 5)
            #expect(si.deviceID == idle.deviceID)

            _ = try await clientA.sync()
            _ = try await clientB.sync()
            status = Dictionary(uniqueKeysWithValues: try await Self.devices(hq).map { ($0.name, $0) })
            for name in ["floor-a", "floor-b"] {
                #expect(status[name]?.acknowledged == hq.replica.versionVector)
                #expect(status[name]?.lag == 0)
            }
        }
    }

    /// HQ numbers operations on arrival; after a sync every device holds HQ's numbers for every operation, its own
    /// included (learnt from the pull's `sequenced` assignments), so all fold in the same order.
    @Test func devicesLearnHQsSequence() async throws {
        let dir = TempDirectory()
        try await HQHarness.withHQ(at: dir.path("hq.sqlite")) { hq in
            let a = try Self.replica(dir, "dev0")
            let b = try Self.replica(dir, "dev1")
            let clientA = try hq.client(for: a, name: "floor-a")
            let clientB = try hq.client(for: b, name: "floor-b")
            try a.record(.addLocation(Location(code: "PLANT")))
            try b.record(.addLocation(Location(code: "STORE")))
            try a.record(.addLocation(Location(code: "WIP")))
            for client in [clientB, clientA, clientB] { _ = try await client.sync() }
            let order = try hq.replica.allOperations().map { "\($0.id)@\($0.seq ?? 0)" }
            #expect(order == ["dev1:1@1", "dev0:1@2", "dev0:2@3"])
            for device in [a, b] {
                #expect(try device.allOperations().map { "\($0.id)@\($0.seq ?? 0)" } == order)
                #expect(device.sequencedThrough == 3)
                #expect(try device.digest() == hq.replica.digest())
            }
        }
    }

    // MARK: Limits and configuration

    @Test func configuredLimits() async throws {
        let dir = TempDirectory()
        let configuration = HQConfiguration(
            port: 0, adminSecret: HQHarness.adminSecret, pushOperationsMax: 2, pullOperationsMax: 2, bodyBytesMax: 4096)
        try await HQHarness.withHQ(at: dir.path("hq.sqlite"), configuration: configuration) { hq in
            let credentials = try hq.server.registry.add(name: "floor-1")
            let headers = Self.device(credentials)
            let three = (1...3).map { Self.operation("dev0", UInt64($0)) }

            let tooMany = try await hq.request(
                "POST", "/v1/push", body: try Self.body(PushRequest(replica: "dev0", operations: three)),
                headers: headers)
            #expect(tooMany.status == 413)
            #expect(try JSONDecoder().decode(ErrorResponse.self, from: tooMany.body).error.code == "batch_too_large")

            let big =
                Data(repeating: UInt8(ascii: " "), count: 5000) + (try Self.body(PullRequest(vector: VersionVector())))
            let tooBig = try await hq.request("POST", "/v1/pull", body: big, headers: headers)
            #expect(tooBig.status == 413)
            #expect(try JSONDecoder().decode(ErrorResponse.self, from: tooBig.body).error.code == "batch_too_large")

            for batch in [Array(three[0..<2]), [three[2]]] {
                let push = try Self.body(PushRequest(replica: "dev0", operations: batch))
                #expect(try await hq.request("POST", "/v1/push", body: push, headers: headers).status == 200)
            }
            // A pull asking for more than HQ's page size gets HQ's page size.
            let pull = try await hq.request(
                "POST", "/v1/pull", body: try Self.body(PullRequest(vector: VersionVector(), limit: 100)),
                headers: headers)
            let page = try JSONDecoder().decode(PullResponse.self, from: pull.body)
            #expect(page.operations.map(\.id.counter) == [1, 2])
            #expect(page.more)
            #expect(hq.replica.operationCount == 3)
        }
    }

    @Test func adminEndpointsAreClosedWithoutAnAdminSecret() async throws {
        let dir = TempDirectory()
        try await HQHarness.withHQ(at: dir.path("hq.sqlite"), configuration: HQConfiguration(port: 0)) { hq in
            for secret in ["", HQHarness.adminSecret, "anything"] {
                let headers = Self.protocolHeader.merging(["Authorization": "Bearer \(secret)"]) { $1 }
                let answer = try await hq.request("GET", "/v1/devices", headers: headers)
                #expect(answer.status == 401)
                #expect(try JSONDecoder().decode(ErrorResponse.self, from: answer.body).error.code == "admin_required")
            }
        }
    }

    // MARK: Enrolment

    @Test func enrolmentOverHTTP() async throws {
        let dir = TempDirectory()
        try await HQHarness.withHQ(at: dir.path("hq.sqlite")) { hq in
            let answer = try await hq.request(
                "POST", "/v1/devices", body: Data(#"{"name":"floor-1"}"#.utf8), headers: Self.admin)
            #expect(answer.status == 201)
            let credentials = try JSONDecoder().decode(DeviceCredentials.self, from: answer.body)
            #expect(credentials.name == "floor-1" && credentials.deviceID.hasPrefix("dev-"))

            // The token is base64url (no padding) of {"device_id","hq","secret"}.
            #expect(!credentials.token.contains(where: { "+/=".contains($0) }))
            let token = try SyncSettings.decodeToken(credentials.token)
            #expect(token == EnrolmentToken(hq: hq.url, deviceID: credentials.deviceID, secret: credentials.secret))

            // HQ keeps a salted hash, never the secret.
            let row = try hq.replica.read { db in
                try Row.fetchOne(db, sql: "SELECT * FROM devices WHERE id = ?", arguments: [credentials.deviceID])
            }
            let stored = row.map { row in row.databaseValues.map(\.description).joined(separator: "|") } ?? ""
            #expect(!stored.isEmpty && !stored.contains(credentials.secret))

            // The credentials work for a real sync.
            let device = try Self.replica(dir, "dev0")
            try SyncSettings(hq: token.hq, deviceID: token.deviceID, secret: token.secret).save(to: device)
            let client = try SyncClient(
                replica: device, hq: token.hq ?? hq.url, deviceID: token.deviceID, secret: token.secret)
            try device.record(.addLocation(Location(code: "PLANT")))
            let report = try await client.sync()
            #expect(report.pushed == 1)
            #expect(try hq.replica.digest() == device.digest())
        }
    }

    // MARK: Resumption

    /// A kill after HQ stored a batch but before the client saved its progress: the next sync resends, HQ answers
    /// duplicate, and nothing is lost or doubled. A kill during pull: the next pull starts from the device's vector.
    @Test func aKilledSyncLosesNothing() async throws {
        let dir = TempDirectory()
        try await HQHarness.withHQ(at: dir.path("hq.sqlite")) { hq in
            let a = try Self.replica(dir, "dev0")
            let b = try Self.replica(dir, "dev1")
            let clientA = try hq.client(for: a, name: "floor-a", batch: 2)
            let clientB = try hq.client(for: b, name: "floor-b", batch: 2)
            for index in 1...5 { try a.record(.addLocation(Location(code: "L\(index)"))) }
            _ = try await clientA.sync()
            #expect(try SyncSettings.load(from: a).pushed == 5)

            // Killed after the first batch's progress was saved; HQ had already taken the rest.
            var settings = try SyncSettings.load(from: a)
            settings.pushed = 2
            try settings.save(to: a)
            try a.record(.addLocation(Location(code: "L6")))
            let resumed = try await clientA.sync()
            #expect(resumed.duplicates == 3 && resumed.pushed == 1)
            #expect(hq.replica.operationCount == 6)

            // B is killed after integrating the first pulled page: it resumes from its vector.
            let page = try hq.replica.operations(missingFrom: b.versionVector, limit: 2)
            _ = try b.integrate(page)
            let rest = try await clientB.sync()
            #expect(rest.pulled == 4)
            #expect(try b.digest() == hq.replica.digest())
        }
    }

    /// HQ restored from an older backup lacks operations the device already counted as pushed: the client
    /// realigns from HQ's vector (GET /v1/digest) and resends.
    @Test func clientRealignsWhenHQLacksEarlierOperations() async throws {
        let dir = TempDirectory()
        let device = try Self.replica(dir, "dev0")
        for index in 1...3 { try device.record(.addLocation(Location(code: "L\(index)"))) }
        try await HQHarness.withHQ(at: dir.path("hq-old.sqlite")) { hq in
            _ = try await hq.client(for: device, name: "floor-1").sync()
        }
        try await HQHarness.withHQ(at: dir.path("hq-new.sqlite")) { hq in
            let client = try hq.client(for: device, name: "floor-1")
            var settings = try SyncSettings.load(from: device)
            settings.pushed = 3
            try settings.save(to: device)
            try device.record(.addLocation(Location(code: "L4")))
            let report = try await client.sync()
            #expect(report.pushed == 4)
            #expect(hq.replica.versionVector == device.versionVector)
            #expect(try hq.replica.digest() == device.digest())
        }
    }

    // MARK: Known deviations from DESIGN.md / PROTOCOL.md (see PROTOCOL.md §16)

    /// Counter 0 is out of range: 422 invalid_operation (range checks run before the duplicate check).
    @Test func counterZeroIsInvalidOperation() async throws {
        let dir = TempDirectory()
        try await HQHarness.withHQ(at: dir.path("hq.sqlite")) { hq in
            let credentials = try hq.server.registry.add(name: "floor-1")
            var op = Self.operation("dev0", 1, context: VersionVector())
            op.id.counter = 0
            let answer = try await hq.request(
                "POST", "/v1/push", body: try Self.body(PushRequest(replica: "dev0", operations: [op])),
                headers: Self.device(credentials))
            let code = try JSONDecoder().decode(ErrorResponse.self, from: answer.body).error.code
            #expect(answer.status == 422 && code == "invalid_operation")

            #expect(hq.replica.operationCount == 0)
        }
    }

    /// HQ's own replica id belongs to HQ: a device must not author operations as `hq` (they would pass for HQ's
    /// own, e.g. conflict acknowledgements an operator made).
    @Test func aDeviceCannotPushAsHQ() async throws {
        let dir = TempDirectory()
        try await HQHarness.withHQ(at: dir.path("hq.sqlite")) { hq in
            let credentials = try hq.server.registry.add(name: "floor-1")
            let push = try Self.body(
                PushRequest(replica: hq.replica.id, operations: [Self.operation(hq.replica.id, 1)]))
            let answer = try await hq.request("POST", "/v1/push", body: push, headers: Self.device(credentials))
            #expect(answer.status == 403)
            #expect(hq.replica.operationCount == 0)

        }
    }

    /// "Bad input changes nothing": a refused first push should not bind the device to the replica it named.
    @Test func aRefusedFirstPushDoesNotBind() async throws {
        let dir = TempDirectory()
        try await HQHarness.withHQ(at: dir.path("hq.sqlite")) { hq in
            let credentials = try hq.server.registry.add(name: "floor-1")
            let headers = Self.device(credentials)
            let typo = try Self.body(PushRequest(replica: "dve0", operations: [Self.operation("dve0", 2)]))
            #expect(try await hq.request("POST", "/v1/push", body: typo, headers: headers).status == 409)
            let right = try Self.body(PushRequest(replica: "dev0", operations: [Self.operation("dev0", 1)]))
            let answer = try await hq.request("POST", "/v1/push", body: right, headers: headers)
            #expect(answer.status == 200)

        }
    }

    /// Lag counts what HQ holds beyond the acknowledged vector, replica by replica, so a device that reports its
    /// own unpushed work does not hide what it lacks.
    @Test func lagCountsPerReplica() async throws {
        let dir = TempDirectory()
        try await HQHarness.withHQ(at: dir.path("hq.sqlite")) { hq in
            let first = try hq.server.registry.add(name: "floor-1")
            let second = try hq.server.registry.add(name: "floor-2")
            let push = try Self.body(
                PushRequest(replica: "dev0", operations: (1...3).map { Self.operation("dev0", UInt64($0)) }))
            #expect(try await hq.request("POST", "/v1/push", body: push, headers: Self.device(first)).status == 200)
            // floor-2 holds 5 operations of its own that it has not pushed yet, and none of dev0's.
            let pull = try Self.body(PullRequest(vector: VersionVector(["dev1": 5]), limit: 1))
            #expect(try await hq.request("POST", "/v1/pull", body: pull, headers: Self.device(second)).status == 200)
            let lag = try await Self.devices(hq).first { $0.deviceID == second.deviceID }?.lag
            #expect(lag == 3)

        }
    }
}
