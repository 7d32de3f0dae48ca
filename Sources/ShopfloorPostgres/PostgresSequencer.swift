import ShopfloorReplication
import ShopfloorStore

/// HQ's sequencer on the company's PostgreSQL: the push and the pull of any node, with the fold shared with SQLite
/// (``Replica/integrateShared(group:crashSite:_:)``). A node holds nothing between transactions.
extension PostgresStore {
    /// Stores and folds a group of pushes in one transaction: the company's sequence row is locked first
    /// (`SELECT … FOR UPDATE`), so a push stored through another node at the same moment waits, and every node
    /// numbers and folds after what the last one committed. A node killed before the COMMIT leaves nothing; the
    /// device's retry then gets `duplicate` for what did commit.
    public func integrate(
        group: [PushBatch], crashSite: (@Sendable (CrashSite) throws -> Void)? = nil
    ) async throws -> [IntegrationReport] {
        try await withExecutor("store a push") { sql in
            guard try sql.scalar("SELECT next FROM hq_sequence WHERE id = 1 FOR UPDATE") != nil else {
                throw PostgresStoreError.statement("store a push", reason: "hq_sequence has no row: run migrate")
            }
            let reports = try Replica.integrateShared(group: group, crashSite: crashSite, sql)
            let highest = try sql.scalar("SELECT MAX(seq) FROM ops")?.uint64() ?? 0
            try sql.execute("UPDATE hq_sequence SET next = ? WHERE id = 1", highest + 1)
            return reports
        }
    }

    /// One pull page, read in one transaction (PROTOCOL.md: the same page a SQLite HQ gives).
    public func page(
        after: UInt64, holding vector: VersionVector, limit: Int, bytesMax: Int = .max
    ) async throws -> PullPage {
        try await withExecutor("read a pull page", idempotent: true) { sql in
            try Replica.page(after: after, holding: vector, limit: limit, bytesMax: bytesMax, sql)
        }
    }
}
