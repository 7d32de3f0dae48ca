import Foundation

/// A `flock` on `FILE.lock` beside a replica file, held shared by every open ``Replica`` for its lifetime (PROTOCOL.md
/// §20). Adopting a snapshot replaces the file under its path, so it needs the lock exclusively: then no other
/// replica, in this process or another, holds the old file open, and one that opens meanwhile waits for the new one.
/// `flock` locks belong to the open descriptor, so they never disturb SQLite's own (POSIX) locks on the file.
final class ReplicaLock: Sendable {
    private let descriptor: Int32

    /// Opens (creating it 0600) and takes the shared lock, waiting while a snapshot is being adopted.
    init(replica path: String) throws {
        descriptor = Foundation.open(path + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw ReplicaError.permissions(path: path + ".lock", reason: String(cString: strerror(errno)))
        }
        Self.take(descriptor, LOCK_SH)
    }

    deinit { Foundation.close(descriptor) }

    /// The exclusive lock, if no other replica holds the file; otherwise the shared one, as before.
    func exclusive() -> Bool {
        if flock(descriptor, LOCK_EX | LOCK_NB) == 0 { return true }
        // Converting a lock is not atomic: a failed attempt may have dropped the shared one.
        Self.take(descriptor, LOCK_SH)
        return false
    }

    /// Back to the shared lock.
    func shared() { Self.take(descriptor, LOCK_SH) }

    private static func take(_ descriptor: Int32, _ operation: Int32) {
        while flock(descriptor, operation) != 0, errno == EINTR {}
    }
}
