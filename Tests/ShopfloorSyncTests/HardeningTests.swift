import Foundation
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
}
