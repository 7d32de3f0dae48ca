import Foundation
import ShopfloorDomain
import ShopfloorHQ
import ShopfloorStore
import Testing

/// `GET /metrics` in Prometheus's text format, protected like the admin endpoints.
@Suite struct MetricsTests {
    @Test func metricsShowRequestsIngestConflictsAndLag() async throws {
        HQMetrics.bootstrap()
        let dir = TempDirectory()
        try await HQHarness.withHQ(at: dir.path("hq.sqlite")) { hq in
            try seedCatalog(hq.replica)
            let first = try Replica.create(
                at: dir.path("a.sqlite"), name: "a", id: "devA", configuration: ReplicaConfiguration(durable: false))
            let second = try Replica.create(
                at: dir.path("b.sqlite"), name: "b", id: "devB", configuration: ReplicaConfiguration(durable: false))
            let (syncA, syncB) = (
                try hq.client(for: first, name: "tablet a"), try hq.client(for: second, name: "tablet b")
            )
            _ = try await syncA.sync()
            _ = try await syncB.sync()
            // Both devices choose WO-1 offline: a duplicate-number conflict once both have synced.
            for device in [first, second] {
                try device.record(
                    .createOrder(
                        CreateOrder(
                            number: "WO-1", kind: .work, location: "PLANT",
                            outputs: [OutputSpec(sku: "FRAME", quantity: 1)])))
            }
            _ = try await syncA.sync()
            _ = try await syncB.sync()
            // Device a has not pulled b's order: it lags by one operation.
            try hq.replica.record(.addLocation(Location(code: "STORE")))

            #expect(try await hq.request("GET", "/metrics", headers: [:]).status == 401)
            let writer = try hq.server.tokens.create(name: "agent", scope: .write).token
            #expect(
                try await hq.request("GET", "/metrics", headers: ["Authorization": "Bearer \(writer)"]).status == 403)
            let admin = try hq.server.tokens.create(name: "prometheus", scope: .admin).token
            #expect(
                try await hq.request("GET", "/metrics", headers: ["Authorization": "Bearer \(admin)"]).status == 200)
            let scraped = try await hq.request(
                "GET", "/metrics", headers: ["Authorization": "Bearer \(HQHarness.adminSecret)"])
            #expect(scraped.status == 200)
            let text = String(decoding: scraped.body, as: UTF8.self)
            let lines = text.split(separator: "\n").map(String.init)
            func value(_ prefix: String) -> Double? {
                lines.first { $0.hasPrefix(prefix) }.flatMap { $0.split(separator: " ").last }.flatMap { Double($0) }
            }
            #expect(
                value(#"hb_requests{http_route="/v1/push",http_request_method="POST",http_response_status_code="200"}"#)
                    ?? 0 >= 2)
            #expect(lines.contains { $0.hasPrefix(#"http_server_request_duration_bucket{http_route="/v1/pull""#) })
            // Other tests in this process push too: the counter is the process's.
            #expect(value("shopfloor_operations_ingested_total") ?? 0 >= 2)
            #expect(value(#"shopfloor_conflicts{kind="duplicate-number"}"#) == 1)
            #expect(value(#"shopfloor_conflicts_open{kind="duplicate-number"}"#) == 1)
            let deviceA = try #require(try hq.server.registry.list().first { $0.name == "tablet a" })
            #expect(
                value(#"shopfloor_device_lag_operations{device="\#(deviceA.deviceID)",name="tablet a"}"#)
                    == Double(deviceA.lag))
            #expect(deviceA.lag >= 2)
            #expect(value("shopfloor_operations ") == Double(hq.replica.operationCount))
        }
    }
}
