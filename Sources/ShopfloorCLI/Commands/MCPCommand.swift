import ArgumentParser
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `shopfloor mcp [--read-only]`: an MCP server over stdio on this device's own replica, fully offline. What its
/// tools record are operations of this replica, synced by `shopfloor sync` like any other.
///
/// The server is the `shopfloor-mcp` executable beside this one, which this command replaces itself with (the
/// standard streams stay the agent's): the MCP SDK brings networking libraries that every other command would
/// otherwise load at start.
struct MCPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp",
        abstract: "Serve the MCP tools over stdio on this replica (for an agent on the device; works offline).",
        discussion: """
            Speaks JSON-RPC on standard input and output; logs go to standard error. Tools: list_orders, \
            show_order, create_order, enter_order, start_order, complete_order, cancel_order, set_cost, \
            transfer_order, add_receipt, void_receipt, stock, ledger, explode_bom, list_conflicts, ack_conflict, digest. \
            Orders are also resources, shopfloor://orders/{number}. Runs shopfloor-mcp, installed beside shopfloor.
            """)

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Offer only the tools that change nothing.")
    var readOnly = false

    func run() throws {
        let own = (Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0]))
            .resolvingSymlinksInPath()
        let server = own.deletingLastPathComponent().appendingPathComponent("shopfloor-mcp").path
        guard FileManager.default.isExecutableFile(atPath: server) else {
            throw CommandFailure(
                "the MCP server \(server) is not installed beside shopfloor: build it with `swift build --product "
                    + "shopfloor-mcp` and copy it next to shopfloor")
        }
        let arguments = [server, "--db", global.path] + (readOnly ? ["--read-only"] : [])
        var pointers = arguments.map { strdup($0) } + [nil]
        execv(server, &pointers)
        throw CommandFailure("cannot run \(server): \(String(cString: strerror(errno)))")
    }
}
