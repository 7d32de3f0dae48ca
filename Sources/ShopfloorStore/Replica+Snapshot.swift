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

    public var description: String {
        switch self {
        case .holdsMore(let vector): "the device holds operations the snapshot lacks (device \(vector))"
        case .otherFormat(let format): "the snapshot is in another format (\(format)), not \(Replica.snapshotFormat)"
        }
    }
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
        guard let handle = FileHandle(forReadingAtPath: path) else { throw CocoaError(.fileReadNoSuchFile) }
        defer { try? handle.close() }
        var hasher = SHA256()
        var bytes: Int64 = 0
        while let piece = try handle.read(upToCount: 1 << 20), !piece.isEmpty {
            hasher.update(data: piece)
            bytes += Int64(piece.count)
        }
        return (bytes, hasher.finalize().map { String(format: "%02x", $0) }.joined())
    }

    /// Replaces this replica's log and projections with a snapshot's, in one transaction, keeping its identity, its
    /// order numbering and its other tables (a device's enrolment and sync progress). Refused, changing nothing,
    /// when the snapshot is in another format or lacks an operation this replica holds: nothing is ever lost.
    public func installSnapshot(from path: String) throws -> SnapshotContents {
        try state.withLock { state in
            let contents = try database.writeWithoutTransaction { db -> SnapshotContents in
                // Alone on the file, the copy goes through a rollback journal: it writes the rows once, where WAL
                // writes them to the log and then again into the file (27 s against 14 s for a 2 GB snapshot here).
                // Leaving WAL needs every other connection closed; with one open, the copy stays in WAL.
                let alone = (try? String.fetchOne(db, sql: "PRAGMA journal_mode = DELETE")) == "delete"
                if alone { try db.execute(sql: "PRAGMA synchronous = FULL") }
                defer {
                    if alone {
                        _ = try? String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
                        try? db.execute(
                            sql: configuration.durable ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL")
                    }
                }
                try db.execute(sql: "ATTACH DATABASE ? AS snapshot", arguments: [path])
                defer { try? db.execute(sql: "DETACH DATABASE snapshot") }
                // The rows come from one consistent file: checking every foreign key of every row again would cost
                // as much as the copy.
                try db.execute(sql: "PRAGMA foreign_keys = OFF")
                defer { try? db.execute(sql: "PRAGMA foreign_keys = ON") }
                var installed: SnapshotContents?
                try db.inTransaction(.immediate) {
                    let contents = try Self.snapshotContents(db, schema: "snapshot")
                    guard contents.format == Self.snapshotFormat else {
                        throw SnapshotRefusal.otherFormat(contents.format)
                    }
                    var held = VersionVector()
                    for row in try Row.fetchAll(db, sql: "SELECT replica, counter FROM main.version_vector") {
                        held[row[0]] = UInt64(row[1] as Int64)
                    }
                    guard held.counters.allSatisfy({ contents.vector[$0.key] >= $0.value }) else {
                        throw SnapshotRefusal.holdsMore(held)
                    }
                    for table in Schema.projectionTables + ["version_vector", "ops"] {
                        try db.execute(sql: "DELETE FROM main.\(table)")
                    }
                    for table in Self.snapshotTables {
                        try db.execute(sql: "INSERT INTO main.\(table) SELECT * FROM snapshot.\(table)")
                    }
                    try db.execute(sql: "DELETE FROM main.meta WHERE key IN ('boundary', 'folded_key')")
                    for key in Self.snapshotMeta {
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
            state = try database.read { try Self.loadState($0) }
            state.dataVersion = try database.read { try Self.dataVersion($0) }
            return contents
        }
    }
}
