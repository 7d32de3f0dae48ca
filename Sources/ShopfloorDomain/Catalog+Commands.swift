/// The catalog's commands as ``Shop`` applies them: with rule 5 for concurrent definitions and BOM edits.
extension Catalog {
    mutating func addItem(
        _ item: Item, context: ApplyContext, policy: some ApplyPolicy, log: inout ConflictLog
    ) throws(DomainError) {
        if policy.keepsFirstDefinition, let existing = items[item.sku] {
            // Rule 5 for adds: the first definition in canonical order stays. A definition written by no operation
            // is named "" (``ApplyContext/operationText``), as conflicts have always stored it.
            let writer = log.fieldWrites[.item(sku: item.sku)]?.operation ?? ""
            if existing != item {
                log.flag(
                    .concurrentEdit, subject: item.sku.rawValue, context: context,
                    operations: [writer, context.operationText],
                    outcome: "kept the first definition (\(existing.kind.rawValue), \(existing.unit))",
                    explanation: "two devices added SKU \(item.sku): \(existing.kind.rawValue)/\(existing.unit) and "
                        + "\(item.kind.rawValue)/\(item.unit)")
            }
            return
        }
        try add(item)
        log.fieldWrites[.item(sku: item.sku)] = FieldWrite(operation: context.operationText, value: item.kind.rawValue)
    }

    mutating func addLocation(_ location: Location, policy: some ApplyPolicy) throws(DomainError) {
        if policy.keepsFirstDefinition, locations[location.code] != nil { return }
        try add(location)
    }

    mutating func setBOM(_ bom: SetBOM, context: ApplyContext, log: inout ConflictLog) throws(DomainError) {
        try setBOM(bom.parent, lines: bom.lines)
        let value = boms[bom.parent]!.map { "\($0.sku)=\($0.quantity)" }.joined(separator: " ")
        log.write(field: .bom(parent: bom.parent), value: value, subject: bom.parent.rawValue, context: context)
    }
}
