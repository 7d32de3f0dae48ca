// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "Shopfloor",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "shopfloor", targets: ["shopfloor"]),
        .executable(name: "shopfloor-hq", targets: ["shopfloor-hq"]),
        .executable(name: "shopfloor-mcp", targets: ["shopfloor-mcp"]),
        .library(name: "ShopfloorDomain", targets: ["ShopfloorDomain"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", exact: "3.12.3"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", exact: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", exact: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types", exact: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", exact: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates.git", exact: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", exact: "1.7.4"),
        .package(url: "https://github.com/modelcontextprotocol/swift-sdk", exact: "0.12.1"),
        .package(url: "https://github.com/apple/swift-metrics", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio", exact: "1.33.2"),
    ],
    targets: [
        // Pure domain: catalog, BOM explosion, orders, lifecycle, ledger, costing. No I/O, no packages.
        .target(name: "ShopfloorDomain"),
        // Pure replication: operations, version vectors, canonical order, the fold. No I/O, no packages.
        .target(name: "ShopfloorReplication", dependencies: ["ShopfloorDomain"]),
        // The SQLite replica: op log + projections in one transaction.
        .target(
            name: "ShopfloorStore",
            dependencies: [
                "ShopfloorDomain", "ShopfloorReplication",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The sync client: pushes and pulls operations over HTTP.
        .target(
            name: "ShopfloorSync",
            dependencies: [
                "ShopfloorReplication", "ShopfloorStore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The MCP tools (orders, receipts, stock, ledger, BOMs, conflicts, digest) over a replica: served by HQ at
        // `/mcp` and by a floor device over stdio (`shopfloor mcp`).
        .target(
            name: "ShopfloorMCP",
            dependencies: [
                "ShopfloorDomain", "ShopfloorReplication", "ShopfloorStore",
                .product(name: "MCP", package: "swift-sdk"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // HQ's PostgreSQL backend: the connection (bounded waits and retries) and the versioned schema, for several
        // HQ nodes in front of one database (README "Scale out", SyncProtocol/POSTGRES.md).
        .target(
            name: "ShopfloorPostgres",
            dependencies: [
                "ShopfloorDomain", "ShopfloorReplication", "ShopfloorStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The HQ server library.
        .target(
            name: "ShopfloorHQ",
            dependencies: [
                "ShopfloorDomain", "ShopfloorReplication", "ShopfloorStore", "ShopfloorMCP",
                .product(name: "MCP", package: "swift-sdk"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The floor CLI's commands, as a library so tests can reach its formatting.
        .target(
            name: "ShopfloorCLI",
            dependencies: [
                "ShopfloorDomain", "ShopfloorStore",
                "ShopfloorSync",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(name: "shopfloor", dependencies: ["ShopfloorCLI"]),
        // `shopfloor mcp` runs this, so the floor CLI does not load the MCP SDK's networking libraries (libcurl and
        // some twenty more) on every command.
        .executableTarget(
            name: "shopfloor-mcp",
            dependencies: [
                "ShopfloorMCP", "ShopfloorReplication", "ShopfloorStore",
                .product(name: "MCP", package: "swift-sdk"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The deterministic simulator: HQ and N replicas in one process, real fold, real SQLite, the shipped sync session
        // and service, a hostile network between them.
        .target(
            name: "ShopfloorSimulator",
            dependencies: [
                "ShopfloorDomain", "ShopfloorReplication", "ShopfloorStore", "ShopfloorHQ", "ShopfloorSync",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "shopfloor-sim",
            dependencies: [
                "ShopfloorSimulator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Benchmarks against the physical limit (release build; tools/bench).
        .executableTarget(
            name: "shopfloor-bench",
            dependencies: [
                "ShopfloorDomain", "ShopfloorReplication", "ShopfloorStore", "ShopfloorHQ", "ShopfloorSync",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .executableTarget(
            name: "shopfloor-hq",
            dependencies: [
                "ShopfloorReplication", "ShopfloorStore", "ShopfloorHQ", "ShopfloorPostgres",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "ShopfloorDomainTests", dependencies: ["ShopfloorDomain"]),
        .testTarget(
            name: "ShopfloorReplicationTests",
            dependencies: [
                "ShopfloorDomain", "ShopfloorReplication", "ShopfloorStore", "ShopfloorSimulator",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "ShopfloorStoreTests",
            dependencies: [
                "ShopfloorDomain", "ShopfloorReplication", "ShopfloorStore",
                .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "ShopfloorPostgresTests",
            dependencies: [
                "ShopfloorPostgres", "shopfloor-hq", "ShopfloorDomain", "ShopfloorReplication", "ShopfloorStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "ShopfloorCLITests",
            dependencies: [
                "ShopfloorDomain", "ShopfloorStore", "shopfloor", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "ShopfloorSyncTests",
            dependencies: [
                "ShopfloorDomain", "ShopfloorReplication", "ShopfloorStore", "ShopfloorHQ", "ShopfloorSync",
                "ShopfloorSimulator", "ShopfloorMCP",
                .product(name: "MCP", package: "swift-sdk"),
                "shopfloor", "shopfloor-mcp",
                "shopfloor-hq",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
    ]
)
