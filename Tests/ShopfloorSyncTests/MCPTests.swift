import Foundation
import MCP
import ShopfloorDomain
import ShopfloorHQ
import ShopfloorMCP
import ShopfloorStore
import Testing

/// The official MCP Python SDK (`mcp` on PyPI), which `tools/test` installs into `.venv/`: a client nobody here wrote.
enum MCPClient {
    /// `$SHOPFLOOR_MCP_PYTHON`, else the repository's `.venv/bin/python` when it has the SDK.
    static let python: String? = {
        if let given = ProcessInfo.processInfo.environment["SHOPFLOOR_MCP_PYTHON"], !given.isEmpty { return given }
        let venv = Binaries.packageRoot.appendingPathComponent(".venv")
        let sdk = try? FileManager.default.contentsOfDirectory(atPath: venv.appendingPathComponent("lib").path)
            .first.map { venv.appendingPathComponent("lib/\($0)/site-packages/mcp").path }
        guard let sdk, FileManager.default.fileExists(atPath: sdk) else { return nil }
        return venv.appendingPathComponent("bin/python").path
    }()

    static let script = Binaries.packageRoot.appendingPathComponent("Tests/mcp-client/drive.py").path

    /// Runs `Tests/mcp-client/drive.py` and returns the JSON line it prints of what it did.
    static func drive(_ arguments: [String], directory: String) async throws -> [String: Any] {
        let python = try #require(python, "no Python with the MCP SDK: run tools/test, which installs it")
        let run = try await ChildProcess.run(
            python, [script] + arguments, name: "mcp-client", directory: directory, timeout: 120)
        #expect(run.exit.status == 0, "the MCP client failed: \(run.stderr.suffix(3000))")
        let line = try #require(run.stdout.split(separator: "\n").last, "the MCP client printed nothing")
        return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    /// What drive.py expects: CHAIR = 4 LEG + 1 SEAT, with 100 LEG at 2.5 and 30 SEAT at 10 in PLANT.
    static func recordFixture(_ replica: Replica) throws {
        try replica.record(.addLocation(Location(code: "PLANT")))
        try replica.record(.addItem(Item(sku: "LEG", kind: .material)))
        try replica.record(.addItem(Item(sku: "SEAT", kind: .material)))
        try replica.record(.addItem(Item(sku: "CHAIR", kind: .product)))
        try replica.record(
            .setBOM(
                SetBOM(parent: "CHAIR", lines: [BOMLine(sku: "LEG", quantity: 4), BOMLine(sku: "SEAT", quantity: 1)])))
        try replica.record(
            .adjustStock(AdjustStock(sku: "LEG", location: "PLANT", quantity: 100, unitCost: amount("2.5"))))
        try replica.record(.adjustStock(AdjustStock(sku: "SEAT", location: "PLANT", quantity: 30, unitCost: 10)))
    }
}

@Suite(.enabled(if: MCPClient.python != nil, "needs the MCP Python SDK in .venv (tools/test installs it)"))
struct MCPTests {
    /// HQ's `/mcp` over real HTTP with API tokens: an agent drives an order, and a device that syncs receives it.
    @Test func anAgentDrivesHQOverStreamableHTTP() async throws {
        let dir = TempDirectory()
        try await HQHarness.withHQ(at: dir.path("hq.sqlite")) { hq in
            try MCPClient.recordFixture(hq.replica)
            let writer = try hq.server.tokens.create(name: "agent", scope: .write).token
            let reader = try hq.server.tokens.create(name: "board", scope: .read).token

            let did = try await MCPClient.drive(["http", hq.url + "/mcp", writer], directory: dir.path(""))
            let number = try #require(did["order"] as? String)
            #expect(number.hasPrefix("PO-hq-"))
            #expect(did["digest"] as? String == (try hq.replica.digest()))
            let order = try #require(try hq.replica.orderDetail(OrderNumber(number)))
            #expect(order.status == "Production")
            #expect(order.receipts.map(\.id) == [did["receipt"] as? String])

            // A read token gets the read tools only, and its write attempt changes nothing.
            let before = hq.replica.operationCount
            let read = try await MCPClient.drive(
                ["http", hq.url + "/mcp", reader, "--read-only"], directory: dir.path(""))
            #expect(read["digest"] as? String == did["digest"] as? String)
            #expect(hq.replica.operationCount == before)

            // What the agent recorded is an operation of HQ's replica: a device receives it on its next sync.
            let device = try Replica.create(
                at: dir.path("d.sqlite"), name: "d", id: "dev0", configuration: ReplicaConfiguration(durable: false))
            _ = try await hq.client(for: device, name: "floor").sync()
            #expect(try device.orderDetail(OrderNumber(number))?.receipts.count == 1)
            #expect(try device.digest() == hq.replica.digest())
        }
    }

    /// `/mcp` needs an API token: none, a wrong one, or a device's credentials are refused before any MCP is spoken.
    @Test func mcpAtHQNeedsAnAPIToken() async throws {
        let dir = TempDirectory()
        try await HQHarness.withHQ(at: dir.path("hq.sqlite")) { hq in
            let list = Data(#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#.utf8)
            let mcp = ["Content-Type": "application/json", "Accept": "application/json, text/event-stream"]
            #expect(try await hq.request("POST", "/mcp", body: list, headers: mcp).status == 401)
            let device = try hq.server.registry.add(name: "tablet", hq: hq.url)
            let basic = mcp.merging(["Authorization": HQHarness.basic(device.deviceID, device.secret)]) { $1 }
            #expect(try await hq.request("POST", "/mcp", body: list, headers: basic).status == 401)

            let token = try hq.server.tokens.create(name: "agent", scope: .read).token
            let bearer = mcp.merging(["Authorization": "Bearer \(token)"]) { $1 }
            let answer = try await hq.request("POST", "/mcp", body: list, headers: bearer)
            #expect(answer.status == 200)
            let tools = try #require(
                ((try JSONSerialization.jsonObject(with: answer.body) as? [String: Any])?["result"] as? [String: Any])?[
                    "tools"] as? [[String: Any]])
            #expect(
                Set(tools.compactMap { $0["name"] as? String }) == Set(ToolCatalog.tools(readOnly: true).map(\.name)))
            // A browser page from another origin is refused (DNS rebinding).
            let browser = bearer.merging(["Origin": "http://evil.example"]) { $1 }
            #expect(try await hq.request("POST", "/mcp", body: list, headers: browser).status == 403)
            // Streamable HTTP, stateless: no GET stream.
            #expect(try await hq.request("GET", "/mcp", headers: bearer).status == 405)
        }
    }

    /// `shopfloor mcp` over stdio on a device's own replica, with no HQ at all; what it recorded syncs afterwards.
    @Test func anAgentOnTheFloorDrivesTheDeviceOverStdio() async throws {
        let dir = TempDirectory()
        let path = dir.path("floor.sqlite")
        let device = try Replica.create(at: path, name: "floor", id: "dev1", configuration: ReplicaConfiguration())
        try MCPClient.recordFixture(device)
        let shopfloor = try Binaries.require(Binaries.shopfloor)

        let did = try await MCPClient.drive(["stdio", path, shopfloor], directory: dir.path(""))
        let number = try #require(did["order"] as? String)
        #expect(number.hasPrefix("PO-dev1-"))
        let reopened = try Replica.open(at: path, configuration: ReplicaConfiguration())
        #expect(did["digest"] as? String == (try reopened.digest()))
        #expect(try reopened.orderDetail(OrderNumber(number))?.receipts.count == 1)
        let read = try await MCPClient.drive(["stdio", path, shopfloor, "--read-only"], directory: dir.path(""))
        #expect(read["digest"] as? String == did["digest"] as? String)

        try await HQHarness.withHQ(at: dir.path("hq.sqlite")) { hq in
            _ = try await hq.client(for: reopened, name: "floor").sync()
            #expect(try hq.replica.orderDetail(OrderNumber(number))?.receipts.count == 1)
            #expect(try hq.replica.digest() == reopened.digest())
        }
    }

    /// The tools' schemas are the REST API's: every `$defs` entry equals the OpenAPI component of that name (with
    /// references rewritten), so the generated catalog cannot drift from the document.
    @Test func toolSchemasAreTheAPIDocumentsComponents() throws {
        let document = Binaries.packageRoot.appendingPathComponent("SyncProtocol/api.openapi.json")
        let api = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: document)) as? [String: Any])
        let components = try #require((api["components"] as? [String: Any])?["schemas"] as? [String: Any])
        func rewritten(_ value: Any) -> Any {
            switch value {
            case let object as [String: Any]:
                var out: [String: Any] = [:]
                for (key, inner) in object where key != "examples" && key != "example" {
                    if key == "$ref", let text = inner as? String {
                        out[key] = text.replacingOccurrences(of: "#/components/schemas/", with: "#/$defs/")
                    } else {
                        out[key] = rewritten(inner)
                    }
                }
                return out
            case let array as [Any]: return array.map(rewritten)
            default: return value
            }
        }
        let encoder = JSONEncoder()
        for tool in ToolCatalog.all {
            for schema in [tool.inputSchema, tool.outputSchema].compactMap({ $0 }) {
                let json = try #require(
                    try JSONSerialization.jsonObject(with: encoder.encode(schema)) as? [String: Any])
                #expect(json["type"] as? String == "object", "\(tool.name)")
                for (name, definition) in json["$defs"] as? [String: Any] ?? [:] {
                    let component = try #require(components[name], "\(tool.name): $defs.\(name) is no component")
                    #expect(
                        NSDictionary(dictionary: definition as? [String: Any] ?? [:])
                            .isEqual(to: rewritten(component) as? [String: Any] ?? [:]),
                        "\(tool.name): $defs.\(name) differs from the OpenAPI document; run tools/mcp-schemas")
                }
            }
        }
        #expect(ToolCatalog.all.count == 17)
        #expect(
            ToolCatalog.tools(readOnly: true).map(\.name).sorted() == [
                "digest", "explode_bom", "ledger", "list_conflicts", "list_orders", "show_order", "stock",
            ])
    }
}
