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
            return refusedStatus
        case let error as DomainError:
            Output.standardError("error: \(error.description)")
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
