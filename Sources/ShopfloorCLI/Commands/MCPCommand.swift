import ArgumentParser
import Logging
import MCP
import ShopfloorMCP
import ShopfloorReplication
import ShopfloorStore

/// `shopfloor mcp [--read-only]`: an MCP server over stdio on this device's own replica, fully offline. What its
/// tools record are operations of this replica, synced by `shopfloor sync` like any other.
struct MCPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp",
        abstract: "Serve the MCP tools over stdio on this replica (for an agent on the device; works offline).",
        discussion: """
            Speaks JSON-RPC on standard input and output; logs go to standard error. Tools: list_orders, \
            show_order, create_order, enter_order, start_order, complete_order, cancel_order, set_cost, \
            transfer_order, add_receipt, void_receipt, stock, ledger, explode_bom, list_conflicts, ack_conflict, digest. \
            Orders are also resources, shopfloor://orders/{number}.
            """)

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Offer only the tools that change nothing.")
    var readOnly = false

    func run() throws {
        let logger = Logger(label: "shopfloor.mcp")
        let replica = try Replica.open(at: global.path, configuration: ReplicaConfiguration(logger: logger))
        let tools = ShopfloorTools(host: LocalToolHost(replica: replica), readOnly: readOnly, logger: logger)
        try blocking {
            let server = await ShopfloorMCPServer.make(
                name: "shopfloor", version: "\(Wire.protocolVersion)", tools: tools)
            try await server.start(transport: StdioTransport(logger: logger))
            await server.waitUntilCompleted()
        }
    }
}
