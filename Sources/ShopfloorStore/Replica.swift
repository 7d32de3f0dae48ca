import Foundation
import GRDB
import Logging
import ShopfloorDomain
import ShopfloorReplication
import Synchronization

/// How a replica is opened. Time is injected so tests and the simulator are deterministic.
public struct ReplicaConfiguration: Sendable {
    /// The wall clock for timestamps and default business dates.
    public var now: @Sendable () -> Date
    /// `synchronous=FULL` (every commit survives power loss) when true; `NORMAL` (survives a crash) when false.
    public var durable: Bool
    /// True for HQ: it assigns the sequence numbers that define the canonical order (kept once set).
    public var sequencer: Bool
    public var logger: Logger
    /// Fault injection (tests and the simulator): called inside write transactions at named sites
    /// (``CrashSite``); throwing aborts the transaction mid-way, as a crash at that point would.
    public var crashSite: (@Sendable (CrashSite) throws -> Void)?

    public init(
        now: @escaping @Sendable () -> Date = { Date() }, durable: Bool = true, sequencer: Bool = false,
        logger: Logger = Logger(label: "shopfloor.replica"), crashSite: (@Sendable (CrashSite) throws -> Void)? = nil
    ) {
        self.now = now
        self.durable = durable
        self.sequencer = sequencer
        self.logger = logger
        self.crashSite = crashSite
    }
}

/// Points inside a write transaction where ``ReplicaConfiguration/crashSite`` is called.
public enum CrashSite: String, Sendable, CaseIterable {
    /// `record`: one operation and its projections are written; the batch may have more to come.
    case recordedOperation = "record.operation-written"
    /// `integrate`: the admitted operations are in the log, nothing folded yet.
    case integratedOperations = "integrate.operations-inserted"
    /// `integrate`: operations folded and projections written, clocks not saved yet.
    case integratedFold = "integrate.folded"
    /// `rebuild`: projections cleared and re-derived, clocks not saved yet.
    case rebuiltFold = "rebuild.folded"
}

/// The in-memory side of a replica: clocks and where the fold stands, guarded by one lock. No authoritative domain
/// state: every fold reads the working set its batch needs from the file (or the bounded cache of rows the file
/// holds) and writes back what changed.
struct ReplicaState: Sendable {
    /// The canonical key of the last operation folded.
    var last: CanonicalKey?
    /// Operations folded (a conflict's position in the fold).
    var count = 0
    var vector: VersionVector
    var lamport: UInt64
    var arrival: Int64
    var orderSequence: Int
    /// HQ assigns sequence numbers; devices learn them.
    var sequencer = false
    /// The next sequence number to assign (sequencer only).
    var nextSeq: UInt64 = 1
    /// Where the unsequenced suffix of the fold begins, when there is one.
    var boundary: Boundary?
    /// SQLite's `PRAGMA data_version` when this state was last in step with the file: another process's commit
    /// changes it, and the state is then reloaded before writing.
    var dataVersion: Int64 = 0
    /// Rows of recent working sets, exact while only this state's folds write the projections.
    var cache = WorkingSetCache()
}

/// The fold position just before the first operation folded without a sequence number.
struct Boundary: Sendable, Codable, Equatable {
    var last: CanonicalKey?
    var count: Int
}

/// A replica on one SQLite file: the operation log is the source of truth, and every projection is written in the
/// same transaction as the operation that changed it.
public final class Replica: Sendable {
    public let path: String
    public let id: String
    public let name: String
    /// The connection to the file; replaced only when a snapshot becomes the file (``installSnapshot(from:)``).
    let connection: Mutex<DatabaseQueue>
    var database: DatabaseQueue { connection.withLock { $0 } }
    let state: Mutex<ReplicaState>
    let configuration: ReplicaConfiguration
    /// Held shared while this replica is open; exclusively while a snapshot replaces its file.
    let lock: ReplicaLock

    init(
        path: String, id: String, name: String, database: DatabaseQueue, state: ReplicaState,
        configuration: ReplicaConfiguration, lock: ReplicaLock
    ) {
        self.lock = lock
        self.path = path
        self.id = id
        self.name = name
        self.connection = Mutex(database)
        self.state = Mutex(state)
        self.configuration = configuration
    }

    /// SQLite's page cache per connection.
    static let pageCacheKiB = 32 * 1024

    static func connect(_ path: String, configuration: ReplicaConfiguration) throws -> DatabaseQueue {
        var config = Configuration()
        config.foreignKeysEnabled = true
        config.busyMode = .timeout(5)
        let durable = configuration.durable
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: durable ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL")
            // A batch writes many rows in one transaction: a page cache that holds them keeps SQLite from spilling
            // to the WAL mid-transaction (the default is 2 MiB). Bounded, so memory stays bounded by the batch.
            try db.execute(sql: "PRAGMA cache_size = -\(Self.pageCacheKiB)")
        }
        try restrictToOwner(path)
        let queue = try DatabaseQueue(path: path, configuration: config)
        try Schema.migrator.migrate(queue)
        return queue
    }

    /// A replica file holds a device's secret (or, at HQ, every device's hashed credentials): it is readable by its
    /// owner only. A new file is created 0600 before SQLite opens it (SQLite gives its WAL and shared-memory files
    /// the main file's mode); an existing one, and its WAL and shared-memory files, are set to 0600.
    static func restrictToOwner(_ path: String) throws {
        guard path != ":memory:", !path.isEmpty else { return }
        if !FileManager.default.fileExists(atPath: path) {
            let descriptor = Foundation.open(path, O_CREAT | O_EXCL | O_WRONLY, 0o600)
            if descriptor >= 0 { close(descriptor) }
        }
        // Another process sharing the replica may remove its WAL and shared-memory files at any moment (when it
        // closes last): a file gone between the check and the change is not an error.
        for file in [path, path + "-wal", path + "-shm"] {
            var status = stat()
            guard stat(file, &status) == 0, status.st_mode & 0o077 != 0 else { continue }
            if chmod(file, 0o600) != 0, errno != ENOENT, file == path {
                throw ReplicaError.permissions(path: path, reason: String(cString: strerror(errno)))
            }
        }
    }

    /// Creates a new replica at `path` with a fresh random id (or `id`).
    public static func create(
        at path: String, name: String, id: String? = nil, configuration: ReplicaConfiguration = ReplicaConfiguration()
    ) throws -> Replica {
        guard !name.isEmpty, name.count <= 64, !name.contains(where: { $0.isNewline }) else {
            throw ReplicaError.invalidName(name)
        }
        let database = try connect(path, configuration: configuration)
        let replicaID = id ?? Self.randomID()
        try database.write { db in
            if try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'replica_id'") != nil {
                throw ReplicaError.alreadyInitialized(path: path)
            }
            for (key, value) in [
                ("replica_id", replicaID), ("name", name), ("lamport", "0"), ("order_sequence", "0"),
                ("fold_version", "\(Fold.version)"),
            ] {
                try db.execute(sql: "INSERT INTO meta (key, value) VALUES (?, ?)", arguments: [key, value])
            }
        }
        configuration.logger.info("replica created", metadata: ["replica": "\(replicaID)", "path": "\(path)"])
        return try open(at: path, configuration: configuration)
    }

    /// Opens an existing replica.
    public static func open(
        at path: String, configuration: ReplicaConfiguration = ReplicaConfiguration()
    ) throws -> Replica {
        guard FileManager.default.fileExists(atPath: path) else { throw ReplicaError.notInitialized(path: path) }
        let lock = try ReplicaLock(replica: path)
        let database = try connect(path, configuration: configuration)
        if configuration.sequencer { try becomeSequencer(database) }
        try database.write { db in
            let version = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'fold_version'")
            guard version != "\(Fold.version)" else { return }
            // Folded by another version: projections are derived data, so derive them again from the log.
            if try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'replica_id'") != nil {
                var state = try Self.emptyState(db)
                try Self.refold(&state, db)
                try Self.saveClocks(state, db)
                configuration.logger.notice(
                    "projections rebuilt for this version",
                    metadata: ["from": "\(version ?? "1")", "to": "\(Fold.version)"])
            }
            try db.execute(sql: Upsert.meta, arguments: ["fold_version", "\(Fold.version)"])
        }
        let (id, name, state) = try database.read { db -> (String, String, ReplicaState) in
            guard let id = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'replica_id'"),
                let name = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'name'")
            else { throw ReplicaError.notInitialized(path: path) }
            return (id, name, try Self.loadState(db))
        }
        return Replica(
            path: path, id: id, name: name, database: database, state: state, configuration: configuration, lock: lock)
    }

    static func randomID() -> String {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("abcdefghijkmnpqrstuvwxyz23456789")
        return String((0..<8).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] })
    }

    /// The business date (UTC) for a wall-clock instant.
    public static func businessDate(_ date: Date) -> String {
        let moment = civil(date)
        return padded(moment.year, 4) + "-" + padded(moment.month, 2) + "-" + padded(moment.day, 2)
    }

    /// ISO 8601 with milliseconds, UTC; formatted by hand because a formatter per call is a measurable cost.
    static func timestamp(_ date: Date) -> String {
        let moment = civil(date)
        let seconds = moment.secondOfDay
        return padded(moment.year, 4) + "-" + padded(moment.month, 2) + "-" + padded(moment.day, 2) + "T"
            + padded(seconds / 3600, 2) + ":" + padded(seconds / 60 % 60, 2) + ":" + padded(seconds % 60, 2) + "."
            + padded(moment.millisecond, 3) + "Z"
    }

    /// The UTC calendar date and time of day of a moment, by arithmetic (Howard Hinnant's civil-from-days), not
    /// through `Calendar`: every recorded operation needs both.
    static func civil(_ date: Date) -> (year: Int, month: Int, day: Int, secondOfDay: Int, millisecond: Int) {
        let millis = Int((date.timeIntervalSince1970 * 1000).rounded(.down))
        let (seconds, millisecond) = (millis.floorDivided(by: 1000), millis - millis.floorDivided(by: 1000) * 1000)
        let days = seconds.floorDivided(by: 86_400)
        let secondOfDay = seconds - days * 86_400
        let shifted = days + 719_468
        let era = shifted.floorDivided(by: 146_097)
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day, secondOfDay, millisecond)
    }

    private static func padded(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    // MARK: Recording local operations

    /// Validates `command` against this replica's state and, if accepted, records it as one operation with all its
    /// projections in one transaction. A refusal throws ``ReplicaError/refused(_:)`` and records nothing.
    @discardableResult
    public func record(_ command: Command, date: String? = nil) throws -> Recorded {
        try record([command], date: date)[0]
    }

    /// Work done in a recording's transaction, after the fold, with what was recorded.
    public typealias Bookkeeping = (Database, [Recorded]) throws -> Void

    /// Records several commands atomically: all of them, or (on the first refusal) none. They are folded as one
    /// batch over the working set they read, in one transaction. `bookkeeping` runs in that transaction after the
    /// fold, with what was recorded (HQ keeps an API request's answer there, so a retry finds it or nothing was
    /// written at all); an error it throws records nothing.
    @discardableResult
    public func record(
        _ commands: [Command], date: String? = nil,
        bookkeeping: Bookkeeping? = nil
    ) throws -> [Recorded] {
        let now = configuration.now()
        let businessDate = date ?? Self.businessDate(now)
        do { try validateDate(businessDate) } catch { throw ReplicaError.refused(error) }
        let stamp = Self.timestamp(now)
        return try state.withLock { state in
            do {
                return try database.write { db in
                    try Self.catchUp(&state, db)
                    var next = state
                    // The cache moves to `next` (not copied on its first change); a refusal leaves it empty.
                    state.cache = WorkingSetCache()
                    var ops: [(ShopOperation, Command?)] = []
                    for command in commands {
                        let id = OperationID(replica: self.id, counter: next.vector[self.id] + 1)
                        var op = ShopOperation(
                            id: id, lamport: next.lamport + 1, context: next.vector, timestamp: stamp,
                            date: businessDate, command: command)
                        if next.sequencer {
                            op.seq = next.nextSeq
                            next.nextSeq += 1
                        }
                        next.lamport = op.lamport
                        next.vector.record(id)
                        next.arrival += 1
                        try Self.insert(op, arrival: next.arrival, db)
                        ops.append((op, command))
                    }
                    let steps: [FoldStep]
                    do { steps = try Self.foldBatch(ops, local: true, &next, db) } catch let error as DomainError {
                        throw ReplicaError.refused(error)
                    }
                    try configuration.crashSite?(.recordedOperation)
                    let recorded = zip(ops, steps).map { Recorded(operation: $0.0.0, entries: $0.1.entries) }
                    try bookkeeping?(db, recorded)
                    try Self.saveClocks(next, db, previous: state.vector)
                    // A connection's own writes leave its data_version as catchUp read it.
                    next.dataVersion = state.dataVersion
                    state = next
                    return recorded
                }
            } catch {
                // The transaction rolled back and the state was not moved; reload only if another process wrote.
                if !(error is ReplicaError) { state = try database.read { try Self.loadState($0) } }
                throw error
            }
        }
    }

    /// A recorded operation and the ledger entries it wrote.
    public struct Recorded: Sendable {
        public var operation: ShopOperation
        public var entries: [LedgerEntry]
    }

    /// The next default order number: kind prefix, this replica's id, and a per-replica sequence, so numbers
    /// chosen offline on different devices never collide.
    public func nextOrderNumber(kind: OrderKind) throws -> OrderNumber {
        try state.withLock { state in
            let prefix = kind == .work ? "WO" : "PO"
            var sequence = state.orderSequence
            var number = ""
            try database.write { db in
                try Self.catchUp(&state, db)
                sequence = max(sequence, state.orderSequence)
                let exists = try db.cachedStatement(sql: "SELECT 1 FROM orders WHERE number = ?")
                repeat {
                    sequence += 1
                    number = "\(prefix)-\(id)-\(sequence)"
                } while try Bool.fetchOne(exists, arguments: [number]) != nil
                state.orderSequence = sequence
                try db.execute(sql: Upsert.meta, arguments: ["order_sequence", "\(sequence)"])
            }
            return OrderNumber(number)
        }
    }

    /// The default id for a receipt recorded here next.
    public func nextReceiptID() -> String {
        state.withLock { "RC-\(id)-\($0.vector[id] + 1)" }
    }

    // MARK: Reading state

    /// The whole domain state, read from every projection row. For tests, the simulator's checks and tools: a
    /// command never needs it (each fold reads only its working set).
    public var shop: Shop {
        get throws { try database.read { try ProjectionReader($0).wholeShop() } }
    }

    /// The whole domain state as the projections hold it in `sql`'s transaction (either backend).
    public static func shop(_ sql: any SQLExecutor) throws -> Shop {
        try ProjectionReader(sql).wholeShop()
    }

    /// The domain state the given commands would read: the working set their fold would prefetch. A client
    /// validates commands against it before recording (the record validates again inside its transaction).
    public func workingSet(for commands: [Command]) throws -> Shop {
        try database.read { try ProjectionReader($0).workingSet(for: commands).shop }
    }
    public var versionVector: VersionVector { state.withLock { $0.vector } }
    public var operationCount: Int { state.withLock { Int($0.vector.total) } }
    /// Conflicts in fold order, with their acknowledgement if any.
    public var conflicts: [(conflict: Conflict, acknowledgement: Acknowledgement?)] {
        get throws {
            try database.read { db in
                let sql = db
                let acknowledgements = Dictionary(
                    try sql.rows("SELECT * FROM acknowledgements").map {
                        let ack = try ProjectionReader.acknowledgement($0)
                        return (ack.conflict, ack)
                    }, uniquingKeysWith: { first, _ in first })
                return try sql.rows("SELECT * FROM conflicts ORDER BY position, idx").map {
                    let conflict = try ProjectionReader.conflict($0)
                    return (conflict, acknowledgements[conflict.id])
                }
            }
        }
    }

    /// Runs a read-only query.
    public func read<T>(_ body: (Database) throws -> T) throws -> T {
        try database.read(body)
    }

    /// `PRAGMA integrity_check` result ("ok" when healthy).
    public func integrityCheck() throws -> String {
        try database.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "; ") }
    }
}

extension Replica {
    /// Runs another module's migrations on this file: the sync client's settings and HQ's device registry own their
    /// tables and migrate them themselves (with identifiers of their own), never the replica's.
    public func migrate(_ migrator: DatabaseMigrator) throws {
        try migrator.migrate(database)
    }

    /// Writes sync bookkeeping (devices, sync state) in its own transaction. Never for projections or the log:
    /// those change only through ``record(_:date:)``, ``integrate(_:author:allOrNothing:)`` and ``rebuild()``.
    public func writeBookkeeping<T>(_ body: (Database) throws -> T) throws -> T {
        try database.write(body)
    }
}

extension Int {
    /// Division rounding toward negative infinity.
    fileprivate func floorDivided(by divisor: Int) -> Int {
        let (quotient, remainder) = quotientAndRemainder(dividingBy: divisor)
        return remainder < 0 ? quotient - 1 : quotient
    }
}
