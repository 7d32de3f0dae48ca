/// What an item is for.
public enum ItemKind: String, Sendable, Codable, CaseIterable {
    case material
    case component
    case product
}

/// A stock-keeping unit.
public struct Item: Sendable, Hashable, Codable {
    public var sku: SKU
    public var kind: ItemKind
    public var unit: String
    public var name: String

    public init(sku: SKU, kind: ItemKind, unit: String = "ea", name: String = "") {
        self.sku = sku
        self.kind = kind
        self.unit = unit
        self.name = name
    }
}

/// A warehouse or production site.
public struct Location: Sendable, Hashable, Codable {
    public var code: String
    public var name: String

    public init(code: String, name: String = "") {
        self.code = code
        self.name = name
    }
}

/// One line of a bill of materials, or one line of an explosion: a SKU and a quantity.
public struct BOMLine: Sendable, Hashable, Codable {
    public var sku: SKU
    public var quantity: Amount

    public init(sku: SKU, quantity: Amount) {
        self.sku = sku
        self.quantity = quantity
    }
}

/// Items, locations and bills of materials.
public struct Catalog: Sendable, Equatable {
    public internal(set) var items: [SKU: Item] = [:]
    public internal(set) var locations: [String: Location] = [:]
    /// Parent SKU → its direct components per one parent, sorted by SKU.
    public internal(set) var boms: [SKU: [BOMLine]] = [:]

    public init() {}

    static func validateCode(_ code: String, what: String) throws(DomainError) {
        // Most codes are ASCII: bytes then decide, without Unicode property tables or grapheme breaking.
        if code.utf8.allSatisfy({ $0 < 0x80 }) {
            let allowed = code.utf8.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                    || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || "-_./".utf8.contains(byte)
            }
            guard !code.isEmpty, code.utf8.count <= 64, allowed else { throw .invalidCode(what: what, code: code) }
            return
        }
        let allowed = code.unicodeScalars.allSatisfy { scalar in
            scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "-_./".unicodeScalars.contains(scalar)
        }
        guard !code.isEmpty, code.count <= 64, allowed else { throw .invalidCode(what: what, code: code) }
    }

    public func item(_ sku: SKU) throws(DomainError) -> Item {
        guard let item = items[sku] else { throw .unknownItem(sku) }
        return item
    }

    public func requireLocation(_ code: String) throws(DomainError) {
        guard locations[code] != nil else { throw .unknownLocation(code) }
    }

    public mutating func add(_ item: Item) throws(DomainError) {
        try Self.validateCode(item.sku.rawValue, what: "SKU")
        guard !item.unit.isEmpty else { throw .invalidCode(what: "unit of measure", code: item.unit) }
        guard items[item.sku] == nil else { throw .duplicateItem(item.sku) }
        items[item.sku] = item
    }

    public mutating func add(_ location: Location) throws(DomainError) {
        try Self.validateCode(location.code, what: "location code")
        guard locations[location.code] == nil else { throw .duplicateLocation(location.code) }
        locations[location.code] = location
    }

    /// Replaces the BOM of `parent`. Validates every line and refuses cycles, naming the loop.
    public mutating func setBOM(_ parent: SKU, lines: [BOMLine]) throws(DomainError) {
        let parentItem = try item(parent)
        guard parentItem.kind != .material else { throw .materialCannotHaveBOM(parent) }
        guard !lines.isEmpty else { throw .emptyBOM(parent) }
        var seen = Set<SKU>()
        for line in lines {
            guard line.sku != parent else { throw .bomListsItself(parent) }
            _ = try item(line.sku)
            guard line.quantity.isPositive else {
                throw .nonPositiveQuantity(context: "BOM of \(parent), line \(line.sku)", quantity: line.quantity)
            }
            guard seen.insert(line.sku).inserted else { throw .duplicateBOMLine(parent: parent, sku: line.sku) }
        }
        let sorted = lines.sorted { $0.sku < $1.sku }
        if let loop = cycle(through: parent, withChildren: sorted.map(\.sku)) {
            throw .bomCycle(loop)
        }
        boms[parent] = sorted
    }

    /// Depth-first search from the new lines back to `parent`; returns the loop `[parent, …, parent]`.
    func cycle(through parent: SKU, withChildren children: [SKU]) -> [SKU]? {
        var visited = Set<SKU>()
        func search(_ sku: SKU, path: [SKU]) -> [SKU]? {
            if sku == parent { return path + [sku] }
            guard visited.insert(sku).inserted else { return nil }
            for child in boms[sku]?.map(\.sku) ?? [] {
                if let loop = search(child, path: path + [sku]) { return loop }
            }
            return nil
        }
        for child in children {
            if let loop = search(child, path: [parent]) { return loop }
        }
        return nil
    }
}
