import Foundation
import GRDB
import Logging
import ShopfloorDomain
import ShopfloorReplication
import ShopfloorStore

/// The invariants a healed network must satisfy, checked on HQ and every floor replica.
///
/// 1. Integrity: `PRAGMA integrity_check` is ok.
/// 2. Convergence: every replica holds HQ's operations, has HQ's digest and lists conflicts in HQ's order.
/// 3. Nothing lost: every operation a replica accepted is at HQ (per author, by count).
/// 4. Receipts (rule 1): every accepted receipt.add is present exactly once on every replica, in its orders and
///    in the receipts table.
/// 5. Conservation: per SKU@LOCATION, ledger values sum to the valuation's value and stock quantities to its
///    quantity.
/// 6. Positions are the sum of their entries (`Position.from` over the ledger = the table = memory).
/// 7. A fully received line consumed exactly its input snapshot (orders on the `bom` basis whose receipts stated no
///    consumption).
/// 8. Memory equals disk: the state a replica holds in memory is what reopening its file loads.
/// 9. Rebuild equals incremental: the digest is unchanged by `rebuild()` (checked last: it rewrites projections).
public struct InvariantChecker {
    public var hq: Replica
    public var replicas: [Replica]
    /// Operations each author accepted locally, when known.
    public var authored: [String: UInt64]?
    /// Ids of accepted receipt.add operations, when known.
    public var receiptOperations: [String]?
    /// Violations listed per invariant and replica; the rest are counted in one more line.
    public var listedMax = 5

    public init(
        hq: Replica, replicas: [Replica], authored: [String: UInt64]? = nil, receiptOperations: [String]? = nil
    ) {
        self.hq = hq
        self.replicas = replicas
        self.authored = authored
        self.receiptOperations = receiptOperations
    }

    public func check() -> [Violation] {
        var found: [Violation] = []
        let all = [hq] + replicas
        for replica in all {
            guarded(replica, "integrity", &found) { found in
                let result = try replica.integrityCheck()
                if result != "ok" {
                    found.append(Violation(invariant: "integrity", replica: replica.id, detail: result))
                }
            }
        }
        guarded(hq, "convergence", &found) { try convergence(&$0) }
        if let authored { nothingLost(authored, &found) }
        for replica in all {
            if let receiptOperations {
                guarded(replica, "receipts", &found) { try receipts(replica, expected: receiptOperations, &$0) }
            }
            guarded(replica, "conservation", &found) { try conservationAndPositions(replica, &$0) }
            guarded(replica, "consumption", &found) { try consumption(replica, &$0) }
            guarded(replica, "memory-vs-disk", &found) { found in
                let reopened = try Replica.open(
                    at: replica.path, configuration: ReplicaConfiguration(durable: false, logger: Self.quietLogger))
                for difference in ShopComparison.differences(memory: try replica.shop, disk: try reopened.shop) {
                    found.append(Violation(invariant: "memory-vs-disk", replica: replica.id, detail: difference))
                }
            }
        }
        for replica in all {
            guarded(replica, "rebuild", &found) { found in
                let before = try replica.digest()
                let incremental = try ProjectionDump(replica)
                try replica.rebuild()
                if try replica.digest() != before {
                    let rebuilt = try ProjectionDump(replica)
                    found.append(
                        Violation(
                            invariant: "rebuild", replica: replica.id,
                            detail: "incremental projections differ from a rebuild from the log: "
                                + (incremental.difference(from: rebuilt, "incremental", "rebuilt")
                                    ?? "digest differs")))
                }
            }
        }
        return capped(found)
    }

    static var quietLogger: Logger {
        SimulationConfiguration.quietLogger
    }

    private func guarded(
        _ replica: Replica, _ invariant: String, _ found: inout [Violation], _ body: (inout [Violation]) throws -> Void
    ) {
        do { try body(&found) } catch {
            found.append(Violation(invariant: invariant, replica: replica.id, detail: "check failed: \(error)"))
        }
    }

    private func capped(_ violations: [Violation]) -> [Violation] {
        var seen: [String: Int] = [:]
        var kept: [Violation] = []
        var order: [String] = []
        for violation in violations {
            let key = "\(violation.invariant)|\(violation.replica ?? "")"
            if seen[key] == nil { order.append(key) }
            seen[key, default: 0] += 1
            if seen[key]! <= listedMax { kept.append(violation) }
        }
        for key in order where seen[key]! > listedMax {
            let parts = key.split(separator: "|", maxSplits: 1, omittingEmptySubsequences: false)
            kept.append(
                Violation(
                    invariant: String(parts[0]), replica: parts[1].isEmpty ? nil : String(parts[1]),
                    detail: "… and \(seen[key]! - listedMax) more like these"))
        }
        return kept
    }

    // MARK: Convergence

    private func convergence(_ found: inout [Violation]) throws {
        let vector = hq.versionVector
        let digest = try hq.digest()
        var hqDump: ProjectionDump?
        for replica in replicas {
            if replica.versionVector != vector {
                found.append(
                    Violation(
                        invariant: "convergence", replica: replica.id,
                        detail: "holds \(replica.versionVector), HQ holds \(vector)"))
            }
            if replica.operationCount != hq.operationCount {
                found.append(
                    Violation(
                        invariant: "convergence", replica: replica.id,
                        detail: "\(replica.operationCount) operations, HQ has \(hq.operationCount)"))
            }
            if try replica.digest() != digest {
                if hqDump == nil { hqDump = try ProjectionDump(hq) }
                let difference = try hqDump!.difference(from: ProjectionDump(replica), "HQ", replica.id)
                found.append(
                    Violation(
                        invariant: "digest", replica: replica.id,
                        detail: "state digest differs from HQ's: \(difference ?? "same rows, different digest")"))
            }
            // The digest sorts conflicts; the lists users see must also be in the same (fold) order everywhere.
            let listed = try replica.conflictRows(all: true).map(\.id)
            let hqListed = try hq.conflictRows(all: true).map(\.id)
            if listed != hqListed {
                let index = ShopComparison.firstDifference(listed, hqListed)
                found.append(
                    Violation(
                        invariant: "conflict-order", replica: replica.id,
                        detail: "conflicts listed in another order than HQ's from position \(index): "
                            + "\(listed.dropFirst(index).prefix(3)) vs HQ \(hqListed.dropFirst(index).prefix(3))"))
            }
        }
    }

    private func nothingLost(_ authored: [String: UInt64], _ found: inout [Violation]) {
        let vector = hq.versionVector
        for (author, counter) in authored.sorted(by: { $0.key < $1.key }) where vector[author] != counter {
            found.append(
                Violation(
                    invariant: "lost-operation", replica: author,
                    detail: "accepted \(counter) operations locally; HQ holds \(vector[author]) of them"))
        }
        for (author, counter) in vector.counters.sorted(by: { $0.key < $1.key }) where authored[author] == nil {
            found.append(
                Violation(
                    invariant: "lost-operation", replica: author,
                    detail: "HQ holds \(counter) operations by \(author), which never recorded any"))
        }
    }

    // MARK: Receipts

    private func receipts(_ replica: Replica, expected: [String], _ found: inout [Violation]) throws {
        let shop = try replica.shop
        var byOperation: [String: [String]] = [:]
        var inOrders: Set<String> = []
        for number in shop.orders.keys.sorted() {
            for receipt in shop.orders[number]!.receipts {
                inOrders.insert("\(receipt.id)|\(number)|\(receipt.voided)")
                guard let operation = receipt.operation else {
                    found.append(
                        Violation(
                            invariant: "receipts", replica: replica.id,
                            detail: "receipt \(receipt.id) on \(number) names no operation"))
                    continue
                }
                byOperation[operation, default: []].append("\(receipt.id) on \(number)")
            }
        }
        let expectedSet = Set(expected)
        for operation in expected {
            let copies = byOperation[operation] ?? []
            if copies.count != 1 {
                found.append(
                    Violation(
                        invariant: "receipts", replica: replica.id,
                        detail: "the receipt recorded by \(operation) is present \(copies.count) times \(copies)"))
            }
        }
        for operation in byOperation.keys.sorted() where !expectedSet.contains(operation) {
            found.append(
                Violation(
                    invariant: "receipts", replica: replica.id,
                    detail: "receipt \(byOperation[operation]!) comes from \(operation), which no replica recorded"))
        }
        let rows = try replica.read { db in
            try Row.fetchAll(db, sql: "SELECT id, order_number, voided FROM receipts").map { row in
                "\(row["id"] as String)|\(row["order_number"] as String)|\((row["voided"] as Int64) != 0)"
            }
        }
        let inTable = Set(rows)
        if inTable != inOrders || rows.count != inTable.count {
            let missing = inOrders.subtracting(inTable).sorted().prefix(3)
            let extra = inTable.subtracting(inOrders).sorted().prefix(3)
            found.append(
                Violation(
                    invariant: "receipts", replica: replica.id,
                    detail: "the receipts table (\(rows.count) rows) differs from the orders' receipts "
                        + "(\(inOrders.count)): missing \(Array(missing)), extra \(Array(extra))"))
        }
    }

    // MARK: Stock

    private func conservationAndPositions(_ replica: Replica, _ found: inout [Violation]) throws {
        let ledger = try replica.ledger()
        var quantities: [StockKey: Amount] = [:]
        var values: [StockKey: Amount] = [:]
        var entries: [LedgerEntry] = []
        for row in ledger {
            let key = StockKey(sku: row.sku, location: row.location)
            guard let event = LedgerEvent(rawValue: row.event) else {
                found.append(
                    Violation(
                        invariant: "ledger", replica: replica.id,
                        detail: "unknown event \(row.event) in \(row.operation)"))
                continue
            }
            values[key, default: .zero] += row.value ?? .zero
            if event.movesStock { quantities[key, default: .zero] += row.quantity }
            entries.append(
                LedgerEntry(
                    sku: row.sku, location: row.location, event: event, quantity: row.quantity, unitCost: row.unitCost,
                    value: row.value, relieved: row.relieved, ref: row.ref, date: row.date, operation: row.operation))
        }
        var valuationByKey: [StockKey: (Amount, Amount)] = [:]
        for (key, valuation) in try replica.shop.valuations {
            valuationByKey[key] = (valuation.quantity, valuation.value)
        }
        for key in Set(valuationByKey.keys).union(values.keys).union(quantities.keys).sorted() {
            let (quantity, value) = valuationByKey[key] ?? (.zero, .zero)
            let ledgerQuantity = quantities[key] ?? .zero
            let ledgerValue = values[key] ?? .zero
            if ledgerQuantity != quantity || ledgerValue != value {
                found.append(
                    Violation(
                        invariant: "conservation", replica: replica.id,
                        detail: "\(key.sku)@\(key.location): ledger sums to quantity \(ledgerQuantity) value "
                            + "\(ledgerValue), valuation says quantity \(quantity) value \(value)"))
            }
        }
        // Positions: recomputed from the entries, as stored, and as held in memory.
        let computed = Position.from(entries)
        var stored: [StockKey: Position] = [:]
        for row in try replica.positions() {
            var position = Position(sku: row.sku, location: row.location)
            position.onHand = row.onHand
            position.onOrder = row.onOrder
            position.demand = row.demand
            position.allocated = row.allocated
            position.value = row.value
            stored[StockKey(sku: row.sku, location: row.location)] = position
        }
        let memory = try replica.shop.positions
        for key in Set(computed.keys).union(stored.keys).union(memory.keys).sorted() {
            let empty = Position(sku: key.sku, location: key.location)
            let expected = computed[key] ?? empty
            for (name, actual) in [("table", stored[key] ?? empty), ("memory", memory[key] ?? empty)]
            where actual != expected {
                found.append(
                    Violation(
                        invariant: "positions", replica: replica.id,
                        detail: "\(key.sku)@\(key.location) in \(name) is \(Self.describe(actual)); its entries sum "
                            + "to \(Self.describe(expected))"))
            }
        }
    }

    static func describe(_ position: Position) -> String {
        "on hand \(position.onHand), on order \(position.onOrder), demand \(position.demand), allocated "
            + "\(position.allocated), value \(position.value)"
    }

    private func consumption(_ replica: Replica, _ found: inout [Violation]) throws {
        let shop = try replica.shop
        // Receipts that stated their consumption: the basis does not hold for their orders.
        var stated = Set<String>()
        for op in try replica.operations(missingFrom: VersionVector(), limit: 10_000_000) {
            if case .addReceipt(let add) = try? op.command(), add.consumed != nil { stated.insert(add.receipt) }
        }
        for number in shop.orders.keys.sorted() {
            let order = shop.orders[number]!
            // With the transferred basis a line consumes its share of what was transferred, which later transfers,
            // scrap and the return on close change; the invariant is the BOM's.
            guard order.basis == .bom,
                !order.receipts.contains(where: { stated.contains($0.requestedID ?? $0.id) || stated.contains($0.id) })
            else { continue }
            for line in order.lines where line.quantity.isPositive && line.progress == line.quantity {
                for input in line.inputs where (line.consumed[input.sku] ?? .zero) != input.quantity {
                    found.append(
                        Violation(
                            invariant: "consumption", replica: replica.id,
                            detail: "\(number) line \(line.sku) is fully received but consumed "
                                + "\(line.consumed[input.sku] ?? .zero) of \(input.sku); its snapshot says \(input.quantity)"
                        ))
                }
            }
        }
    }
}
