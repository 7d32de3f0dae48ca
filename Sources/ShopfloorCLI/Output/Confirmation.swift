import ShopfloorStore

/// What a write command prints: `recorded r7k2:12 order.create PO-r7k2-1`, or the same as JSON
/// (`{"operation": "r7k2:12", "kind": "order.create", "number": "PO-r7k2-1", "entries": 0}`).
struct Confirmation: Encodable {
    var operation: String
    var kind: String
    /// Ledger entries the operation wrote.
    var entries: Int
    /// The ids the operation is about, in display order (for example `number`, then `status`).
    var details: [(key: String, value: String)]

    init(_ recorded: Replica.Recorded, _ details: [(key: String, value: String)]) {
        operation = recorded.operation.id.description
        kind = recorded.operation.kind
        entries = recorded.entries.count
        self.details = details
    }

    var line: String {
        (["recorded", operation, kind] + details.map(\.value)).joined(separator: " ")
    }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(operation, forKey: Key(stringValue: "operation"))
        try container.encode(kind, forKey: Key(stringValue: "kind"))
        try container.encode(entries, forKey: Key(stringValue: "entries"))
        for (key, value) in details { try container.encode(value, forKey: Key(stringValue: key)) }
    }

    func print(_ output: Output) throws {
        try output.show(self) { line }
    }
}
