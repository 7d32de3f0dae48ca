import ArgumentParser
import Foundation
import Logging
import ShopfloorDomain
import ShopfloorStore

/// The `shopfloor` process: logging, parsing, running, and the exit status contract.
///
/// 0 success (and `--help`); 1 a refused operation, a missing database or an import error; 2 a usage error.
public enum ShopfloorCommandLine {
    public static let usageErrorStatus: Int32 = 2
    public static let refusedStatus: Int32 = 1

    /// Runs one command line (without the program name) and returns the exit status.
    public static func run(_ arguments: [String]) -> Int32 {
        bootstrapLogging()
        var command: any ParsableCommand
        do {
            command = try Shopfloor.parseAsRoot(arguments)
        } catch {
            if Shopfloor.exitCode(for: error) == .success {
                Output.standardOutput(Shopfloor.fullMessage(for: error))
                return 0
            }
            Output.standardError(Shopfloor.fullMessage(for: error))
            return usageErrorStatus
        }
        do {
            try command.run()
            return 0
        } catch {
            return report(error)
        }
    }

    /// Maps an error thrown while running a command to its message and exit status.
    static func report(_ error: any Error) -> Int32 {
        switch error {
        case let error as ReplicaError:
            Output.standardError("error: \(error.description)")
            if let hint = hint(for: error) { Output.standardError("hint: \(hint)") }
            return refusedStatus
        case let error as DomainError:
            Output.standardError("error: \(error.description)")
            if let hint = hint(for: .refused(error)) { Output.standardError("hint: \(hint)") }
            return refusedStatus
        case let error as AmountError:
            Output.standardError("error: \(error.description)")
            return refusedStatus
        case let error as CommandFailure:
            Output.standardError("error: \(error.description)")
            return refusedStatus
        default:
            let code = Shopfloor.exitCode(for: error)
            if code == .success {
                Output.standardOutput(Shopfloor.fullMessage(for: error))
                return 0
            }
            if code == .validationFailure {
                Output.standardError(Shopfloor.fullMessage(for: error))
                return usageErrorStatus
            }
            if let exit = error as? ExitCode { return exit.rawValue }
            Output.standardError("error: \(error)")
            return refusedStatus
        }
    }

    /// The command-line way out of an error: the domain and the store say what is wrong in their own words, and
    /// the CLI adds its syntax.
    static func hint(for error: ReplicaError) -> String? {
        switch error {
        case .notInitialized(let path): "create one with `shopfloor --db \(path) init --name NAME`"
        case .alreadyInitialized: "choose another --db path"
        case .refused(.unknownItem(let sku)):
            "add it with `shopfloor item add \(sku) --kind material|component|product`"
        case .refused(.duplicateOrder): "choose another --number, or omit --number for one unique to this replica"
        case .refused(.emptyOrder): "give --output SKU=QTY[@COST]"
        case .refused(.unknownConflict): "list them with `shopfloor conflicts --all`"
        case .refused(.unknownLocation(let code)): "add it with `shopfloor location add \(code)`"
        case .refused(.noBOM(let sku)): "set one with `shopfloor bom set \(sku) CHILD=QTY …`"
        case .refused(.unknownOrder): "list them with `shopfloor order list`"
        case .refused(.costNotSet(let order, let sku)): "set it with `shopfloor order set-cost \(order) \(sku) COST`"
        case .refused(.cancelWithReceipts(let order, _)):
            "void them with `shopfloor receipt void ID`, or close it short with `shopfloor order complete \(order)`"
        case .refused(.unknownReceipt): "see the order's receipts with `shopfloor order show NUMBER`"
        default: nil
        }
    }

    static func bootstrapLogging() {
        let requested = ProcessInfo.processInfo.environment["SHOPFLOOR_LOG_LEVEL"].flatMap {
            Logger.Level(rawValue: $0.lowercased())
        }
        let level = requested ?? .warning
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

/// A command that could not do its work for a reason outside the domain (an unreadable file, an unknown order).
struct CommandFailure: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) {
        self.description = description
    }
}
