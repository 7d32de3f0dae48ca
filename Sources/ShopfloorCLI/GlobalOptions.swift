import ArgumentParser
import Foundation

/// Options every command accepts, before or after the subcommand's name.
struct GlobalOptions: ParsableArguments {
    /// Used when neither `--db` nor `$SHOPFLOOR_DB` is given.
    static let defaultPath = "./shopfloor.sqlite"

    @Option(name: .long, help: "The replica's SQLite file (default: $SHOPFLOOR_DB, then ./shopfloor.sqlite).")
    var db: String?

    @Flag(name: .long, help: "Print JSON instead of a table (exact decimal strings, snake_case fields).")
    var json = false

    /// The database path: `--db`, then `$SHOPFLOOR_DB`, then ``defaultPath``.
    var path: String {
        if let db, !db.isEmpty { return db }
        if let fromEnvironment = ProcessInfo.processInfo.environment["SHOPFLOOR_DB"], !fromEnvironment.isEmpty {
            return fromEnvironment
        }
        return Self.defaultPath
    }
}
