import ShopfloorDomain
import ShopfloorStore

/// The commands a CSV file turns into, each with the CSV lines it came from.
struct ImportPlan {
    struct Step {
        var command: Command
        /// (line, SKU) of each row behind the command; the SKU is the row's item or BOM child.
        var rows: [(line: Int, sku: SKU)]
    }

    var steps: [Step] = []

    var commands: [Command] { steps.map(\.command) }

    /// The line to blame for `error` on `step`: the row naming the SKU the error is about, else the first row.
    func line(for error: DomainError, in step: Step) -> Int {
        switch error {
        case .unknownItem(let sku):
            return step.rows.first { $0.sku == sku }?.line ?? step.rows[0].line
        case .duplicateBOMLine(_, let sku):
            return step.rows.last { $0.sku == sku }?.line ?? step.rows[0].line
        case .bomCycle(let loop) where loop.count > 1:
            // The loop starts at this BOM's parent; its second element is the child row that closes it.
            return step.rows.first { $0.sku == loop[1] }?.line ?? step.rows[0].line
        default:
            return step.rows[0].line
        }
    }

    /// Applies every command in order to a copy of `shop`; the first refusal is reported with its CSV line.
    func validate(against shop: Shop, date: String) throws(ReplicaError) {
        var scratch = shop
        let context = ApplyContext(date: date)
        for step in steps {
            do {
                try scratch.apply(step.command, context: context)
            } catch {
                throw .importFailed(line: line(for: error, in: step), reason: error.description)
            }
        }
    }

    /// Checks the header row against `columns` and returns the data rows.
    static func dataRecords(_ records: [CSVRecord], columns: [String]) throws(ReplicaError) -> [CSVRecord] {
        guard let header = records.first else {
            throw .importFailed(line: 1, reason: "empty file: expected the header \(columns.joined(separator: ","))")
        }
        guard header.fields.map({ $0.lowercased() }) == columns else {
            throw .importFailed(
                line: header.line,
                reason:
                    "expected the header \(columns.joined(separator: ",")), got \(header.fields.joined(separator: ","))"
            )
        }
        let rows = records.dropFirst()
        for row in rows where row.fields.count != columns.count {
            throw .importFailed(
                line: row.line,
                reason: "expected \(columns.count) columns (\(columns.joined(separator: ","))), got \(row.fields.count)"
            )
        }
        return Array(rows)
    }
}
