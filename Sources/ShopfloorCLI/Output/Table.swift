/// An aligned plain-text table: two spaces between columns, numbers right-aligned.
struct Table {
    enum Alignment {
        case left, right
    }

    struct Column {
        var header: String
        var alignment: Alignment

        static func left(_ header: String) -> Column { Column(header: header, alignment: .left) }
        static func right(_ header: String) -> Column { Column(header: header, alignment: .right) }
    }

    var columns: [Column]
    var rows: [[String]] = []

    init(_ columns: [Column]) {
        self.columns = columns
    }

    mutating func append(_ row: [String]) {
        precondition(row.count == columns.count, "a table row needs one cell per column")
        rows.append(row)
    }

    /// The header (unless `header` is false) and every row, without trailing spaces.
    func render(header: Bool = true) -> String {
        var widths = header ? columns.map(\.header.count) : columns.map { _ in 0 }
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        func format(_ cells: [String]) -> String {
            var parts: [String] = []
            for (index, cell) in cells.enumerated() {
                let padding = String(repeating: " ", count: widths[index] - cell.count)
                parts.append(columns[index].alignment == .right ? padding + cell : cell + padding)
            }
            var line = parts.joined(separator: "  ")
            while line.last == " " { line.removeLast() }
            return line
        }
        let lines = rows.map(format)
        return (header ? [format(columns.map(\.header))] + lines : lines).joined(separator: "\n")
    }
}
