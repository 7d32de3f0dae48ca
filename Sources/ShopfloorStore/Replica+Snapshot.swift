import Crypto
import Foundation
import GRDB
import ShopfloorReplication

/// What a snapshot file holds (PROTOCOL.md §20): the operation log, the version vector and every projection of a
/// replica at one point of HQ's sequence, in a SQLite file of the replica's own schema. Not in it: the replica's
/// identity, its order numbering, and HQ's own tables (devices, tokens, refusals), whose secrets never leave HQ.
public struct SnapshotContents: Sendable, Equatable {
    /// HQ's highest sequence number in it: every operation numbered up to it, and no other.
    public var seq: UInt64
    public var vector: VersionVector
    public var operations: UInt64
    /// The replica schema it is written in (the last migration's identifier) and the fold's version: a device
    /// installs only a snapshot of its own.
    public var format: String
}

/// Why a snapshot was not installed; the device then pulls the log instead.
public enum SnapshotRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    /// The device holds operations the snapshot lacks (recorded after its push, or a snapshot older than the
    /// device's state): installing would lose them.
    case holdsMore(VersionVector)
    /// Another replica schema or fold version.
    case otherFormat(String)
    /// The replica has a schema object (a view, a trigger) that a snapshot file cannot be given.
    case uncarried(String)

    public var description: String {
        switch self {
        case .holdsMore(let vector): "the device holds operations the snapshot lacks (device \(vector))"
        case .otherFormat(let format): "the snapshot is in another format (\(format)), not \(Replica.snapshotFormat)"
        case .uncarried(let object): "the replica's \(object) cannot be carried into a snapshot"
        }
    }
}

/// A SHA-256 over bytes taken in order: a download's hash is known as its last byte arrives, with no second read of
/// the file.
public struct SnapshotDigest {
    private var hasher = SHA256()
    /// The bytes hashed so far.
    public private(set) var bytes: Int64 = 0

    public init() {}

    /// The hash of a file's first `limit` bytes (all of them by default), read in 1 MiB pieces.
    public init(reading path: String, limit: Int64 = .max) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw CocoaError(.fileReadNoSuchFile) }
        defer { try? handle.close() }
        while bytes < limit, let piece = try handle.read(upToCount: Int(min(1 << 20, limit - bytes))), !piece.isEmpty {
            update(piece)
        }
    }

    public mutating func update(_ piece: some DataProtocol) {
        hasher.update(data: piece)
        bytes += Int64(piece.count)
    }

    /// Lowercase hex, as a manifest states it.
    public var hex: String { hasher.finalize().map { String(format: "%02x", $0) }.joined() }
}

extension Replica {
    /// The tables a snapshot carries: the log, the vector and the projections (the suffix and its undo images are a
    /// device's own and are empty at HQ).
    static let snapshotTables =
        ["ops", "version_vector"] + Schema.projectionTables.filter { $0 != "suffix" && $0 != "undo" }

    /// The meta keys a snapshot carries: where the fold stands.
    static let snapshotMeta = ["lamport", "folded_count", "folded_key"]

    /// This build's snapshot format: the replica schema's last migration and the fold's version.
    public static var snapshotFormat: String {
        "\(Schema.migrator.migrations.last ?? "none")/fold-\(Fold.version)"
    }

    /// Writes a snapshot of this replica (HQ's) into a new file at `path`, read in one transaction so it is one
    /// point of the sequence. The file is complete, in rollback-journal mode, when this returns.
    public func writeSnapshot(to path: String) throws -> SnapshotContents {
        for suffix in ["", "-journal", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        try Self.restrictToOwner(path)
        var config = Configuration()
        config.foreignKeysEnabled = false
        config.prepareDatabase { db in
            // A file nobody reads until it is complete: a crash leaves a file that is thrown away.
            try db.execute(sql: "PRAGMA journal_mode = OFF")
            try db.execute(sql: "PRAGMA synchronous = OFF")
            try db.execute(sql: "PRAGMA cache_size = -\(Self.pageCacheKiB)")
        }
        let snapshot = try DatabaseQueue(path: path, configuration: config)
        try Schema.migrator.migrate(snapshot)
        let source = self.path
        let contents = try snapshot.writeWithoutTransaction { db -> SnapshotContents in
            try db.execute(sql: "ATTACH DATABASE ? AS source", arguments: [source])
            defer { try? db.execute(sql: "DETACH DATABASE source") }
            var contents: SnapshotContents?
            // Deferred: an immediate transaction would take the write lock of every attached file, HQ's too, and
            // hold HQ's pushes for as long as the copy runs. Deferred, HQ's file is only read (WAL: never blocking).
            try db.inTransaction(.deferred) {
                for table in Self.snapshotTables {
                    try db.execute(sql: "INSERT INTO main.\(table) SELECT * FROM source.\(table)")
                }
                for key in Self.snapshotMeta {
                    try db.execute(
                        sql:
                            "INSERT OR REPLACE INTO main.meta (key, value) SELECT key, value FROM source.meta WHERE key = ?",
                        arguments: [key])
                }
                try db.execute(
                    sql: "INSERT OR REPLACE INTO main.meta (key, value) VALUES ('fold_version', ?), ('format', ?)",
                    arguments: ["\(Fold.version)", Self.snapshotFormat])
                contents = try Self.snapshotContents(db, schema: "main")
                return .commit
            }
            return contents!
        }
        try snapshot.close()
        return contents
    }

    static func snapshotContents(_ db: Database, schema: String) throws -> SnapshotContents {
        var vector = VersionVector()
        for row in try Row.fetchAll(db, sql: "SELECT replica, counter FROM \(schema).version_vector") {
            vector[row[0]] = UInt64(row[1] as Int64)
        }
        let seq = try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM \(schema).ops") ?? 0
        let format = try String.fetchOne(db, sql: "SELECT value FROM \(schema).meta WHERE key = 'format'") ?? "none"
        return SnapshotContents(seq: UInt64(seq), vector: vector, operations: vector.total, format: format)
    }

    /// A snapshot file's size and lowercase hex SHA-256, read in 1 MiB pieces (what its manifest states, and what
    /// a device checks before installing it).
    public static func snapshotDigest(at path: String) throws -> (bytes: Int64, sha256: String) {
        let digest = try SnapshotDigest(reading: path)
        return (digest.bytes, digest.hex)
    }

    /// Replaces this replica's log and projections with a snapshot's, keeping its identity, its order numbering and
    /// its other tables (a device's enrolment and sync progress). Refused, changing nothing, when the snapshot is in
    /// another format or lacks an operation this replica holds: nothing is ever lost.
    ///
    /// Alone on its file, the replica adopts the snapshot file as its own (``adopt(_:)``): the file is given the
    /// replica's own rows, synced, and renamed over the replica's, so its gigabytes are written once, at the disk's
    /// speed, and no row is decoded. With another replica or connection open on the file, the rows are copied in one
    /// transaction instead. Either way the file at `path` is consumed: it is gone, or to be deleted. Nothing else
    /// may use this replica while it runs.
    public func installSnapshot(from path: String) throws -> SnapshotContents {
        try state.withLock { state in
            defer {
                if let loaded = try? database.read({ try Self.loadState($0) }) { state = loaded }
                state.dataVersion = (try? database.read { try Self.dataVersion($0) }) ?? 0
            }
            if lock.exclusive() {
                defer { lock.shared() }
                if try fence() {
                    do { return try adopt(path) } catch SnapshotRefusal.uncarried {
                        try unfence()
                    } catch let error as AdoptionFailure {
                        throw error.underlying
                    } catch {
                        try? unfence()
                        throw error
                    }
                }
            }
            return try database.writeWithoutTransaction { try Self.installRows(from: path, $0) }
        }
    }

    /// Takes the file's lock for good (SQLite's exclusive locking mode, out of WAL) when no other SQLite connection
    /// has the file open: leaving WAL needs that. False, changing nothing, if one has.
    func fence() throws -> Bool {
        try database.writeWithoutTransaction { db in
            guard (try? String.fetchOne(db, sql: "PRAGMA journal_mode = DELETE")) == "delete" else { return false }
            try db.execute(sql: "PRAGMA main.locking_mode = EXCLUSIVE")
            do {
                try db.inTransaction(.exclusive) { .commit }
                return true
            } catch {
                try unfenced(db)
                return false
            }
        }
    }

    /// Lets the lock go and returns to WAL.
    func unfence() throws {
        try database.writeWithoutTransaction { try unfenced($0) }
    }

    private func unfenced(_ db: Database) throws {
        try db.execute(sql: "PRAGMA main.locking_mode = NORMAL")
        // The lock is let go at the next access.
        _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
    }

    /// A failure once the snapshot file was renamed over the replica's: the replica's connection is the new file's
    /// already, and the old one must not be touched again.
    struct AdoptionFailure: Error {
        var underlying: Error
    }

    /// Makes the snapshot file this replica's file, both locks held throughout: checks it, gives it the replica's own
    /// rows, syncs it and renames it over the replica's file (atomic: after a crash the path names the old file or
    /// the new one, whole). A connection to the new file replaces the old one before the old one is closed.
    func adopt(_ snapshot: String) throws -> SnapshotContents {
        let contents = try database.writeWithoutTransaction { db -> SnapshotContents in
            try db.execute(sql: "ATTACH DATABASE ? AS snapshot", arguments: [snapshot])
            defer { try? db.execute(sql: "DETACH DATABASE snapshot") }
            // The own rows are written unsynced here; the whole file is synced once, below.
            _ = try String.fetchOne(db, sql: "PRAGMA snapshot.journal_mode = MEMORY")
            try db.execute(sql: "PRAGMA snapshot.synchronous = OFF")
            var contents: SnapshotContents?
            try db.inTransaction(.immediate) {
                contents = try Self.checkedContents(db)
                try Self.giveOwnRows(db)
                return .commit
            }
            return contents!
        }
        try Self.synchronize(snapshot)
        guard Foundation.rename(snapshot, path) == 0 else {
            throw ReplicaError.permissions(path: path, reason: String(cString: strerror(errno)))
        }
        // Not synced, the rename may be undone by a power loss: the old file then comes back whole, only behind.
        let directory = (path as NSString).deletingLastPathComponent
        try? Self.synchronize(directory.isEmpty ? "." : directory)
        let old = database
        do {
            let fresh = try Self.connect(path, configuration: configuration)
            if configuration.sequencer { try Self.becomeSequencer(fresh) }
            connection.withLock { $0 = fresh }
        } catch {
            // The old connection must not write to a file no path names: closed, the replica fails from now on, and
            // opened again it is the new file.
            try? old.close()
            throw AdoptionFailure(underlying: error)
        }
        try? old.close()
        return contents
    }

    /// Syncs a file (or a directory's entries) to disk.
    public static func synchronize(_ path: String) throws {
        let descriptor = Foundation.open(path, O_RDONLY)
        guard descriptor >= 0 else {
            throw ReplicaError.permissions(path: path, reason: String(cString: strerror(errno)))
        }
        defer { Foundation.close(descriptor) }
        guard fsync(descriptor) == 0 else {
            throw ReplicaError.permissions(path: path, reason: String(cString: strerror(errno)))
        }
    }

    /// The snapshot's contents, once its format is this build's and it holds every operation the replica does.
    static func checkedContents(_ db: Database) throws -> SnapshotContents {
        let contents = try snapshotContents(db, schema: "snapshot")
        guard contents.format == snapshotFormat else { throw SnapshotRefusal.otherFormat(contents.format) }
        var held = VersionVector()
        for row in try Row.fetchAll(db, sql: "SELECT replica, counter FROM main.version_vector") {
            held[row[0]] = UInt64(row[1] as Int64)
        }
        guard held.counters.allSatisfy({ contents.vector[$0.key] >= $0.value }) else {
            throw SnapshotRefusal.holdsMore(held)
        }
        return contents
    }

    /// Writes into the attached snapshot what the replica keeps of its own: every table the snapshot does not carry
    /// (created there when missing, with its indexes), and the meta keys other than where the fold stands.
    static func giveOwnRows(_ db: Database) throws {
        let carried = Set(snapshotTables + Schema.projectionTables + ["meta"])
        let present = Set(try String.fetchAll(db, sql: "SELECT name FROM snapshot.sqlite_master"))
        let objects = try Row.fetchAll(
            db,
            sql: """
                SELECT type, name, tbl_name, sql FROM main.sqlite_master
                WHERE name NOT LIKE 'sqlite_%' AND sql IS NOT NULL ORDER BY type = 'table' DESC
                """)
        for object in objects {
            let (type, name, table, sql): (String, String, String, String) =
                (object["type"], object["name"], object["tbl_name"], object["sql"])
            guard !carried.contains(table), !present.contains(name) else { continue }
            // SQLite stores each CREATE statement normalized ("CREATE TABLE name …", "CREATE [UNIQUE] INDEX name ON
            // table …"): the schema name goes before the object's name.
            let created = ["CREATE TABLE ", "CREATE INDEX ", "CREATE UNIQUE INDEX "].first { sql.hasPrefix($0) }
            guard let created, type == "table" || type == "index" else {
                throw SnapshotRefusal.uncarried("\(type) \(name)")
            }
            try db.execute(sql: created + "snapshot." + sql.dropFirst(created.count))
        }
        for table in Set(objects.filter { $0["type"] == "table" }.map { $0["tbl_name"] as String })
            .subtracting(carried).sorted()
        {
            try db.execute(sql: "DELETE FROM snapshot.\(table.quotedDatabaseIdentifier)")
            try db.execute(
                sql:
                    "INSERT INTO snapshot.\(table.quotedDatabaseIdentifier) SELECT * FROM main.\(table.quotedDatabaseIdentifier)"
            )
        }
        let kept = snapshotMeta.map { "'\($0)'" }.joined(separator: ", ")
        try db.execute(sql: "DELETE FROM snapshot.meta WHERE key NOT IN (\(kept))")
        try db.execute(
            sql: """
                INSERT INTO snapshot.meta (key, value) SELECT key, value FROM main.meta
                WHERE key NOT IN (\(kept), 'boundary')
                """)
    }

    /// The row copy, in one transaction, for a replica another connection has open (WAL cannot be left then).
    static func installRows(from path: String, _ db: Database) throws -> SnapshotContents {
        try db.execute(sql: "ATTACH DATABASE ? AS snapshot", arguments: [path])
        defer { try? db.execute(sql: "DETACH DATABASE snapshot") }
        // The rows come from one consistent file: checking every foreign key of every row again would cost as much
        // as the copy.
        try db.execute(sql: "PRAGMA foreign_keys = OFF")
        defer { try? db.execute(sql: "PRAGMA foreign_keys = ON") }
        var installed: SnapshotContents?
        try db.inTransaction(.immediate) {
            let contents = try checkedContents(db)
            for table in Schema.projectionTables + ["version_vector", "ops"] {
                try db.execute(sql: "DELETE FROM main.\(table)")
            }
            for table in snapshotTables {
                try db.execute(sql: "INSERT INTO main.\(table) SELECT * FROM snapshot.\(table)")
            }
            try db.execute(sql: "DELETE FROM main.meta WHERE key IN ('boundary', 'folded_key')")
            for key in snapshotMeta {
                try db.execute(
                    sql: """
                        INSERT OR REPLACE INTO main.meta (key, value)
                            SELECT key, value FROM snapshot.meta WHERE key = ?
                        """,
                    arguments: [key])
            }
            installed = contents
            return .commit
        }
        return installed!
    }
}
