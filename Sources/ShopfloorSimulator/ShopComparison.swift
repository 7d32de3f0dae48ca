import Foundation
import ShopfloorDomain

/// Where two shops differ: the state held in memory and the state reloaded from the projection tables.
enum ShopComparison {
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
        // Memory lists conflicts in fold order; reloading lists them by (lamport, replica, counter), which is no
        // longer the fold order once HQ sequences operations. The digest sorts them, so compare them as a set.
        let memoryConflicts = memory.conflicts.sorted { $0.id < $1.id }
        let diskConflicts = disk.conflicts.sorted { $0.id < $1.id }
        if memoryConflicts != diskConflicts {
            let shared = min(memoryConflicts.count, diskConflicts.count)
            let index = (0..<shared).first { memoryConflicts[$0] != diskConflicts[$0] } ?? shared
            found.append(
                "conflicts: memory has \(memoryConflicts.count), disk \(diskConflicts.count); first difference (by id): "
                    + "memory \(describe(memoryConflicts.dropFirst(index).first)) vs disk "
                    + "\(describe(diskConflicts.dropFirst(index).first))")
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
