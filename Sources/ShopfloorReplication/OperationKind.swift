import Foundation
import ShopfloorDomain

/// The kinds of operation, one per domain command. The raw values are the wire names.
public enum OperationKind: String, Sendable, Codable, CaseIterable {
    case addItem = "item.add"
    case addLocation = "location.add"
    case setBOM = "bom.set"
    case adjustStock = "stock.adjust"
    case transferStock = "stock.transfer"
    case createOrder = "order.create"
    case setCost = "order.set-cost"
    case editOrder = "order.edit"
    case transition = "order.transition"
    case addReceipt = "receipt.add"
    case voidReceipt = "receipt.void"
    case acknowledgeConflict = "conflict.ack"
    case transferToOrder = "order.transfer"
    case setPlantDefault = "plant.default"

    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    static func json(_ value: some Encodable) -> String {
        // Encoding plain structs of strings and decimals cannot fail.
        String(decoding: try! encoder().encode(value), as: UTF8.self)
    }

    /// The kind and canonical payload of `command`.
    public static func encode(_ command: Command) -> (OperationKind, String) {
        switch command {
        case .addItem(let value): (.addItem, json(value))
        case .addLocation(let value): (.addLocation, json(value))
        case .setBOM(let value): (.setBOM, json(value))
        case .adjustStock(let value): (.adjustStock, json(value))
        case .transferStock(let value): (.transferStock, json(value))
        case .createOrder(let value): (.createOrder, json(value))
        case .setCost(let value): (.setCost, json(value))
        case .editOrder(let value): (.editOrder, json(value))
        case .transition(let value): (.transition, json(value))
        case .addReceipt(let value): (.addReceipt, json(value))
        case .voidReceipt(let value): (.voidReceipt, json(value))
        case .acknowledgeConflict(let value): (.acknowledgeConflict, json(value))
        case .transferToOrder(let value): (.transferToOrder, json(value))
        case .setPlantDefault(let value): (.setPlantDefault, json(value))
        }
    }

    func decode(_ payload: String) throws(OperationDecodingError) -> Command {
        func read<T: Decodable>(_ type: T.Type) throws(OperationDecodingError) -> T {
            do {
                return try JSONDecoder().decode(T.self, from: Data(payload.utf8))
            } catch {
                throw .malformedPayload(kind: rawValue, reason: String(describing: error))
            }
        }
        switch self {
        case .addItem: return .addItem(try read(Item.self))
        case .addLocation: return .addLocation(try read(Location.self))
        case .setBOM: return .setBOM(try read(SetBOM.self))
        case .adjustStock: return .adjustStock(try read(AdjustStock.self))
        case .transferStock: return .transferStock(try read(TransferStock.self))
        case .createOrder: return .createOrder(try read(CreateOrder.self))
        case .setCost: return .setCost(try read(SetCost.self))
        case .editOrder: return .editOrder(try read(EditOrder.self))
        case .transition: return .transition(try read(OrderTransition.self))
        case .addReceipt: return .addReceipt(try read(AddReceipt.self))
        case .voidReceipt: return .voidReceipt(try read(VoidReceipt.self))
        case .acknowledgeConflict: return .acknowledgeConflict(try read(AcknowledgeConflict.self))
        case .transferToOrder: return .transferToOrder(try read(OrderTransfer.self))
        case .setPlantDefault: return .setPlantDefault(try read(PlantDefault.self))
        }
    }
}
