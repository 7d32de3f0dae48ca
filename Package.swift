// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Shopfloor",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "shopfloor", targets: ["shopfloor"]),
        .library(name: "ShopfloorDomain", targets: ["ShopfloorDomain"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
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
                "ShopfloorReplication",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The floor CLI's commands, as a library so tests can reach its formatting.
        .target(
            name: "ShopfloorCLI",
            dependencies: [
                "ShopfloorStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(name: "shopfloor", dependencies: ["ShopfloorCLI"]),
        .testTarget(name: "ShopfloorDomainTests", dependencies: ["ShopfloorDomain"]),
        .testTarget(name: "ShopfloorReplicationTests", dependencies: ["ShopfloorReplication"]),
        .testTarget(name: "ShopfloorStoreTests", dependencies: ["ShopfloorStore"]),
        .testTarget(name: "ShopfloorCLITests", dependencies: ["ShopfloorStore"]),
    ]
)
