import Foundation
import ShopfloorDomain
import ShopfloorHQ
import ShopfloorReplication
import ShopfloorStore
import Testing

/// Regression tests for what fuzzing HQ on loopback found (issue 12), each against a real HQ on 127.0.0.1.
@Suite struct HardeningTests {
    typealias Errors = HQErrorTests

    /// First pushes from several devices as one replica raced: the binding was checked and set outside the store's
    /// transaction, so a push answered with 500 could have stored its operations, and two devices could write as one
    /// replica. Now exactly one device wins, the others get 403 `foreign_author`, and nothing else is stored.
    @Test func concurrentFirstPushesAsOneReplicaBindExactlyOneDevice() async throws {
        for round in 0..<8 {
            let dir = TempDirectory()
            try await HQHarness.withHQ(at: dir.path("hq.sqlite")) { hq in
                let devices = try (0..<6).map { try hq.server.registry.add(name: "floor-\($0)") }
                let statuses = try await withThrowingTaskGroup(of: (String, Int).self) { group in
                    for (index, device) in devices.enumerated() {
                        // Each device offers different content for the same operation id.
                        let op = Errors.operation("shared", 1, code: "L\(index)")
                        let body = try Errors.body(PushRequest(replica: "shared", operations: [op]))
                        group.addTask {
                            let answer = try await hq.request(
                                "POST", "/v1/push", body: body, headers: Errors.device(device))
                            return (device.deviceID, answer.status)
                        }
                    }
                    return try await group.reduce(into: [String: Int]()) { $0[$1.0] = $1.1 }
                }
                #expect(statuses.values.filter { $0 == 200 }.count == 1, "round \(round): \(statuses)")
                #expect(statuses.values.allSatisfy { $0 == 200 || $0 == 403 }, "round \(round): \(statuses)")
                let winner = try #require(statuses.first { $0.value == 200 }?.key)
                let listed = try await Errors.devices(hq)
                #expect(listed.filter { $0.replica == "shared" }.map(\.deviceID) == [winner])
                #expect(hq.replica.versionVector["shared"] == 1)
                #expect(listed.first { $0.deviceID == winner }?.pushed == 1)
            }
        }
    }

    /// The boundary's refusals name the field (issue 12: HQ accepted non-canonical amounts, `null` fields, `6.0`
    /// lamports and `schema: 0`, and answered "not JSON" for integers past 2^64).
    @Test func boundaryRefusalsNameTheField() async throws {
        let dir = TempDirectory()
        try await HQHarness.withHQ(at: dir.path("hq.sqlite")) { hq in
            let credentials = try hq.server.registry.add(name: "floor-1")
            let headers = Errors.device(credentials)
            func message(_ path: String, _ body: String) async throws -> (Int, String) {
                let answer = try await hq.request("POST", path, body: Data(body.utf8), headers: headers)
                let error = try JSONDecoder().decode(ErrorResponse.self, from: answer.body)
                return (answer.status, error.results?.first?.message ?? error.error.message)
            }
            let digest = try hq.replica.digest()
            func push(_ payload: String, kind: String = "stock.adjust", schema: Int = 1) throws -> String {
                var op = Errors.operation("dev0", 1)
                op.kind = kind
                op.payload = payload
                op.schema = schema
                return String(decoding: try Errors.body(PushRequest(replica: "dev0", operations: [op])), as: UTF8.self)
            }
            let cases: [(String, String, Int, String)] = [
                ("/v1/push", try push(#"{"location":"PLANT","quantity":"2.50","sku":"STEEL"}"#), 422, "quantity"),
                ("/v1/push", try push(#"{"location":"PLANT","quantity":".5","sku":"STEEL"}"#), 422, "'0.5'"),
                (
                    "/v1/push", try push(#"{"location":"PLANT","quantity":"5","sku":"STEEL","unitCost":null}"#), 422,
                    "unitCost"
                ),
                ("/v1/push", try push(#"{"code":"PLANT","name":"","x":1}"#, kind: "location.add"), 422, "'x'"),
                (
                    "/v1/push",
                    try push(
                        #"{"code":"PLANT","name":"\#(String(repeating: "n", count: 201))"}"#,
                        kind: "location.add"), 422, "name"
                ),
                ("/v1/push", try push(#"{"code":"PLANT","name":""}"#, kind: "location.add", schema: 0), 422, "schema"),
                (
                    "/v1/push",
                    try push(#"{"code":"PLANT","name":""}"#, kind: "location.add")
                        .replacingOccurrences(of: #""lamport":1"#, with: #""lamport":6.0"#), 400, "operations.0.lamport"
                ),
                (
                    "/v1/push",
                    try push(#"{"code":"PLANT","name":""}"#, kind: "location.add")
                        .replacingOccurrences(of: #""counter":1"#, with: #""counter":18446744073709551616"#), 400,
                    "operations.0.id.counter"
                ),
                ("/v1/pull", #"{"after":-1,"vector":{}}"#, 400, "'after'"),
                ("/v1/pull", #"{"vector":{"dev0":9223372036854775808}}"#, 400, "vector.dev0"),
            ]
            for (path, body, status, field) in cases {
                let (got, text) = try await message(path, body)
                #expect(got == status, "\(body.prefix(120)): \(text)")
                #expect(text.contains(field), "\(body.prefix(120)): the message should name \(field): \(text)")
            }
            #expect(try hq.replica.digest() == digest)
            #expect(hq.replica.operationCount == 0)
            // Nothing above is shown as the device's acknowledged vector either.
            #expect(try await Errors.devices(hq).first?.acknowledged == VersionVector())
        }
    }

    /// A device refuses, before recording, what HQ's boundary would refuse: an operation it could never push would
    /// block its sync for good.
    @Test func aDeviceRefusesWhatHQsBoundsWouldRefuse() throws {
        let dir = TempDirectory()
        let device = try Errors.replica(dir, "dev0")
        let long = String(repeating: "n", count: Bounds.nameMax + 1)
        #expect(throws: ReplicaError.self) { try device.record(.addLocation(Location(code: "PLANT", name: long))) }
        #expect(throws: ReplicaError.self) {
            try device.record(.addLocation(Location(code: "PLANT", name: "red\u{1B}[31m")))
        }
        #expect(device.operationCount == 0)
        try device.record(.addLocation(Location(code: "PLANT", name: String(repeating: "n", count: Bounds.nameMax))))
        #expect(device.operationCount == 1)
    }

    /// Refused pushes keep a fingerprint, not their content (issue 12: 50 refused pushes of 1 MiB grew HQ by 50 MB).
    @Test func aRefusedPushKeepsAFingerprintNotItsContent() async throws {
        let dir = TempDirectory()
        try await HQHarness.withHQ(at: dir.path("hq.sqlite")) { hq in
            let credentials = try hq.server.registry.add(name: "floor-1")
            let headers = Errors.device(credentials)
            let first = try Errors.body(PushRequest(replica: "dev0", operations: [Errors.operation("dev0", 1)]))
            #expect(try await hq.request("POST", "/v1/push", body: first, headers: headers).status == 200)
            let name = String(repeating: "x", count: Bounds.nameMax)
            for _ in 0..<3 {
                let other = Errors.operation("dev0", 1, code: "OTHER")
                var big = other
                big.payload = #"{"code":"OTHER","name":"\#(name)"}"#
                let body = try Errors.body(PushRequest(replica: "dev0", operations: [big]))
                #expect(try await hq.request("POST", "/v1/push", body: body, headers: headers).status == 409)
            }
            let answer = try await hq.request("GET", "/v1/conflicts", headers: Errors.admin)
            let text = String(decoding: answer.body, as: UTF8.self)
            #expect(!text.contains(name))
            let list = try JSONDecoder().decode(Conformance.ConflictList.self, from: answer.body)
            #expect(list.boundary.count == 1)
            #expect(list.boundary.first?.count == 3)
            #expect(list.boundary.first?.fingerprint.count == 64)
        }
    }
}
