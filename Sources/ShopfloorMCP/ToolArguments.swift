import Foundation
import MCP
import ShopfloorDomain

/// A tool call's refusal, in domain words: it comes back as a tool result with `isError`, not as a protocol error,
/// so the agent reads why and can correct itself.
struct ToolRefusal: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) {
        self.description = description
    }
}

/// A tool's arguments, checked against its input schema's names and decoded into a request type with the field
/// names of the CLI's `--json`.
struct ToolArguments {
    let tool: Tool
    let values: [String: Value]

    init(_ tool: Tool, _ values: [String: Value]?) throws {
        self.tool = tool
        self.values = values ?? [:]
        let known = ToolCatalog.argumentNames(of: tool)
        if let unknown = self.values.keys.sorted().first(where: { !known.contains($0) }) {
            throw ToolRefusal(
                "\(tool.name) has no argument '\(unknown)'; it takes "
                    + (known.isEmpty ? "none" : known.sorted().joined(separator: ", ")))
        }
    }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: try JSONEncoder().encode(values))
        } catch let DecodingError.keyNotFound(key, _) {
            throw ToolRefusal("\(tool.name) needs the argument '\(key.stringValue)'")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            throw ToolRefusal("\(tool.name): \(Self.path(context)) has the wrong type: \(context.debugDescription)")
        } catch let DecodingError.dataCorrupted(context) {
            throw ToolRefusal("\(tool.name): \(Self.path(context)) is not valid: \(Self.reason(context))")
        } catch {
            throw ToolRefusal("\(tool.name): the arguments are not valid: \(error)")
        }
    }

    private static func path(_ context: DecodingError.Context) -> String {
        let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        return path.isEmpty ? "the arguments" : "'\(path.replacingOccurrences(of: ".[", with: "["))'"
    }

    private static func reason(_ context: DecodingError.Context) -> String {
        context.underlyingError.map { "\($0)" } ?? context.debugDescription
    }
}

struct NumberArguments: Decodable {
    var number: OrderNumber
}

struct ListOrdersArguments: Decodable {
    var status: OrderStatus?
    var kind: OrderKind?
    var location: String?
    var after: OrderNumber?
    var limit: Int?
}

struct SetCostArguments: Decodable {
    var number: OrderNumber
    var sku: SKU
    var unitCost: Amount

    enum CodingKeys: String, CodingKey {
        case number, sku
        case unitCost = "unit_cost"
    }
}

struct ReceiptArguments: Decodable {
    var number: OrderNumber
    var id: String?
    var date: String?
    var lines: [BOMLine]
    var consumed: [BOMLine]?
    var scrap: [BOMLine]?
    var loss: [BOMLine]?
}

struct TransferArguments: Decodable {
    var number: OrderNumber
    var from: String
    var lines: [BOMLine]?
}

struct VoidArguments: Decodable {
    var receipt: String
}

struct StockArguments: Decodable {
    var sku: SKU?
    var location: String?
}

struct LedgerArguments: Decodable {
    var ref: OrderNumber?
    var sku: SKU?
    var after: String?
    var limit: Int?
}

struct ExplodeArguments: Decodable {
    var sku: SKU
    var quantity: Amount?
    var levels: ExplosionLevels?
}

struct ConflictsArguments: Decodable {
    var all: Bool?
}

struct AcknowledgeArguments: Decodable {
    var id: String
    var note: String?
}
