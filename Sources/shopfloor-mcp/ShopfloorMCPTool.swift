import ArgumentParser
import Foundation
import Logging
import MCP
import ShopfloorMCP
import ShopfloorReplication
import ShopfloorStore

/// The MCP server of a floor device over stdio: what `shopfloor mcp` runs (see `MCPCommand`).
@main
struct ShopfloorMCPTool: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shopfloor-mcp",
        abstract: "The MCP tools over stdio on a replica (run as `shopfloor mcp`); logs go to standard error.")

    @Option(help: "The replica's SQLite file.")
    var db: String

    @Flag(help: "Offer only the tools that change nothing.")
    var readOnly = false

    func run() async throws {
        let level =
            ProcessInfo.processInfo.environment["SHOPFLOOR_LOG_LEVEL"].flatMap {
                Logger.Level(rawValue: $0.lowercased())
            }
            ?? .warning
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "shopfloor.mcp")
        let replica = try Replica.open(at: db, configuration: ReplicaConfiguration(logger: logger))
        let tools = ShopfloorTools(host: LocalToolHost(replica: replica), readOnly: readOnly, logger: logger)
        let server = await ShopfloorMCPServer.make(name: "shopfloor", version: "\(Wire.protocolVersion)", tools: tools)
        try await server.start(transport: StdioTransport(logger: logger))
        await server.waitUntilCompleted()
    }
}
