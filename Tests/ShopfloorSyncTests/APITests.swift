import Foundation
import ShopfloorDomain
import ShopfloorHQ
import ShopfloorStore
import Testing

/// The REST API (`/api/v1`) against a real HQ on 127.0.0.1 over HTTP, with real API tokens.
@Suite struct APITests {
    /// A JSON object from a response body.
    static func object(_ data: Data) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    static func errorCode(_ data: Data) throws -> String? {
        (try object(data)["error"] as? [String: Any])?["code"] as? String
    }

    static func bearer(_ token: String, _ extra: [String: String] = [:]) -> [String: String] {
        extra.merging(["Authorization": "Bearer \(token)", "Content-Type": "application/json"]) { $1 }
    }

    @Test func tokensAreHashedScopedAndRevocable() async throws {
        let dir = TempDirectory()
        try await HQHarness.withHQ(at: dir.path("hq.sqlite")) { hq in
            let reader = try hq.server.tokens.create(name: "planner board", scope: .read)
            let writer = try hq.server.tokens.create(name: "agent", scope: .write)
            #expect(reader.token.hasPrefix("sft_"))
            // Only the hash is stored: the token's text appears nowhere in the file's token table.
            let stored = try hq.replica.read { db in
                try String.fetchAll(db, sql: "SELECT id || name || scope || secret_hash FROM api_tokens")
            }
            #expect(stored.count == 2)
            #expect(!stored.contains { $0.contains(reader.token.split(separator: "_").last!) })

            let none = try await hq.api("GET", "/api/v1/items", headers: [:])
            #expect(none.status == 401)
            #expect(try Self.errorCode(none.body) == "unauthorized")
            let wrong = try await hq.api("GET", "/api/v1/items", headers: Self.bearer(reader.token + "x"))
            #expect(wrong.status == 401)
            #expect(try await hq.api("GET", "/api/v1/items", headers: Self.bearer(reader.token)).status == 200)

            // A read token cannot write; nothing is recorded.
            let before = hq.replica.operationCount
            let item = Data(#"{"sku":"BOLT","kind":"material","unit":"ea","name":""}"#.utf8)
            let refused = try await hq.api(
                "POST", "/api/v1/items", body: item, headers: Self.bearer(reader.token))
            #expect(refused.status == 403)
            #expect(try Self.errorCode(refused.body) == "forbidden")
            #expect(hq.replica.operationCount == before)
            let created = try await hq.api("POST", "/api/v1/items", body: item, headers: Self.bearer(writer.token))
            #expect(created.status == 201)
            #expect(try Self.object(created.body)["sku"] as? String == "BOLT")

            // Only admin tokens manage tokens, over HTTP too.
            #expect(try await hq.api("GET", "/api/v1/tokens", headers: Self.bearer(writer.token)).status == 403)
            let admin = try hq.server.tokens.create(name: "ops", scope: .admin)
            let listed = try await hq.api("GET", "/api/v1/tokens", headers: Self.bearer(admin.token))
            #expect(listed.status == 200)
            #expect(!String(decoding: listed.body, as: UTF8.self).contains(writer.token))
            let revoked = try await hq.api(
                "DELETE", "/api/v1/tokens/\(writer.info.id)", headers: Self.bearer(admin.token))
            #expect(revoked.status == 204)
            #expect(try await hq.api("GET", "/api/v1/items", headers: Self.bearer(writer.token)).status == 401)

            #expect(throws: HQError.self) {
                try hq.server.tokens.create(name: "old", scope: .read, expires: "2001-01-01")
            }
        }
    }

    /// A planner drives a production order through the API; HQ authors the operations, and a device that syncs
    /// receives them and ends with HQ's digest.
    @Test func aPlannerDrivesAnOrderAndADeviceReceivesIt() async throws {
        let dir = TempDirectory()
        try await HQHarness.withHQ(at: dir.path("hq.sqlite")) { hq in
            try seedCatalog(hq.replica)
            let token = try hq.server.tokens.create(name: "planner", scope: .write).token
            let order = Data(
                #"{"number":"PO-API-1","kind":"production","location":"PLANT","outputs":[{"sku":"CHAIR","quantity":"10","unit_cost":"12.50"}]}"#
                    .utf8)
            let created = try await hq.api("POST", "/api/v1/orders", body: order, headers: Self.bearer(token))
            #expect(created.status == 201)
            #expect(try Self.object(created.body)["status"] as? String == "Draft")
            for (action, status) in [("enter", "Entered"), ("start", "Production")] {
                let answer = try await hq.api(
                    "POST", "/api/v1/orders/PO-API-1/\(action)", headers: Self.bearer(token))
                #expect(answer.status == 200)
                #expect(try Self.object(answer.body)["status"] as? String == status)
            }
            let receipt = Data(#"{"id":"RC-API-1","lines":[{"sku":"CHAIR","quantity":"4"}]}"#.utf8)
            let received = try await hq.api(
                "POST", "/api/v1/orders/PO-API-1/receipts", body: receipt, headers: Self.bearer(token))
            #expect(received.status == 201)
            #expect(try Self.object(received.body)["id"] as? String == "RC-API-1")

            let shown = try Self.object(
                try await hq.api("GET", "/api/v1/orders/PO-API-1", headers: Self.bearer(token)).body)
            let lines = try #require(shown["lines"] as? [[String: Any]])
            #expect(lines.first?["produced"] as? String == "4")

            let device = try Replica.create(
                at: dir.path("d.sqlite"), name: "d", id: "dev0", configuration: ReplicaConfiguration(durable: false))
            _ = try await hq.client(for: device, name: "floor").sync()
            #expect(try device.orderDetail("PO-API-1")?.receipts.map(\.id) == ["RC-API-1"])
            #expect(try device.digest() == hq.replica.digest())
            let digest = try Self.object(
                try await hq.api("GET", "/api/v1/digest", headers: Self.bearer(token)).body)
            #expect(digest["digest"] as? String == (try hq.replica.digest()))
        }
    }

    /// The whole loop: a planner creates and starts a production order through the API; a floor device syncs, then
    /// receives against it while offline; it syncs again; the receipt, its CONSUME and PRODUCE entries and the
    /// order's new status show through the API, and every replica has one digest.
    @Test func aFloorReceiptOnAPlannersOrderShowsThroughTheAPI() async throws {
        let dir = TempDirectory()
        try await HQHarness.withHQ(at: dir.path("hq.sqlite")) { hq in
            try seedCatalog(hq.replica)
            let token = try hq.server.tokens.create(name: "planner", scope: .write).token
            let order =
                #"{"kind":"production","location":"PLANT","outputs":[{"sku":"CHAIR","quantity":"3","unit_cost":"12.50"}]}"#
            let created = try Self.object(
                try await hq.api("POST", "/api/v1/orders", body: Data(order.utf8), headers: Self.bearer(token)).body)
            let number = try #require(created["number"] as? String)
            for action in ["enter", "start"] {
                #expect(
                    try await hq.api("POST", "/api/v1/orders/\(number)/\(action)", headers: Self.bearer(token)).status
                        == 200)
            }

            let floor = try Replica.create(
                at: dir.path("floor.sqlite"), name: "floor", id: "dev7",
                configuration: ReplicaConfiguration(durable: false))
            let sync = try hq.client(for: floor, name: "floor tablet")
            _ = try await sync.sync()
            #expect(try floor.orderStatus(OrderNumber(number)) == .production)
            // Offline: the receipt is recorded on the device alone.
            let receipt = floor.nextReceiptID()
            try floor.record(
                .addReceipt(
                    AddReceipt(
                        order: OrderNumber(number), receipt: receipt, lines: [BOMLine(sku: "CHAIR", quantity: 3)])))
            #expect(try hq.replica.orderDetail(OrderNumber(number))?.receipts.isEmpty == true)
            _ = try await sync.sync()

            let shown = try Self.object(
                try await hq.api("GET", "/api/v1/orders/\(number)", headers: Self.bearer(token)).body)
            #expect(shown["status"] as? String == "Received")
            #expect((shown["receipts"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [receipt])
            let ledger = try Self.object(
                try await hq.api("GET", "/api/v1/ledger?ref=\(number)&limit=500", headers: Self.bearer(token)).body)
            let byDevice = (ledger["items"] as? [[String: Any]] ?? []).filter {
                ($0["operation"] as? String)?.hasPrefix("dev7:") == true
            }
            #expect(Set(byDevice.compactMap { $0["event"] as? String }) == ["CONSUME", "PRODUCE"])
            // A production order's inputs are raw materials: 3 chairs took 7.5 kg of steel, 18 bolts, 0.6 l of paint.
            let consumed = byDevice.filter { $0["event"] as? String == "CONSUME" }
                .map { "\($0["sku"] ?? "")=\($0["quantity"] ?? "")" }.sorted()
            #expect(consumed == ["BOLT=-18", "PAINT=-0.6", "STEEL=-7.5"])

            let digest = try Self.object(try await hq.api("GET", "/api/v1/digest", headers: Self.bearer(token)).body)
            #expect(digest["digest"] as? String == (try floor.digest()))
            let late = try Replica.create(
                at: dir.path("late.sqlite"), name: "late", id: "dev8",
                configuration: ReplicaConfiguration(durable: false))
            _ = try await hq.client(for: late, name: "late tablet").sync()
            #expect(try late.digest() == floor.digest())
        }
    }

    /// The two kinds of credential do not cross: a device's opens no REST resource, and an API token (even an
    /// admin one) pushes nothing.
    @Test func deviceCredentialsAndAPITokensDoNotCross() async throws {
        let dir = TempDirectory()
        try await HQHarness.withHQ(at: dir.path("hq.sqlite")) { hq in
            let device = try hq.server.registry.add(name: "tablet", hq: hq.url)
            let basic = ["Authorization": HQHarness.basic(device.deviceID, device.secret)]
            let refused = try await hq.api("GET", "/api/v1/items", headers: basic)
            #expect(refused.status == 401)
            #expect(try Self.errorCode(refused.body) == "unauthorized")

            let admin = try hq.server.tokens.create(name: "ops", scope: .admin).token
            let push = Data(#"{"device":"\#(device.deviceID)","operations":[]}"#.utf8)
            let pushed = try await hq.request(
                "POST", "/v1/push", body: push,
                headers: [
                    "Shopfloor-Protocol": "1", "Authorization": "Bearer \(admin)", "Content-Type": "application/json",
                ])
            #expect(pushed.status == 401)
            let pulled = try await hq.request(
                "POST", "/v1/pull", body: Data(#"{"after":0}"#.utf8),
                headers: [
                    "Shopfloor-Protocol": "1", "Authorization": "Bearer \(admin)", "Content-Type": "application/json",
                ])
            #expect(pulled.status == 401)
        }
    }

    /// The plant default over REST: PUT then GET; an order created without a basis takes it, a Make Transfer
    /// stages its inputs, and both show through the API.
    @Test func thePlantDefaultAndMakeTransferOverREST() async throws {
        let dir = TempDirectory()
        try await HQHarness.withHQ(at: dir.path("hq.sqlite")) { hq in
            try seedCatalog(hq.replica)
            try hq.replica.record(.addLocation(Location(code: "WIP")))
            let token = try hq.server.tokens.create(name: "planner", scope: .write).token
            let plant = try await hq.api(
                "PUT", "/api/v1/plant", body: Data(#"{"backflush":"transferred"}"#.utf8), headers: Self.bearer(token))
            #expect(plant.status == 200)
            #expect(
                try Self.object(try await hq.api("GET", "/api/v1/plant", headers: Self.bearer(token)).body)["backflush"]
                    as? String == "transferred")
            let order =
                #"{"number":"PO-W","kind":"production","location":"PLANT","wip":"WIP","outputs":[{"sku":"CHAIR","quantity":"2","unit_cost":"1"}]}"#
            let created = try Self.object(
                try await hq.api("POST", "/api/v1/orders", body: Data(order.utf8), headers: Self.bearer(token)).body)
            #expect(created["backflush"] as? String == "transferred")
            #expect(created["wip"] as? String == "WIP")
            _ = try await hq.api("POST", "/api/v1/orders/PO-W/enter", headers: Self.bearer(token))
            let moved = try await hq.api(
                "POST", "/api/v1/orders/PO-W/transfer", body: Data(#"{"from":"PLANT"}"#.utf8),
                headers: Self.bearer(token))
            #expect(moved.status == 200)
            let inputs = try #require(try Self.object(moved.body)["inputs"] as? [[String: Any]])
            #expect(inputs.allSatisfy { $0["transferred"] as? String == $0["required"] as? String })
            let again = try await hq.api(
                "POST", "/api/v1/orders/PO-W/transfer", body: Data(#"{"from":"PLANT"}"#.utf8),
                headers: Self.bearer(token))
            #expect(again.status == 422)
            #expect(try Self.errorCode(again.body) == "validation_failed")
        }
    }

    @Test func refusalsUseOneShapeWithDomainCodes() async throws {
        let dir = TempDirectory()
        try await HQHarness.withHQ(at: dir.path("hq.sqlite")) { hq in
            try seedCatalog(hq.replica)
            let token = try hq.server.tokens.create(name: "agent", scope: .write).token
            func post(_ path: String, _ body: String = "") async throws -> (Int, String?) {
                let answer = try await hq.api("POST", path, body: Data(body.utf8), headers: Self.bearer(token))
                return (answer.status, try Self.errorCode(answer.body))
            }
            let before = hq.replica.operationCount
            #expect(
                try await post("/api/v1/orders/NOPE/receipts", #"{"lines":[{"sku":"CHAIR","quantity":"1"}]}"#)
                    == (404, "not_found"))
            #expect(
                try await post("/api/v1/orders", #"{"location":"PLANT","outputs":[{"sku":"CHAIR","quantity":"1.5."}]}"#)
                    == (400, "malformed"))
            #expect(
                try await post("/api/v1/orders", #"{"location":"PLANT","outputs":[{"sku":"STEEL","quantity":"1"}]}"#)
                    == (422, "validation_failed"))
            #expect(hq.replica.operationCount == before)
            #expect(
                try await post(
                    "/api/v1/orders",
                    #"{"number":"WO-1","location":"PLANT","outputs":[{"sku":"FRAME","quantity":"2","unit_cost":"3"}]}"#
                ).0 == 201)
            #expect(try await post("/api/v1/orders/WO-1/start") == (409, "invalid_transition"))
            #expect(try await post("/api/v1/orders/WO-1/fly") == (404, "not_found"))
            _ = try await post("/api/v1/orders/WO-1/enter")
            _ = try await post("/api/v1/orders/WO-1/start")
            #expect(
                try await post("/api/v1/orders/WO-1/receipts", #"{"lines":[{"sku":"FRAME","quantity":"5"}]}"#)
                    == (422, "validation_failed"))
            _ = try await post("/api/v1/orders/WO-1/receipts", #"{"lines":[{"sku":"FRAME","quantity":"1"}]}"#)
            #expect(try await post("/api/v1/orders/WO-1/cancel") == (409, "invalid_transition"))
            let limit = try await hq.api("GET", "/api/v1/orders?limit=0", headers: Self.bearer(token))
            #expect(limit.status == 400)
        }
    }

    @Test func anIdempotencyKeyAnswersARetryWithTheFirstAnswer() async throws {
        let dir = TempDirectory()
        try await HQHarness.withHQ(at: dir.path("hq.sqlite")) { hq in
            try seedCatalog(hq.replica)
            let token = try hq.server.tokens.create(name: "agent", scope: .write).token
            for path in ["/api/v1/orders", "/api/v1/orders/WO-1/enter", "/api/v1/orders/WO-1/start"] {
                let body =
                    path.hasSuffix("orders")
                    ? #"{"number":"WO-1","location":"PLANT","outputs":[{"sku":"FRAME","quantity":"2","unit_cost":"3"}]}"#
                    : ""
                _ = try await hq.api("POST", path, body: Data(body.utf8), headers: Self.bearer(token))
            }
            let receipt = Data(#"{"lines":[{"sku":"FRAME","quantity":"1"}]}"#.utf8)
            let headers = Self.bearer(token, ["Idempotency-Key": "scan-0001"])
            let first = try await hq.api("POST", "/api/v1/orders/WO-1/receipts", body: receipt, headers: headers)
            let count = hq.replica.operationCount
            let retry = try await hq.api("POST", "/api/v1/orders/WO-1/receipts", body: receipt, headers: headers)
            #expect(first.status == 201)
            #expect(retry.status == 201)
            #expect(retry.body == first.body)
            #expect(hq.replica.operationCount == count)
            #expect(try hq.replica.orderDetail("WO-1")?.receipts.count == 1)
            let other = Data(#"{"lines":[{"sku":"FRAME","quantity":"2"}]}"#.utf8)
            let reused = try await hq.api("POST", "/api/v1/orders/WO-1/receipts", body: other, headers: headers)
            #expect(reused.status == 409)
            #expect(try Self.errorCode(reused.body) == "conflict")
            #expect(hq.replica.operationCount == count)
        }
    }

    @Test func ordersArePagedAndFiltered() async throws {
        let dir = TempDirectory()
        try await HQHarness.withHQ(at: dir.path("hq.sqlite")) { hq in
            try seedCatalog(hq.replica)
            let token = try hq.server.tokens.create(name: "board", scope: .write).token
            for number in ["WO-1", "WO-2", "WO-3"] {
                let body = #"{"number":"\#(number)","location":"PLANT","outputs":[{"sku":"FRAME","quantity":"1"}]}"#
                _ = try await hq.api("POST", "/api/v1/orders", body: Data(body.utf8), headers: Self.bearer(token))
            }
            _ = try await hq.api("POST", "/api/v1/orders/WO-2/enter", headers: Self.bearer(token))
            var numbers: [String] = []
            var after = ""
            while true {
                let page = try Self.object(
                    try await hq.api(
                        "GET", "/api/v1/orders?limit=2\(after.isEmpty ? "" : "&after=\(after)")",
                        headers: Self.bearer(token)
                    ).body)
                numbers += (page["items"] as? [[String: Any]] ?? []).compactMap { $0["number"] as? String }
                guard let next = page["next"] as? String else { break }
                after = next
            }
            #expect(numbers == ["WO-1", "WO-2", "WO-3"])
            let entered = try Self.object(
                try await hq.api("GET", "/api/v1/orders?status=entered", headers: Self.bearer(token)).body)
            #expect((entered["items"] as? [[String: Any]])?.compactMap { $0["number"] as? String } == ["WO-2"])
            let bad = try await hq.api("GET", "/api/v1/orders?status=flying", headers: Self.bearer(token))
            #expect(bad.status == 400)
        }
    }

    /// Stock, BOMs, costs, edits, voids, the ledger, conflicts and devices through the API.
    @Test func stockBOMsLedgerAndConflicts() async throws {
        let dir = TempDirectory()
        try await HQHarness.withHQ(at: dir.path("hq.sqlite")) { hq in
            try seedCatalog(hq.replica)
            try hq.replica.record(.addLocation(Location(code: "STORE")))
            let token = try hq.server.tokens.create(name: "agent", scope: .write).token
            func call(_ method: String, _ path: String, _ body: String = "") async throws -> (Int, Data) {
                let answer = try await hq.api(method, path, body: Data(body.utf8), headers: Self.bearer(token))
                return (answer.status, answer.body)
            }
            let purchase = try await call(
                "POST", "/api/v1/stock/adjustments",
                #"{"sku":"BOLT","location":"PLANT","quantity":"100","unit_cost":"0.40"}"#)
            #expect(purchase.0 == 201)
            let moved = try await call(
                "POST", "/api/v1/stock/transfers", #"{"sku":"BOLT","quantity":"30","from":"PLANT","to":"STORE"}"#)
            #expect(moved.0 == 201)
            let store = try hq.replica.positions(sku: "BOLT", location: "STORE")
            #expect(store.first?.onHand == amount("30"))
            #expect(
                try await call(
                    "POST", "/api/v1/stock/adjustments", #"{"sku":"BOLT","location":"PLANT","quantity":"0"}"#
                )
                .0 == 422)

            #expect(
                try await call(
                    "PUT", "/api/v1/boms/FRAME",
                    #"{"lines":[{"sku":"STEEL","quantity":"3"},{"sku":"BOLT","quantity":"4"}]}"#
                ).0 == 200)
            let bom = try Self.object(try await call("GET", "/api/v1/boms/FRAME").1)
            #expect(
                (bom["lines"] as? [[String: Any]])?.first { $0["sku"] as? String == "STEEL" }?["quantity"] as? String
                    == "3")
            let explosion = try Self.object(try await call("GET", "/api/v1/boms/CHAIR/explosion?qty=2&levels=full").1)
            let inputs = try #require(explosion["inputs"] as? [[String: Any]])
            #expect(inputs.first { $0["sku"] as? String == "STEEL" }?["quantity"] as? String == "6")
            #expect(try await call("GET", "/api/v1/boms/CHAIR/explosion?levels=some").0 == 400)
            #expect(try await call("PUT", "/api/v1/boms/STEEL", #"{"lines":[{"sku":"BOLT","quantity":"1"}]}"#).0 == 422)

            _ = try await call(
                "POST", "/api/v1/orders",
                #"{"number":"WO-9","location":"PLANT","outputs":[{"sku":"FRAME","quantity":"5"}]}"#)
            let costed = try Self.object(
                try await call("POST", "/api/v1/orders/WO-9/set-cost", #"{"sku":"FRAME","unit_cost":"7.25"}"#).1)
            #expect((costed["lines"] as? [[String: Any]])?.first?["unit_cost"] as? String == "7.25")
            let edited = try Self.object(
                try await call("POST", "/api/v1/orders/WO-9/edit", #"{"notes":"rush","due":"2026-12-24"}"#).1)
            #expect(edited["notes"] as? String == "rush")
            _ = try await call("POST", "/api/v1/orders/WO-9/enter")
            _ = try await call("POST", "/api/v1/orders/WO-9/start")
            _ = try await call(
                "POST", "/api/v1/orders/WO-9/receipts", #"{"id":"RC-9","lines":[{"sku":"FRAME","quantity":"2"}]}"#)
            let voided = try await call("POST", "/api/v1/receipts/RC-9/void")
            #expect(voided.0 == 200)
            #expect(try hq.replica.orderDetail("WO-9")?.receipts.first?.voided == true)
            #expect(try await call("POST", "/api/v1/receipts/RC-9/void").0 == 422)

            // The order's ledger, two entries a page, follows the cursor to the end.
            var entries: [[String: Any]] = []
            var after = ""
            while true {
                let page = try Self.object(
                    try await call("GET", "/api/v1/ledger?ref=WO-9&limit=2\(after.isEmpty ? "" : "&after=\(after)")").1)
                entries += page["items"] as? [[String: Any]] ?? []
                guard let next = page["next"] as? String else { break }
                after = next
            }
            #expect(entries.count == (try hq.replica.ledger(ref: "WO-9")).count)
            #expect(entries.count > 2)
            #expect(try await call("GET", "/api/v1/ledger?after=nonsense").0 == 400)

            // PLANT's BOLT went below zero with the receipt's consumption? Either way the list answers, and an ack of
            // an unknown conflict is refused.
            #expect(try await call("GET", "/api/v1/conflicts?all=true").0 == 200)
            #expect(try await call("POST", "/api/v1/conflicts/c-0000000000000000/ack", #"{"note":"seen"}"#).0 == 404)
            #expect(try await call("GET", "/api/v1/devices").0 == 200)
            let device = try Replica.create(
                at: dir.path("d.sqlite"), name: "d", id: "dev0", configuration: ReplicaConfiguration(durable: false))
            _ = try await hq.client(for: device, name: "floor").sync()
            #expect(try device.digest() == hq.replica.digest())
        }
    }
}
