import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import ShopfloorHQ
import ShopfloorReplication
import ShopfloorStore

@main
struct HQCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shopfloor-hq",
        abstract: "Shopfloor HQ: the central replica that floor devices sync with over HTTP.",
        subcommands: [Serve.self, Device.self, Token.self, Digest.self, Migrate.self])

    struct Options: ParsableArguments {
        @Option(help: "HQ database (created on first use). Default: $SHOPFLOOR_HQ_DB, then ./hq.sqlite.")
        var db: String?

        var path: String { db ?? ProcessInfo.processInfo.environment["SHOPFLOOR_HQ_DB"] ?? "hq.sqlite" }

        /// Opens HQ's replica, creating it on first use.
        func openReplica(logger: Logger) throws -> Replica {
            let configuration = ReplicaConfiguration(durable: true, sequencer: true, logger: logger)
            if FileManager.default.fileExists(atPath: path) {
                return try Replica.open(at: path, configuration: configuration)
            }
            return try Replica.create(at: path, name: "hq", id: "hq", configuration: configuration)
        }
    }

    static func makeLogger() -> Logger {
        var logger = Logger(label: "shopfloor.hq")
        logger.logLevel =
            ProcessInfo.processInfo.environment["SHOPFLOOR_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        return logger
    }

    static func emit(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    static func emitJSON(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        emit(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Serve the sync protocol until SIGTERM or SIGINT.")

        @OptionGroup var options: Options
        @Option(help: "Address to bind.") var host = "127.0.0.1"
        @Option(help: "Port to bind (0 picks a free one).") var port = 8080
        @Option(
            help: ArgumentHelp(
                "A file holding the admin secret for the device endpoints (at least \(Self.adminSecretMin) characters). "
                    + "Default: $SHOPFLOOR_ADMIN_SECRET. Without either, the admin endpoints are off."))
        var adminSecretFile: String?
        @Option(help: .hidden) var adminSecret: String?
        @Option(help: "Serve HTTPS with this certificate chain (PEM); needs --tls-key.") var tlsCert: String?
        @Option(help: "The private key (PEM) of --tls-cert.") var tlsKey: String?
        @Flag(help: "Offer only the read tools at /mcp, whatever the token's scope.") var mcpReadOnly = false
        @Option(
            name: .customLong("mcp-allowed-origin"),
            help: "A browser origin allowed to call /mcp (repeatable); requests with any other Origin are refused.")
        var mcpAllowedOrigins: [String] = []
        @Option(
            help:
                "Offer a device this many operations behind a snapshot instead of the log (PROTOCOL.md §20); 0: never."
        )
        var snapshotLag: UInt64 = 10_000

        static let adminSecretMin = 16

        func validate() throws {
            if adminSecret != nil {
                throw ValidationError(
                    "--admin-secret would show the secret in `ps` and shell history: put it in a file and pass "
                        + "--admin-secret-file FILE, or set SHOPFLOOR_ADMIN_SECRET")
            }
            if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("give both --tls-cert and --tls-key") }
        }

        /// The admin secret from the file or the environment, refused when too short to resist guessing.
        func readAdminSecret() throws -> String? {
            var secret = ProcessInfo.processInfo.environment["SHOPFLOOR_ADMIN_SECRET"]
            if let adminSecretFile {
                guard let text = FileManager.default.contents(atPath: adminSecretFile) else {
                    throw ValidationError("cannot read the admin secret file '\(adminSecretFile)'")
                }
                secret = String(decoding: text, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            }
            guard let secret, !secret.isEmpty else { return nil }
            guard secret.count >= Self.adminSecretMin else {
                throw ValidationError(
                    "the admin secret has \(secret.count) characters; use at least \(Self.adminSecretMin) "
                        + "(for example `openssl rand -base64 24`)")
            }
            return secret
        }

        func run() async throws {
            let logger = HQCommand.makeLogger()
            let secret = try readAdminSecret()
            let replica = try options.openReplica(logger: logger)
            let tls = tlsCert.map { TLSFiles(certificateChain: $0, privateKey: tlsKey!) }
            HQMetrics.bootstrap()
            var configuration = HQConfiguration(
                host: host, port: port, adminSecret: secret, tls: tls, mcpReadOnly: mcpReadOnly,
                mcpAllowedOrigins: mcpAllowedOrigins)
            configuration.snapshotLagMinimum = snapshotLag == 0 ? nil : snapshotLag
            let server = try HQServer(replica: replica, configuration: configuration, logger: logger)
            let host = self.host
            let scheme = tls == nil ? "http" : "https"
            let app = try server.application { port in
                // Scripts and tests read this line to learn the port.
                HQCommand.emit("listening on \(scheme)://\(host):\(port)")
            }
            let group = ServiceGroup(
                configuration: ServiceGroupConfiguration(
                    services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
            logger.info("HQ stopped")
        }
    }

    struct Device: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Enrol, list and revoke floor devices.", subcommands: [Add.self, List.self, Revoke.self])

        struct Add: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Enrol a device and print its credentials once.")
            @OptionGroup var options: Options
            @Argument(help: "A name for the device.") var name: String
            @Option(help: "HQ address to put in the enrolment token.") var hqURL: String?
            @Flag(help: "Print JSON.") var json = false

            func run() throws {
                let registry = try DeviceRegistry(replica: try options.openReplica(logger: HQCommand.makeLogger()))
                let credentials = try registry.add(name: name, hq: hqURL)
                if json {
                    try HQCommand.emitJSON(credentials)
                } else {
                    HQCommand.emit(
                        "device id: \(credentials.deviceID)\nsecret:    \(credentials.secret)\ntoken:     \(credentials.token)"
                    )
                    HQCommand.emit(
                        "enrol with: shopfloor enroll --token-file FILE (the token above, in a file; - reads it from standard input)"
                    )
                }
            }
        }

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Devices with last contact, acknowledged vector and lag.")
            @OptionGroup var options: Options
            @Flag(help: "Print JSON.") var json = false

            func run() throws {
                let devices = try DeviceRegistry(replica: try options.openReplica(logger: HQCommand.makeLogger()))
                    .list()
                if json {
                    try HQCommand.emitJSON(devices)
                    return
                }
                HQCommand.emit("DEVICE          NAME            REPLICA   LAST CONTACT          LAG  STATUS")
                for device in devices {
                    let columns = [
                        device.deviceID.padding(toLength: 15, withPad: " ", startingAt: 0),
                        DeviceRegistry.printable(device.name).padding(toLength: 15, withPad: " ", startingAt: 0),
                        (device.replica ?? "-").padding(toLength: 9, withPad: " ", startingAt: 0),
                        (device.lastContact ?? "never").padding(toLength: 21, withPad: " ", startingAt: 0),
                        String(device.lag).padding(toLength: 4, withPad: " ", startingAt: 0),
                        device.revoked == nil ? "active" : "revoked",
                    ]
                    HQCommand.emit(columns.joined(separator: " "))
                }
            }
        }

        struct Revoke: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Revoke a device: its requests get 403.")
            @OptionGroup var options: Options
            @Argument(help: "The device id.") var id: String

            func run() throws {
                let registry = try DeviceRegistry(replica: try options.openReplica(logger: HQCommand.makeLogger()))
                guard try registry.revoke(id) else { throw ValidationError("no device '\(id)'") }
                HQCommand.emit("revoked \(id)")
            }
        }
    }

    struct Digest: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print HQ's state digest.")
        @OptionGroup var options: Options

        func run() throws {
            HQCommand.emit(try options.openReplica(logger: HQCommand.makeLogger()).digest())
        }
    }
}
