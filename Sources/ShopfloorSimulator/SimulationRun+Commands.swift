import Foundation
import ShopfloorDomain
import ShopfloorStore

/// A command the simulated user tries, with what local validation must do about it.
struct Intent {
    var label: String
    var command: Command
    /// Set when the recording replica can see the command is wrong: accepting it is a violation.
    var mustRefuse: String?
}

extension SimulationRun {
    private enum Kind {
        case addItem, addLocation, setBOM, stockIn, stockOut, transfer, createOrder, setCost, editOrder, transition
        case receipt, void, acknowledge, orderTransfer, plantDefault
    }

    /// A random command shaped by what `node` knows, as a user of that device would try it; `seen` is the state
    /// the user sees (by default the replica's, inside a batch the replica's with the batch's earlier commands).
    func makeIntent(for node: SimulatedNode, seeing seen: Shop? = nil) -> Intent {
        let shop = seen ?? state(of: node)
        let kind: Kind
        if shop.catalog.items.count < 5, rng.chance(40) {
            kind = rng.pick([.addItem, .addItem, .addLocation, .setBOM])!
        } else if node === hq {
            kind = rng.weighted([
                (Kind.acknowledge, 45), (.addItem, 10), (.addLocation, 5), (.setBOM, 10), (.stockIn, 15),
                (.stockOut, 5),
                (.editOrder, 5), (.transition, 5),
            ])
        } else {
            kind = rng.weighted([
                (Kind.addItem, 5), (.addLocation, 3), (.setBOM, 5), (.stockIn, 10), (.stockOut, 5), (.transfer, 5),
                (.createOrder, 9), (.setCost, 4), (.editOrder, 4), (.transition, 16), (.receipt, 22), (.void, 4),
                (.acknowledge, 4), (.orderTransfer, 5), (.plantDefault, 1),
            ])
        }
        switch kind {
        case .addItem: return addItem(shop)
        case .addLocation: return addLocation(shop)
        case .setBOM: return setBOM(shop)
        case .stockIn: return stockIn(shop)
        case .stockOut: return stockOut(shop)
        case .transfer: return transfer(shop)
        case .createOrder: return createOrder(node, shop) ?? addItem(shop)
        case .setCost: return setCost(shop) ?? createOrder(node, shop) ?? addItem(shop)
        case .editOrder: return editOrder(shop) ?? stockIn(shop)
        case .transition: return transition(shop) ?? createOrder(node, shop) ?? addItem(shop)
        case .receipt: return receipt(node, shop) ?? transition(shop) ?? stockIn(shop)
        case .void: return void(shop) ?? receipt(node, shop) ?? stockIn(shop)
        case .acknowledge: return acknowledge(node) ?? stockIn(shop)
        case .orderTransfer: return orderTransfer(shop) ?? transfer(shop)
        case .plantDefault:
            return Intent(
                label: "plant.default",
                command: .setPlantDefault(PlantDefault(backflush: rng.pick(BackflushBasis.allCases)!)), mustRefuse: nil)
        }
    }

    /// Commands a user records together, all or nothing.
    func makeBatch(for node: SimulatedNode) -> [Intent] {
        let shop = state(of: node)
        switch rng.int(0...3) {
        case 0:
            // A whole order set up in one go: create, enter, start.
            guard let create = createOrder(node, shop, typedPercent: 0) else { break }
            guard case .createOrder(let order) = create.command else { break }
            var intents = [create]
            if order.outputs.contains(where: { $0.unitCost == nil }) {
                intents.append(
                    Intent(
                        label: "order.set-cost",
                        command: .setCost(SetCost(order: order.number, sku: order.outputs[0].sku, unitCost: cost())),
                        mustRefuse: nil))
            }
            intents.append(transitionIntent(order.number, .enter))
            if rng.chance(70) { intents.append(transitionIntent(order.number, .start)) }
            return intents
        case 1:
            // Stock arrives and part of it moves on.
            let sku = pickKnown(Array(shop.catalog.items.keys), pool: SimulationCatalog.stocked)
            let (from, to) = twoLocations(shop)
            let quantity = hundredths(rng.int(100...4_000))
            return [
                Intent(
                    label: "stock.adjust",
                    command: .adjustStock(AdjustStock(sku: sku, location: from, quantity: quantity, unitCost: cost())),
                    mustRefuse: nil),
                Intent(
                    label: "stock.transfer",
                    command: .transferStock(
                        TransferStock(sku: sku, quantity: hundredths(rng.int(50...2_000)), from: from, to: to)),
                    mustRefuse: nil),
            ]
        case 2:
            // A receipt and closing the order.
            guard let receipt = receipt(node, shop), case .addReceipt(let add) = receipt.command else { break }
            return [receipt, transitionIntent(add.order, .complete)]
        default:
            break
        }
        // Each command is judged against what the user sees once the batch's earlier commands are applied
        // (a void then a new receipt on the same order is within tolerance even if the pair is not, seed 2164).
        var seen = shop
        let context = ApplyContext(date: Replica.businessDate(node.clock.now), mode: .local, author: node.id)
        return (0..<rng.int(2...3)).map { _ in
            let intent = makeIntent(for: node, seeing: seen)
            var next = seen
            if (try? next.apply(intent.command, context: context)) != nil { seen = next }
            return intent
        }
    }

    // MARK: Catalog

    func addItem(_ shop: Shop) -> Intent {
        let unknown = SimulationCatalog.items.filter { shop.catalog.items[$0.sku] == nil }
        let item: Item
        if rng.chance(10) {
            item = rng.pick(SimulationCatalog.variants)!
        } else if !unknown.isEmpty, rng.chance(80) {
            item = rng.pick(unknown)!
        } else {
            item = rng.pick(SimulationCatalog.items)!
        }
        let known = shop.catalog.items[item.sku] != nil
        return Intent(
            label: "item.add", command: .addItem(item), mustRefuse: known ? "SKU \(item.sku) already exists here" : nil)
    }

    func addLocation(_ shop: Shop) -> Intent {
        let unknown = SimulationCatalog.locations.filter { shop.catalog.locations[$0] == nil }
        if rng.chance(5) {
            return Intent(
                label: "location.add", command: .addLocation(Location(code: "BAD CODE")),
                mustRefuse: "a location code has no spaces")
        }
        let code = !unknown.isEmpty && rng.chance(80) ? rng.pick(unknown)! : rng.pick(SimulationCatalog.locations)!
        let known = shop.catalog.locations[code] != nil
        return Intent(
            label: "location.add", command: .addLocation(Location(code: code, name: code.lowercased())),
            mustRefuse: known ? "location \(code) already exists here" : nil)
    }

    func setBOM(_ shop: Shop) -> Intent {
        if rng.chance(70) {
            let missing = SimulationCatalog.boms.filter { parent, lines in
                shop.catalog.boms[parent] == nil && shop.catalog.items[parent] != nil
                    && lines.allSatisfy { shop.catalog.items[$0.sku] != nil }
            }
            let (parent, lines) =
                !missing.isEmpty && rng.chance(80) ? rng.pick(missing)! : rng.pick(SimulationCatalog.boms)!
            return Intent(label: "bom.set", command: .setBOM(SetBOM(parent: parent, lines: lines)), mustRefuse: nil)
        }
        // A planner's edit: any children, which across devices may close a loop.
        let parent = rng.pick(SimulationCatalog.producible)!
        var children = SimulationCatalog.items.map(\.sku).filter { $0 != parent }
        var lines: [BOMLine] = []
        for _ in 0..<rng.int(1...3) {
            let child = children.remove(at: rng.int(0...(children.count - 1)))
            lines.append(BOMLine(sku: child, quantity: hundredths(rng.pick([50, 100, 120, 200, 250, 300])!)))
        }
        return Intent(label: "bom.set", command: .setBOM(SetBOM(parent: parent, lines: lines)), mustRefuse: nil)
    }

    // MARK: Stock

    /// A known name most of the time, sometimes one from the pool this replica may not know yet.
    func pickKnown<Code: Comparable>(_ known: [Code], pool: [Code]) -> Code {
        let candidates = known.filter { pool.contains($0) }.sorted()
        if !candidates.isEmpty, rng.chance(85) { return rng.pick(candidates)! }
        return rng.pick(pool)!
    }

    func location(_ shop: Shop) -> String {
        pickKnown(Array(shop.catalog.locations.keys), pool: SimulationCatalog.locations)
    }

    func twoLocations(_ shop: Shop) -> (String, String) {
        let from = location(shop)
        let others = SimulationCatalog.locations.filter { $0 != from }
        return (from, pickKnown(Array(shop.catalog.locations.keys), pool: others))
    }

    func cost() -> Amount {
        hundredths(rng.int(25...2_500))
    }

    func stockIn(_ shop: Shop) -> Intent {
        let sku = pickKnown(Array(shop.catalog.items.keys), pool: SimulationCatalog.stocked)
        let adjust = AdjustStock(
            sku: sku, location: location(shop), quantity: hundredths(rng.int(100...5_000)),
            unitCost: rng.chance(80) ? cost() : nil)
        return Intent(label: "stock.adjust", command: .adjustStock(adjust), mustRefuse: nil)
    }

    /// Stock going out, often beyond what is on hand (allowed offline, flagged as negative stock).
    func stockOut(_ shop: Shop) -> Intent {
        let sku = pickKnown(Array(shop.catalog.items.keys), pool: SimulationCatalog.stocked)
        let location = location(shop)
        let onHand = shop.position(sku: sku, location: location).onHand
        let quantity: Amount
        if onHand.isPositive, rng.chance(60) {
            quantity = Amount.minimum(onHand, hundredths(rng.int(1...2_000)))
        } else {
            quantity = Amount.maximum(onHand, .zero) + hundredths(rng.int(1...2_000))
        }
        return Intent(
            label: "stock.adjust",
            command: .adjustStock(AdjustStock(sku: sku, location: location, quantity: -quantity)), mustRefuse: nil)
    }

    func transfer(_ shop: Shop) -> Intent {
        let sku = pickKnown(Array(shop.catalog.items.keys), pool: SimulationCatalog.stocked)
        let (from, to) = twoLocations(shop)
        let transfer = TransferStock(sku: sku, quantity: hundredths(rng.int(50...3_000)), from: from, to: to)
        return Intent(label: "stock.transfer", command: .transferStock(transfer), mustRefuse: nil)
    }

    // MARK: Orders

    /// Orders this replica knows, open ones first when `preferOpen`, in a stable order.
    func knownOrder(_ shop: Shop, prefer statuses: Set<OrderStatus>) -> Order? {
        let all = shop.orders.keys.sorted().map { shop.orders[$0]! }
        let preferred = all.filter { statuses.contains($0.status) }
        if !preferred.isEmpty, rng.chance(85) { return rng.pick(preferred) }
        return rng.pick(all)
    }

    func createOrder(_ node: SimulatedNode, _ shop: Shop, typedPercent: Int = 20) -> Intent? {
        let kind: OrderKind = rng.chance(50) ? .production : .work
        let number: OrderNumber
        if rng.chance(typedPercent) {
            number = rng.pick(SimulationCatalog.typedOrderNumbers)!
        } else {
            do { number = try node.replica.nextOrderNumber(kind: kind) } catch {
                violate("error", node, "nextOrderNumber threw \(error)")
                return nil
            }
        }
        var skus = SimulationCatalog.producible.filter { shop.catalog.boms[$0] != nil }
        if skus.isEmpty || rng.chance(5) { skus = SimulationCatalog.producible }
        var outputs: [OutputSpec] = []
        for _ in 0..<(rng.chance(25) && skus.count > 1 ? 2 : 1) {
            let sku = skus.remove(at: rng.int(0...(skus.count - 1)))
            let quantity = rng.chance(70) ? Amount(rng.int(1...12)) : hundredths(rng.int(50...1_500))
            outputs.append(OutputSpec(sku: sku, quantity: quantity, unitCost: rng.chance(70) ? cost() : nil))
        }
        let due = rng.chance(50) ? String(format: "2026-%02d-%02d", rng.int(2...6), rng.int(1...28)) : nil
        // Some orders stage their inputs in another warehouse, or land their goods in another (schema 2).
        let wip = rng.chance(30) ? location(shop) : nil
        let fg = rng.chance(30) ? location(shop) : nil
        let backflush: BackflushBasis? = rng.chance(25) ? .transferred : nil
        let create = CreateOrder(
            number: number, kind: kind, location: location(shop), due: due, notes: "",
            tolerancePercent: rng.chance(30) ? 10 : .zero, outputs: outputs, wip: wip, fg: fg, backflush: backflush)
        let duplicate = shop.orders[number] != nil
        return Intent(
            label: "order.create", command: .createOrder(create),
            mustRefuse: duplicate ? "order \(number) already exists here" : nil)
    }

    /// Make Transfer: what the order still needs, or a few of its inputs in random amounts, from a random store.
    func orderTransfer(_ shop: Shop) -> Intent? {
        guard let order = knownOrder(shop, prefer: [.entered, .production]) else { return nil }
        let from = location(shop)
        var lines: [BOMLine]
        if rng.chance(50) {
            lines = order.inputs.compactMap {
                $0.toTransfer.isPositive ? BOMLine(sku: $0.sku, quantity: $0.toTransfer) : nil
            }
        } else {
            lines = order.inputs.filter { _ in rng.chance(60) }.map {
                BOMLine(sku: $0.sku, quantity: hundredths(rng.int(10...2_000)))
            }
        }
        if lines.isEmpty {
            lines = [BOMLine(sku: order.inputs.first?.sku ?? rng.pick(SimulationCatalog.stocked)!, quantity: 1)]
        }
        let inputs = Set(order.inputs.map(\.sku))
        let known = shop.catalog.locations.keys
        let refusal: String? =
            if ![.entered, .production, .received].contains(order.status) {
                "order \(order.number) is \(order.status.rawValue)"
            } else if from == order.wipLocation {
                "a transfer from the WIP warehouse itself"
            } else if !known.contains(from) || !known.contains(order.wipLocation) {
                "an unknown location"
            } else if let line = lines.first(where: { !inputs.contains($0.sku) }) {
                "\(line.sku) is not an input of \(order.number)"
            } else {
                nil
            }
        return Intent(
            label: "order.transfer",
            command: .transferToOrder(OrderTransfer(order: order.number, from: from, lines: lines)), mustRefuse: refusal
        )
    }

    func setCost(_ shop: Shop) -> Intent? {
        guard let order = knownOrder(shop, prefer: [.draft, .entered, .production]) else { return nil }
        let sku = rng.chance(90) ? rng.pick(order.lines)!.sku : rng.pick(SimulationCatalog.producible)!
        return Intent(
            label: "order.set-cost", command: .setCost(SetCost(order: order.number, sku: sku, unitCost: cost())),
            mustRefuse: nil)
    }

    func editOrder(_ shop: Shop) -> Intent? {
        guard let order = knownOrder(shop, prefer: [.draft, .entered, .production]) else { return nil }
        var edit = EditOrder(order: order.number)
        switch rng.int(0...3) {
        case 0: edit.notes = "note-\(rng.int(1...4))"
        case 1: edit.due = String(format: "2026-%02d-%02d", rng.int(2...6), rng.int(1...28))
        case 2: edit.tolerancePercent = rng.chance(50) ? 10 : 25
        default:
            edit.notes = "rush-\(rng.int(1...3))"
            edit.due = rng.chance(20) ? "" : "2026-03-\(rng.int(10...28))"
        }
        return Intent(label: "order.edit", command: .editOrder(edit), mustRefuse: nil)
    }

    func transitionIntent(_ order: OrderNumber, _ action: OrderTransition.Action) -> Intent {
        Intent(
            label: "order.\(action.rawValue)", command: .transition(OrderTransition(order: order, action: action)),
            mustRefuse: nil)
    }

    func transition(_ shop: Shop) -> Intent? {
        // Mostly move orders towards production, where receipts happen; sometimes close them.
        let prefer: Set<OrderStatus> = rng.chance(70) ? [.draft, .entered] : [.production, .received]
        guard let order = knownOrder(shop, prefer: prefer) else { return nil }
        let action: OrderTransition.Action
        if rng.chance(10) {
            action = rng.pick(OrderTransition.Action.allCases)!
        } else {
            switch order.status {
            case .draft: action = rng.weighted([(.enter, 90), (.cancel, 10)])
            case .entered: action = rng.weighted([(.start, 85), (.cancel, 10), (.complete, 5)])
            case .production: action = rng.weighted([(.complete, 55), (.cancel, 45)])
            case .received: action = rng.weighted([(.complete, 95), (.cancel, 5)])
            case .completed, .cancelled: action = rng.pick(OrderTransition.Action.allCases)!
            }
        }
        var intent = transitionIntent(order.number, action)
        if order.status.isClosed { intent.mustRefuse = "order \(order.number) is \(order.status.rawValue)" }
        return intent
    }

    // MARK: Receipts

    func receipt(_ node: SimulatedNode, _ shop: Shop) -> Intent? {
        // Without an order in production, the user usually does something else (the caller's fallback).
        let receiving = shop.orders.values.contains { $0.status == .production || $0.status == .received }
        guard receiving || rng.chance(15), let order = knownOrder(shop, prefer: [.production, .received]) else {
            return nil
        }
        let lines = rng.chance(25) ? order.lines : [rng.pick(order.lines)!]
        if let open = lines.first(where: { $0.unitCost == nil }), rng.chance(85) {
            // The receipt screen asks for the cost first.
            return Intent(
                label: "order.set-cost",
                command: .setCost(SetCost(order: order.number, sku: open.sku, unitCost: cost())), mustRefuse: nil)
        }
        var receiptLines: [BOMLine] = []
        var over: String?
        var losses: [BOMLine] = []
        for line in lines {
            let remaining = line.quantity - line.progress
            let remainingHundredths = Int(remaining.units / 10_000)
            // Over-receipt limit: ordered + tolerance.
            let tolerance = (try? line.quantity.proportion(order.tolerancePercent, of: Amount.hundred)) ?? .zero
            let limit = line.quantity + tolerance
            let quantity: Amount
            switch rng.weighted([("partial", 45), ("full", 30), ("tolerance", 10), ("over", 15)]) {
            case "partial" where remainingHundredths > 1: quantity = hundredths(rng.int(1...(remainingHundredths - 1)))
            case "full" where remaining.isPositive: quantity = remaining
            case "tolerance" where (limit - line.progress).isPositive: quantity = limit - line.progress
            case "over": quantity = Amount.maximum(limit - line.progress, .zero) + hundredths(rng.int(1...300))
            default: quantity = hundredths(rng.int(1...300))
            }
            // Sometimes part of the output is lost in the process (schema 2).
            let lost = rng.chance(8) ? hundredths(rng.int(1...50)) : Amount.zero
            if lost.isPositive { losses.append(BOMLine(sku: line.sku, quantity: lost)) }
            if line.progress + quantity + lost > limit {
                over =
                    "\(line.sku) would reach \(line.progress + quantity + lost) of \(line.quantity) (limit \(limit))"
            }
            receiptLines.append(BOMLine(sku: line.sku, quantity: quantity))
        }
        let id = rng.chance(15) ? rng.pick(SimulationCatalog.typedReceiptIDs)! : node.replica.nextReceiptID()
        let date =
            rng.chance(20)
            ? Replica.businessDate(node.clock.now.addingTimeInterval(TimeInterval(-rng.int(0...5) * Self.daySeconds)))
            : nil
        // Sometimes the operator states what was really consumed of an input, or what was scrapped (schema 2).
        let received = Set(lines.flatMap { $0.inputs.map(\.sku) }).sorted()
        let consumed =
            received.isEmpty || !rng.chance(10)
            ? nil : [BOMLine(sku: rng.pick(received)!, quantity: hundredths(rng.int(1...800)))]
        let inputs = order.inputs.map(\.sku)
        let scrap =
            inputs.isEmpty || !rng.chance(10)
            ? nil : [BOMLine(sku: rng.pick(inputs)!, quantity: hundredths(rng.int(1...200)))]
        let add = AddReceipt(
            order: order.number, receipt: id, lines: receiptLines, date: date, consumed: consumed, scrap: scrap,
            loss: losses.isEmpty ? nil : losses)
        var reason = over.map { "over tolerance: \($0)" }
        if shop.receiptOrders[id] != nil { reason = "receipt id \(id) already exists here" }
        return Intent(label: "receipt.add", command: .addReceipt(add), mustRefuse: reason)
    }

    func void(_ shop: Shop) -> Intent? {
        let ids = shop.receiptOrders.keys.sorted()
        guard !ids.isEmpty else { return nil }
        let open = ids.filter { id in
            shop.orders[shop.receiptOrders[id]!]?.receipts.first { $0.id == id }?.voided == false
        }
        let id = !open.isEmpty && rng.chance(85) ? rng.pick(open)! : rng.pick(ids)!
        return Intent(label: "receipt.void", command: .voidReceipt(VoidReceipt(receipt: id)), mustRefuse: nil)
    }

    func acknowledge(_ node: SimulatedNode) -> Intent? {
        let all = (try? node.replica.conflicts) ?? []
        guard !all.isEmpty else { return nil }
        let open = all.filter { $0.acknowledgement == nil }.map(\.conflict.id)
        if !open.isEmpty, rng.chance(90) {
            let id = rng.pick(open)!
            return Intent(
                label: "conflict.ack", command: .acknowledgeConflict(AcknowledgeConflict(conflict: id, note: "seen")),
                mustRefuse: nil)
        }
        let id = rng.pick(all)!.conflict.id
        let acknowledged = all.contains { $0.conflict.id == id && $0.acknowledgement != nil }
        return Intent(
            label: "conflict.ack", command: .acknowledgeConflict(AcknowledgeConflict(conflict: id)),
            mustRefuse: acknowledged ? "conflict \(id) is already acknowledged here" : nil)
    }
}
