import Foundation
import MCP

/// The MCP tools Shopfloor offers, as `tools/list` shows them. Their schemas are the REST API's (see
/// `tools/mcp-schemas`, which writes ``json`` from the OpenAPI document).
public enum ToolCatalog {
    /// Every tool, decoded once from ``json``.
    public static let all: [Tool] = {
        struct Catalog: Decodable { var tools: [Tool] }
        do {
            return try JSONDecoder().decode(Catalog.self, from: Data(json.utf8)).tools
        } catch {
            preconditionFailure("ToolCatalog+Schemas.swift does not decode: \(error)")
        }
    }()

    /// The tools a server offers: in read-only mode, only those that change nothing.
    public static func tools(readOnly: Bool) -> [Tool] {
        readOnly ? all.filter { $0.annotations.readOnlyHint == true } : all
    }

    /// The argument names a tool's input schema declares.
    static func argumentNames(of tool: Tool) -> Set<String> {
        Set(tool.inputSchema.objectValue?["properties"]?.objectValue?.keys.map { $0 } ?? [])
    }
}
