import ShopfloorStore

/// Every projection row of a replica as text, to say precisely where two states differ.
struct ProjectionDump {
    var tables: [(String, [String])] = []

    init(_ replica: Replica) throws {
        tables = try replica.projectionRows()
    }

    /// The first differing rows of each table that differs, or nil when the dumps are equal.
    func difference(from other: ProjectionDump, _ name: String, _ otherName: String) -> String? {
        var parts: [String] = []
        for ((table, rows), (_, otherRows)) in zip(tables, other.tables) where rows != otherRows {
            let mine = Set(rows)
            let theirs = Set(otherRows)
            let only = rows.filter { !theirs.contains($0) }
            let otherOnly = otherRows.filter { !mine.contains($0) }
            var text = "\(table) (\(name) \(rows.count) rows, \(otherName) \(otherRows.count))"
            if let row = only.first { text += "; only in \(name): «\(Self.clip(row))»" }
            if let row = otherOnly.first { text += "; only in \(otherName): «\(Self.clip(row))»" }
            if only.isEmpty && otherOnly.isEmpty { text += "; same rows, different multiplicity" }
            parts.append(text)
        }
        return parts.isEmpty ? nil : parts.joined(separator: " / ")
    }

    static func clip(_ text: String, _ limit: Int = 300) -> String {
        text.count <= limit ? text : String(text.prefix(limit)) + "…"
    }
}
