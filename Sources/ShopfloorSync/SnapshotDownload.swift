import Foundation
import ShopfloorReplication
import ShopfloorStore
import Synchronization

/// A snapshot being downloaded beside the replica's file (`FILE.snapshot`, and its id in `FILE.snapshot.id`), kept
/// across a kill so the next sync resumes it, and installed into the replica once every byte is there and verified.
/// The bytes are hashed as they are stored, in order; a resumed download first hashes the part it kept.
package final class SnapshotDownload: Sendable {
    package let replica: Replica
    private let digest = Mutex<SnapshotDigest?>(nil)

    package init(replica: Replica) {
        self.replica = replica
    }

    var file: String { replica.path + ".snapshot" }
    var idFile: String { replica.path + ".snapshot.id" }

    /// What a killed sync left: the snapshot's id and how many bytes of it are stored.
    package func partial() -> (id: String, bytes: Int64)? {
        guard let id = try? String(contentsOfFile: idFile, encoding: .utf8),
            let size = (try? FileManager.default.attributesOfItem(atPath: file))?[.size] as? Int64
        else { return nil }
        return (id.trimmingCharacters(in: .whitespacesAndNewlines), size)
    }

    /// Writes bytes at `offset`; from 0, a new file for snapshot `id`.
    package func store(id: String, offset: Int64, bytes: [UInt8]) throws {
        if offset == 0 {
            remove()
            try Data(id.utf8).write(to: URL(fileURLWithPath: idFile), options: .atomic)
            guard FileManager.default.createFile(atPath: file, contents: nil, attributes: [.posixPermissions: 0o600])
            else { throw CocoaError(.fileWriteUnknown) }
        }
        try digest.withLock { digest in
            if digest?.bytes != offset {
                digest = offset == 0 ? SnapshotDigest() : try SnapshotDigest(reading: file, limit: offset)
            }
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: file))
            defer { try? handle.close() }
            try handle.seek(toOffset: UInt64(offset))
            try handle.write(contentsOf: bytes)
            try handle.truncate(atOffset: UInt64(offset) + UInt64(bytes.count))
            digest?.update(bytes)
            // The kernel starts writing the file back now, and frees what it has written: the pages are reused for the
            // next pieces instead of the download filling the page cache and then waiting for one long write-back.
            _ = posix_fadvise(handle.fileDescriptor, 0, 0, POSIX_FADV_DONTNEED)
        }
        // Never synced: bytes a power loss takes make the file fail its hash, and it is fetched again. The install
        // is what makes the replica durable.
    }

    /// Checks the file against the manifest and installs it; a file that does not verify is thrown away.
    package func install(_ manifest: SnapshotManifest) throws -> SyncSession.Event {
        guard let size = (try? FileManager.default.attributesOfItem(atPath: file))?[.size] as? Int64 else {
            return .installRefused("the snapshot file is gone")
        }
        // On disk before it is trusted (mostly written back already, piece by piece): a failed write-back shows here.
        try Replica.synchronize(file)
        // The running hash stands for the file when it covers every byte of it.
        let kept = digest.withLock { $0?.bytes == size ? $0 : nil }
        let computed = try kept ?? SnapshotDigest(reading: file)
        guard computed.bytes == manifest.bytes, computed.hex == manifest.sha256 else {
            remove()
            return .installRefused(
                "the snapshot's \(computed.bytes) bytes hash to \(computed.hex), not to \(manifest.sha256)")
        }
        do {
            _ = try replica.installSnapshot(from: file)
        } catch let refusal as SnapshotRefusal {
            remove()
            return .installRefused(refusal.description)
        }
        remove()
        return .installed(
            SyncSession.Integration(
                accepted: 0, vector: replica.versionVector, sequencedThrough: replica.sequencedThrough))
    }

    package func remove() {
        digest.withLock { $0 = nil }
        for path in [file, idFile, file + "-journal"] { try? FileManager.default.removeItem(atPath: path) }
    }
}
