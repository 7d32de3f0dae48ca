import Foundation
import Logging
import NIOCore
import ShopfloorReplication
import ShopfloorStore
import Synchronization

/// HQ's snapshots (PROTOCOL.md §20): files of its replica tables at one sequence number, made on demand when the
/// newest is more than `refreshOperations` behind HQ, kept until a newer one replaces them (the one before stays, for
/// downloads under way).
package final class SnapshotStore: Sendable {
    package let directory: String
    /// A device this many operations behind HQ, or more, is offered a snapshot.
    package let lagMinimum: UInt64
    /// A snapshot this many operations behind HQ is made again before it is offered.
    package let refreshOperations: UInt64
    private let manifests = Mutex<[SnapshotManifest]>([])
    /// One snapshot is made at a time.
    private let making = Mutex<Void>(())

    let logger: Logger

    package init(
        directory: String, lagMinimum: UInt64 = 10_000, refreshOperations: UInt64 = 10_000,
        logger: Logger = Logger(label: "shopfloor.hq.snapshots")
    ) throws {
        self.logger = logger
        self.directory = directory
        self.lagMinimum = lagMinimum
        self.refreshOperations = refreshOperations
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        // Files of an earlier run are not trusted: their manifests were in memory.
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            try? FileManager.default.removeItem(atPath: (directory as NSString).appendingPathComponent(name))
        }
    }

    /// Starts making a snapshot in the background when the newest is `refreshOperations` or more behind HQ (and HQ
    /// holds at least `lagMinimum` operations), so a device far behind finds one ready. Returns at once. HQ calls it
    /// when it starts, not after pushes: each snapshot copies HQ's whole file, and remaking it every lag's worth of
    /// pushes made HTTP ingest copy its history over and over (HQ's peak RSS 313 MiB against 128 in the bench).
    package func refresh(_ replica: Replica) {
        let total = replica.versionVector.total
        guard total >= lagMinimum, isStale(total) else { return }
        DispatchQueue.global(qos: .utility).async {
            do {
                try self.making.withLock { _ in
                    guard self.isStale(replica.versionVector.total) else { return }
                    _ = try self.make(replica)
                }
            } catch {
                self.logger.error("could not make a snapshot", metadata: ["error": "\(error)"])
            }
        }
    }

    private func isStale(_ total: UInt64) -> Bool {
        guard let newest = manifests.withLock({ $0.last }) else { return true }
        return newest.operations + refreshOperations <= total
    }

    /// The snapshot for a device holding `vector`, or nil when pulling the log is the better way (the device is
    /// close behind, or speaks another format). Waits for a snapshot being made.
    package func offer(to vector: VersionVector, format: String, replica: Replica) throws -> SnapshotManifest? {
        let held = replica.versionVector
        guard format == Replica.snapshotFormat, held.total >= vector.total + lagMinimum else { return nil }
        // The device must not hold what a snapshot lacks (its own operations not pushed): it would refuse it.
        guard vector.counters.allSatisfy({ held[$0.key] >= $0.value }) else { return nil }
        return try making.withLock { _ in
            if !isStale(held.total), let newest = manifests.withLock({ $0.last }) { return newest }
            return try make(replica)
        }
    }

    /// The file of a snapshot still offered.
    package func path(of id: String) -> String? {
        manifests.withLock { $0.contains { $0.id == id } } ? file(id) : nil
    }

    private func file(_ id: String) -> String {
        (directory as NSString).appendingPathComponent("\(id).sqlite")
    }

    private func make(_ replica: Replica) throws -> SnapshotManifest {
        let building = (directory as NSString).appendingPathComponent("building.sqlite")
        let started = ContinuousClock.now
        let contents = try replica.writeSnapshot(to: building)
        // On disk before it is offered, under its final name only then: a device's download then never competes
        // with HQ's own writing back of the file.
        try Replica.synchronize(building)
        let written = ContinuousClock.now
        let (bytes, sha256) = try Replica.snapshotDigest(at: building)
        logger.info(
            "snapshot made",
            metadata: [
                "seq": "\(contents.seq)", "bytes": "\(bytes)", "write": "\(written - started)",
                "hash": "\(ContinuousClock.now - written)",
            ])
        let id = "s\(contents.seq)-\(sha256.prefix(12))"
        try? FileManager.default.removeItem(atPath: file(id))
        try FileManager.default.moveItem(atPath: building, toPath: file(id))
        let manifest = SnapshotManifest(
            id: id, seq: contents.seq, vector: contents.vector, operations: contents.operations, bytes: bytes,
            sha256: sha256, format: contents.format)
        let dropped = manifests.withLock { manifests -> [SnapshotManifest] in
            manifests.append(manifest)
            let dropped = Array(manifests.dropLast(2))
            manifests.removeFirst(dropped.count)
            return dropped
        }
        for old in dropped { try? FileManager.default.removeItem(atPath: file(old.id)) }
        return manifest
    }

    /// A snapshot still offered, opened: what is read through it stays readable when a newer snapshot replaces it.
    package func open(_ id: String) -> SnapshotFile? {
        guard let path = path(of: id), let handle = FileHandle(forReadingAtPath: path),
            let size = try? handle.seekToEnd()
        else { return nil }
        return SnapshotFile(handle: handle, size: Int64(size))
    }
}

/// An open snapshot file (closed when the last reference goes).
package final class SnapshotFile: Sendable {
    let handle: FileHandle
    package let size: Int64

    init(handle: FileHandle, size: Int64) {
        self.handle = handle
        self.size = size
    }

    deinit { try? handle.close() }

    /// Up to `count` bytes from `offset`, read with one `pread` (fewer at the file's end).
    package func read(at offset: Int64, count: Int) throws -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: count)
        let descriptor = handle.fileDescriptor
        var failure: Int32 = 0
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { bytes in
            let read = Foundation.pread(descriptor, bytes.baseAddress, count, off_t(offset))
            if read < 0 { failure = errno }
            return max(0, read)
        }
        guard failure == 0 else { throw CocoaError(.fileReadUnknown, userInfo: ["errno": failure]) }
        return buffer
    }
}
