import Foundation
import GRDB
import ShopfloorStore
import Testing

extension CLIProcessTests {
    /// Replicas made by earlier releases (Fixtures/*-worked-example.sqlite: schema v1, and fold version 5 with the
    /// document tables) open with the current code: intact, same figures, the recorded digest, equal to a rebuild,
    /// stable across reopens, and they take new operations.
    @Suite struct MigrationTests {
        static let fixtures = ["v1-worked-example", "v5-worked-example"]
        /// The fixture `writeFixture` makes (SHOPFLOOR_FIXTURE_NAME, default the first one).
        static var fixture: String { ProcessInfo.processInfo.environment["SHOPFLOOR_FIXTURE_NAME"] ?? fixtures[0] }

        /// Fixtures/v1-worked-example.json: what the release that made the fixture reported.
        struct FixtureFacts: Codable, Equatable {
            /// `digest --json` of the release that made the fixture.
            var digest: String
            var operations: Int
            var replica: String
            var madeBy: String
            /// Set only when a later release changes the digest's definition on purpose: the digest the upgraded
            /// fixture must then have (instead of `digest`).
            var upgradedDigest: String?

            enum CodingKeys: String, CodingKey {
                case digest, operations, replica
                case madeBy = "made_by"
                case upgradedDigest = "upgraded_digest"
            }
        }

        /// How the fixture was made (22 operations): the worked catalog and opening stock; PO-1 (10 chairs at 12.00)
        /// entered, started, edited, receipt R-1 of 4 chairs kept and R-2 of 2 chairs voided; PO-2 entered and
        /// cancelled.
        static func recipe(_ floor: CLISandbox, name: String) throws -> InitJSON {
            let created = try floor.json(InitJSON.self, ["init", "--name", name])
            try floor.seedWorkedCatalog()
            try floor.record(
                "order", "create", "--kind", "production", "--number", "PO-1", "--location", "PLANT", "--output",
                "CHAIR=10@12.00")
            try floor.record("order", "enter", "PO-1")
            try floor.record("order", "start", "PO-1")
            try floor.record("order", "edit", "PO-1", "--notes", "first chairs", "--due", "2026-12-01")
            try floor.record("receipt", "add", "PO-1", "CHAIR=4", "--id", "R-1", "--date", "2026-11-22")
            try floor.record("receipt", "add", "PO-1", "CHAIR=2", "--id", "R-2", "--date", "2026-11-23")
            try floor.record("receipt", "void", "R-2")
            try floor.record(
                "order", "create", "--kind", "production", "--number", "PO-2", "--location", "PLANT", "--output",
                "CHAIR=3@12.00", "--notes", "to be cancelled")
            try floor.record("order", "enter", "PO-2")
            try floor.record("order", "cancel", "PO-2")
            return created
        }

        /// Regenerates the fixture: `SHOPFLOOR_WRITE_FIXTURES=1 [SHOPFLOOR_FIXTURE_CLI=/path/to/old/shopfloor]
        /// [SHOPFLOOR_FIXTURE_MADE_BY=text] swift test --skip-build --filter writeFixture`. Refuses to overwrite: the
        /// point of the fixture is that an old release made it.
        @Test(.enabled(if: ProcessInfo.processInfo.environment["SHOPFLOOR_WRITE_FIXTURES"] == "1"))
        func writeFixture() throws {
            let environment = ProcessInfo.processInfo.environment
            let folder = CLIBinary.testsFolder.appendingPathComponent("Fixtures")
            let database = folder.appendingPathComponent("\(Self.fixture).sqlite")
            let facts = folder.appendingPathComponent("\(Self.fixture).json")
            guard !FileManager.default.fileExists(atPath: database.path) else {
                Issue.record("\(database.path) exists: delete it (and its .json) to make a new one")
                return
            }
            let binary = environment["SHOPFLOOR_FIXTURE_CLI"].map { URL(fileURLWithPath: $0) }
            let floor = try CLISandbox("fixture", binary: binary)
            let created = try Self.recipe(floor, name: Self.replicaName(Self.fixture))
            let digest = try floor.digest()
            #expect(digest.operations == 22)

            // Fold the WAL into the database file so the copy needs no -wal or -shm file.
            let sqlite = Process()
            sqlite.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
            sqlite.arguments = [floor.databasePath, "PRAGMA wal_checkpoint(TRUNCATE);"]
            sqlite.standardOutput = FileHandle.nullDevice
            try sqlite.run()
            sqlite.waitUntilExit()
            #expect(sqlite.terminationStatus == 0)
            for suffix in ["-wal", "-shm"] {
                let size =
                    (try? FileManager.default.attributesOfItem(atPath: floor.databasePath + suffix))?[.size] as? Int
                    ?? 0
                #expect(size == 0, "\(suffix) still holds \(size) bytes")
            }
            try FileManager.default.copyItem(at: URL(fileURLWithPath: floor.databasePath), to: database)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let made = FixtureFacts(
                digest: digest.digest, operations: digest.operations, replica: created.replica,
                madeBy: environment["SHOPFLOOR_FIXTURE_MADE_BY"] ?? "shopfloor at \(floor.binary.path)")
            try (encoder.encode(made) + Data("\n".utf8)).write(to: facts)
        }

        /// The replica name the recipe gave a fixture ("v1-fixture" for "v1-worked-example").
        static func replicaName(_ fixture: String) -> String {
            fixture.replacingOccurrences(of: "-worked-example", with: "-fixture")
        }

        /// The fixture copied into a fresh sandbox, and what the JSON beside it says.
        static func copiedFixture(_ fixture: String) throws -> (CLISandbox, FixtureFacts) {
            guard
                let database = Bundle.module.url(
                    forResource: fixture, withExtension: "sqlite", subdirectory: "Fixtures"),
                let json = Bundle.module.url(forResource: fixture, withExtension: "json", subdirectory: "Fixtures")
            else {
                throw HarnessFailure("Fixtures/\(fixture).sqlite or .json is missing from the test bundle")
            }
            #expect(
                Bundle.module.url(forResource: fixture, withExtension: "sqlite-wal", subdirectory: "Fixtures") == nil,
                "the fixture must not need a -wal file")
            let facts = try JSONDecoder().decode(FixtureFacts.self, from: Data(contentsOf: json))
            let floor = try CLISandbox("migration")
            try FileManager.default.copyItem(at: database, to: URL(fileURLWithPath: floor.databasePath))
            return (floor, facts)
        }

        @Test(arguments: fixtures)
        func fixtureOpensWithTheRecordedDigestAndEqualsARebuild(fixture: String) throws {
            let (floor, facts) = try Self.copiedFixture(fixture)
            #expect(facts.operations == 22)
            let replica = try Replica.openQuietly(at: floor.databasePath)
            #expect(try replica.integrityCheck() == "ok")
            #expect(replica.id == facts.replica && replica.name == Self.replicaName(fixture))
            #expect(replica.operationCount == facts.operations)
            let opened = try replica.digest()
            #expect(
                opened == facts.upgradedDigest ?? facts.digest,
                """
                the same operation log has another digest after the upgrade than its release reported, so an \
                upgraded replica and an old one holding the same operations disagree; if the digest's definition \
                changed on purpose, record the new value as "upgraded_digest" in Fixtures/\(fixture).json
                """)
            try replica.rebuild()
            #expect(
                try replica.digest() == opened, "after the upgrade the projections differ from a rebuild of the log")
            #expect(try replica.integrityCheck() == "ok")
            #expect(replica.operationCount == facts.operations)
            // Upgraded once: a reopen neither re-derives nor changes anything.
            let reopened = try Replica.openQuietly(at: floor.databasePath)
            #expect(try reopened.digest() == opened, "the digest moved on a second open")
        }

        @Test(arguments: fixtures)
        func fixtureKeepsItsFiguresAndTakesNewOperations(fixture: String) throws {
            let (floor, facts) = try Self.copiedFixture(fixture)
            // Through the CLI: the upgrade happens on the first open.
            #expect(try floor.digest().operations == facts.operations)
            #expect(
                try floor.position("STEEL").figures
                    == "on_hand 140, on_order 0, demand 0, allocated 15, available 125, projected 125, value 308")
            #expect(
                try floor.position("CHAIR").figures
                    == "on_hand 4, on_order 6, demand 0, allocated 0, available 4, projected 10, value 84.4")
            let po1 = try floor.order("PO-1")
            #expect(po1.status == "Production" && po1.notes == "first chairs" && po1.due == "2026-12-01")
            #expect(
                po1.lines.map { "\($0.sku) \($0.produced)/\($0.ordered) @\($0.unitCost ?? "-")" } == ["CHAIR 4/10 @12"])
            #expect(
                po1.receipts.map { "\($0.id) \($0.date) voided \($0.voided)" } == [
                    "R-1 2026-11-22 voided false", "R-2 2026-11-23 voided true",
                ])
            let po2 = try floor.order("PO-2")
            #expect(po2.status == "Cancelled" && po2.allowedEvents.isEmpty && po2.notes == "to be cancelled")
            #expect(
                try floor.ledger("--ref", "PO-2").map(\.line) == [
                    "ORDER CHAIR 3", "DEMAND BOLT 18", "DEMAND PAINT 0.6", "DEMAND STEEL 7.5",
                    "REVERSE_ORDER CHAIR -3", "REVERSE_DEMAND BOLT -18", "REVERSE_DEMAND PAINT -0.6",
                    "REVERSE_DEMAND STEEL -7.5",
                ])
            #expect(try floor.ledger("--ref", "PO-1").filter { $0.event.hasPrefix("REVERSE_") }.count == 4)
            try floor.expectPositionsMatchLedger()

            // New operations on the old replica: the rest of PO-1 arrives.
            let received = try floor.record("receipt", "add", "PO-1", "CHAIR=6", "--id", "R-3")
            #expect(received.status == "Received")
            #expect(received.operation == "\(facts.replica):\(facts.operations + 1)")
            #expect(
                try floor.ledger("--ref", "PO-1").filter { $0.operation == received.operation }.map(\.line) == [
                    "CONSUME BOLT -36 @0.1 = -3.6", "CONSUME PAINT -1.2 @15 = -18", "CONSUME STEEL -15 @2.2 = -33",
                    "PRODUCE CHAIR 6 @21.1 = 126.6",
                ])
            #expect(
                try floor.position("STEEL").figures
                    == "on_hand 125, on_order 0, demand 0, allocated 0, available 125, projected 125, value 275")
            #expect(
                try floor.position("CHAIR").figures
                    == "on_hand 10, on_order 0, demand 0, allocated 0, available 10, projected 10, value 211")
            let after = try floor.digest()
            #expect(after.operations == facts.operations + 1 && after.digest != facts.digest)
            let rebuilt = try floor.json(RebuildJSON.self, ["rebuild"])
            #expect(rebuilt.equal && rebuilt.after == after.digest)
            try floor.expectPositionsMatchLedger()
        }
    }
}
