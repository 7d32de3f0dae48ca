import ShopfloorDomain
import ShopfloorStore

/// `sku,kind,unit,name` rows → one item.add per row. An empty unit means "ea".
enum ItemImport {
    static let columns = ["sku", "kind", "unit", "name"]

    static func plan(_ records: [CSVRecord]) throws(ReplicaError) -> ImportPlan {
        var plan = ImportPlan()
        for row in try ImportPlan.dataRecords(records, columns: columns) {
            let sku = SKU(row.fields[0])
            let kind: ItemKind
            do {
                kind = try ArgumentValue.itemKind(row.fields[1])
            } catch {
                throw .importFailed(line: row.line, reason: "\(error)")
            }
            let unit = row.fields[2].isEmpty ? "ea" : row.fields[2]
            let item = Item(sku: sku, kind: kind, unit: unit, name: row.fields[3])
            plan.steps.append(ImportPlan.Step(command: .addItem(item), rows: [(row.line, sku)]))
        }
        return plan
    }
}
