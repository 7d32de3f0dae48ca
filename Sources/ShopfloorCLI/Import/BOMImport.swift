import ShopfloorDomain
import ShopfloorStore

/// `parent,child,quantity` rows → one bom.set per parent (in order of first appearance), lines in row order.
enum BOMImport {
    static let columns = ["parent", "child", "quantity"]

    static func plan(_ records: [CSVRecord]) throws(ReplicaError) -> ImportPlan {
        var plan = ImportPlan()
        var stepIndex: [SKU: Int] = [:]
        var lines: [[BOMLine]] = []
        var parents: [SKU] = []
        for row in try ImportPlan.dataRecords(records, columns: columns) {
            let (parent, child) = (SKU(row.fields[0]), SKU(row.fields[1]))
            let quantity: Amount
            do {
                quantity = try Amount(parsing: row.fields[2])
            } catch {
                throw .importFailed(line: row.line, reason: "quantity: \(error.description)")
            }
            let index: Int
            if let existing = stepIndex[parent] {
                index = existing
            } else {
                index = parents.count
                stepIndex[parent] = index
                parents.append(parent)
                lines.append([])
                plan.steps.append(ImportPlan.Step(command: .setBOM(SetBOM(parent: parent, lines: [])), rows: []))
            }
            lines[index].append(BOMLine(sku: child, quantity: quantity))
            plan.steps[index].rows.append((row.line, child))
        }
        for (index, parent) in parents.enumerated() {
            plan.steps[index].command = .setBOM(SetBOM(parent: parent, lines: lines[index]))
        }
        return plan
    }
}
