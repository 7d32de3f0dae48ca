import Foundation
import ShopfloorDomain

/// Where two shops differ: the state held in memory and the state reloaded from the projection tables.
enum ShopComparison {
    /// The first index where two lists differ (the shorter one's length when one is a prefix of the other).
    static func firstDifference<T: Equatable>(_ a: [T], _ b: [T]) -> Int {
        let shared = min(a.count, b.count)
        return (0..<shared).first { a[$0] != b[$0] } ?? shared
    }

    static func differences(memory: Shop, disk: Shop) -> [String] {
        var found: [String] = []
        compare("items", memory.catalog.items, disk.catalog.items, &found)
        compare("locations", memory.catalog.locations, disk.catalog.locations, &found)
        compare("BOMs", memory.catalog.boms, disk.catalog.boms, &found)
        compare("orders", memory.orders, disk.orders, &found)
        compare("receipt index", memory.receiptOrders, disk.receiptOrders, &found)
        // A commitment entry (ORDER, DEMAND, ALLOCATE) makes the store write a zero valuation row for its key while
        // memory has none: the same value, since an absent valuation reads as zero everywhere.
        let zero = Valuation()
        compare(
            "valuations", memory.valuations.filter { $0.value != zero }, disk.valuations.filter { $0.value != zero },
            &found)
        compare("positions", memory.positions, disk.positions, &found)
        compare("acknowledgements", memory.acknowledgements, disk.acknowledgements, &found)
        compare("field writes", memory.fieldWrites, disk.fieldWrites, &found)
        compare(
            "order aliases", memory.orderAliases.mapValues { $0.sorted() }, disk.orderAliases.mapValues { $0.sorted() },
            &found)
        compare(
            "receipt aliases", memory.receiptAliases.mapValues { $0.sorted() },
            disk.receiptAliases.mapValues { $0.sorted() }, &found)
        // Both list conflicts in fold order (the store keeps each conflict's fold position).
        if memory.conflicts != disk.conflicts {
            let index = firstDifference(memory.conflicts, disk.conflicts)
            found.append(
                "conflicts: memory has \(memory.conflicts.count), disk \(disk.conflicts.count); first difference at "
                    + "\(index): memory \(describe(memory.conflicts.dropFirst(index).first)) vs disk "
                    + "\(describe(disk.conflicts.dropFirst(index).first))")
        }
        return found
    }

    private static func compare<Key: Hashable & Comparable, Value: Equatable>(
        _ name: String, _ memory: [Key: Value], _ disk: [Key: Value], _ found: inout [String]
    ) {
        guard memory != disk else { return }
        let keys = Set(memory.keys).union(disk.keys).sorted().filter { memory[$0] != disk[$0] }
        for key in keys.prefix(3) {
            found.append("\(name)[\(key)]: memory \(describe(memory[key])) vs disk \(describe(disk[key]))")
        }
        if keys.count > 3 { found.append("\(name): \(keys.count - 3) more keys differ") }
    }

    static func describe<T>(_ value: T?) -> String {
        guard let value else { return "absent" }
        if let encodable = value as? any Encodable {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            if let data = try? encoder.encode(encodable) {
                return ProjectionDump.clip(String(decoding: data, as: UTF8.self), 400)
            }
        }
        return ProjectionDump.clip(String(describing: value), 400)
    }
}
