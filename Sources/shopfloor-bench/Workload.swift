import ShopfloorDomain

/// A small seeded generator, so every run replays the same workload.
struct SplitMix64: RandomNumberGenerator, Sendable {
    var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The shop every benchmark runs on: hundreds of SKUs in four BOM levels (product → assembly → subassembly →
/// material) at a few plants, with opening stock.
struct Workload: Sendable {
    var materials: [SKU] = []
    var subassemblies: [SKU] = []
    var assemblies: [SKU] = []
    var products: [SKU] = []
    var locations: [String] = []
    /// The commands that set the catalog up, in an order a replica accepts: locations, items, BOMs bottom-up,
    /// opening stock.
    var catalogCommands: [Command] = []

    /// SKUs an order can make.
    var producible: [SKU] { assemblies + products }
    var skuCount: Int { materials.count + subassemblies.count + assemblies.count + products.count }

    static let bomQuantities = ["0.25", "0.5", "1", "1", "2", "2.5", "3", "4", "6"]

    static func make(
        seed: UInt64 = 42, materialCount: Int = 300, subassemblyCount: Int = 120, assemblyCount: Int = 60,
        productCount: Int = 80, locationCount: Int = 3
    ) -> Workload {
        var rng = SplitMix64(seed: seed)
        var workload = Workload()
        workload.locations = (1...locationCount).map { "PLANT-\($0)" }
        workload.materials = (1...materialCount).map { SKU("M-\(pad($0, 4))") }
        workload.subassemblies = (1...subassemblyCount).map { SKU("S-\(pad($0, 4))") }
        workload.assemblies = (1...assemblyCount).map { SKU("A-\(pad($0, 4))") }
        workload.products = (1...productCount).map { SKU("P-\(pad($0, 4))") }
        var commands: [Command] = workload.locations.map { .addLocation(Location(code: $0, name: "Plant \($0)")) }
        let units = ["kg", "ea", "m", "l"]
        for sku in workload.materials {
            commands.append(
                .addItem(Item(sku: sku, kind: .material, unit: units[Int(rng.next() % 4)], name: "Material \(sku)")))
        }
        for sku in workload.subassemblies + workload.assemblies {
            commands.append(.addItem(Item(sku: sku, kind: .component, name: "Component \(sku)")))
        }
        for sku in workload.products {
            commands.append(.addItem(Item(sku: sku, kind: .product, name: "Product \(sku)")))
        }
        func lines(_ pools: [([SKU], ClosedRange<Int>)]) -> [BOMLine] {
            var chosen: [SKU: BOMLine] = [:]
            for (pool, count) in pools {
                for _ in 0..<Int.random(in: count, using: &rng) {
                    let sku = pool[Int(rng.next() % UInt64(pool.count))]
                    let quantity = bomQuantities[Int(rng.next() % UInt64(bomQuantities.count))]
                    chosen[sku] = BOMLine(sku: sku, quantity: amount(quantity))
                }
            }
            return chosen.values.sorted { $0.sku < $1.sku }
        }
        for parent in workload.subassemblies {
            commands.append(.setBOM(SetBOM(parent: parent, lines: lines([(workload.materials, 3...5)]))))
        }
        for parent in workload.assemblies {
            commands.append(
                .setBOM(
                    SetBOM(
                        parent: parent, lines: lines([(workload.subassemblies, 2...3), (workload.materials, 1...2)]))))
        }
        for parent in workload.products {
            commands.append(
                .setBOM(
                    SetBOM(
                        parent: parent,
                        lines: lines([
                            (workload.assemblies, 1...2), (workload.subassemblies, 1...2), (workload.materials, 1...3),
                        ]))
                ))
        }
        for location in workload.locations {
            for sku in workload.materials {
                let cost = "\(1 + rng.next() % 40).\(pad(Int(rng.next() % 100), 2))"
                commands.append(
                    .adjustStock(AdjustStock(sku: sku, location: location, quantity: 100_000, unitCost: amount(cost))))
            }
        }
        workload.catalogCommands = commands
        return workload
    }
}

/// Zero-padded decimal.
func pad(_ value: Int, _ width: Int) -> String {
    let text = String(value)
    return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
}

/// A decimal from a literal the benchmark wrote itself.
func amount(_ text: String) -> Amount {
    guard let value = try? Amount(parsing: text) else { preconditionFailure("bad literal amount \(text)") }
    return value
}
