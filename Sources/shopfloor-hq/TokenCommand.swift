import ArgumentParser
import ShopfloorHQ

extension HQCommand {
    /// `shopfloor-hq token create|list|revoke`: API tokens for the REST API.
    struct Token: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create, list and revoke API tokens (REST API, /api/v1).",
            subcommands: [Create.self, List.self, Revoke.self])

        struct Create: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Create an API token and print it once.")
            @OptionGroup var options: Options
            @Argument(help: "A name for the token (who or what uses it).") var name: String
            @Option(help: "read, write or admin.", transform: Token.scope) var scope: APIScope
            @Option(help: "The last day (YYYY-MM-DD, UTC) the token is accepted on.") var expires: String?
            @Flag(help: "Print JSON.") var json = false

            func run() throws {
                let tokens = try APITokens(replica: try options.openReplica(logger: HQCommand.makeLogger()))
                let created = try tokens.create(name: name, scope: scope, expires: expires)
                if json {
                    try HQCommand.emitJSON(created)
                } else {
                    HQCommand.emit("token: \(created.token)")
                    HQCommand.emit(
                        "id \(created.info.id), scope \(created.info.scope.rawValue)"
                            + (created.info.expires.map { ", expires \($0)" } ?? "")
                            + ": shown once; send it as Authorization: Bearer TOKEN")
                }
            }
        }

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "API tokens (never their secrets).")
            @OptionGroup var options: Options
            @Flag(help: "Print JSON.") var json = false

            func run() throws {
                let tokens = try APITokens(replica: try options.openReplica(logger: HQCommand.makeLogger())).list()
                if json {
                    try HQCommand.emitJSON(tokens)
                    return
                }
                HQCommand.emit("ID            NAME            SCOPE  EXPIRES     LAST USED             STATUS")
                for token in tokens {
                    let columns = [
                        token.id.padding(toLength: 13, withPad: " ", startingAt: 0),
                        DeviceRegistry.printable(token.name).padding(toLength: 15, withPad: " ", startingAt: 0),
                        token.scope.rawValue.padding(toLength: 6, withPad: " ", startingAt: 0),
                        (token.expires ?? "never").padding(toLength: 11, withPad: " ", startingAt: 0),
                        (token.lastUsed ?? "never").padding(toLength: 21, withPad: " ", startingAt: 0),
                        token.revoked == nil ? "active" : "revoked",
                    ]
                    HQCommand.emit(columns.joined(separator: " "))
                }
            }
        }

        struct Revoke: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Revoke an API token: its requests get 401.")
            @OptionGroup var options: Options
            @Argument(help: "The token id (from token list).") var id: String

            func run() throws {
                let tokens = try APITokens(replica: try options.openReplica(logger: HQCommand.makeLogger()))
                guard try tokens.revoke(id) else { throw ValidationError("no API token '\(id)'") }
                HQCommand.emit("revoked \(id)")
            }
        }

        static func scope(_ text: String) throws -> APIScope {
            guard let scope = APIScope(rawValue: text) else {
                throw ValidationError("scope '\(text)' is not one of read, write, admin")
            }
            return scope
        }
    }
}
