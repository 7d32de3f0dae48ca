import ArgumentParser
import Foundation
import ShopfloorStore
import ShopfloorSync

/// `shopfloor enroll`: stores HQ's address and this device's credentials in the replica.
struct EnrollCommand: ReplicaCommand {
    static let configuration = CommandConfiguration(
        commandName: "enroll",
        abstract: "Enrol this device with HQ (credentials from `shopfloor-hq device add`).",
        discussion: """
            Give the token (--token-file FILE, or --token-file - to read it from standard input), or --hq, \
            --device-id and --secret-file. --token and --secret also work but leave the credential in the shell's \
            history and in `ps`. Nothing is sent until `shopfloor sync`.
            """)

    @OptionGroup var global: GlobalOptions
    @Option(help: "HQ address, e.g. http://127.0.0.1:8080 or https://hq.plant:8443.") var hq: String?
    @Option(help: "The device id HQ issued.") var deviceId: String?
    @Option(help: "A file holding the device secret HQ issued ('-': standard input).") var secretFile: String?
    @Option(help: .hidden) var secret: String?
    @Option(help: "A file holding the one-line enrolment token ('-': standard input).") var tokenFile: String?
    @Option(help: .hidden) var token: String?
    @Option(help: "PEM certificates of the authority that signed an https HQ's certificate.") var caFile: String?

    struct Enrolled: Encodable {
        var hq: String?
        var deviceID: String
        var replica: String
        enum CodingKeys: String, CodingKey {
            case hq
            case deviceID = "device_id"
            case replica
        }
    }

    func validate() throws {
        let tokens = [token, tokenFile].compactMap { $0 }.count
        let secrets = [secret, secretFile].compactMap { $0 }.count
        guard tokens <= 1, secrets <= 1 else { throw ValidationError("give the token or the secret once") }
        if tokens == 0, deviceId == nil || secrets == 0 {
            throw ValidationError("give --token-file, or both --device-id and --secret-file")
        }
    }

    /// A credential from a file or standard input ('-'), trimmed.
    static func read(_ path: String) throws -> String {
        let data: Data? =
            path == "-" ? FileHandle.standardInput.readDataToEndOfFile() : FileManager.default.contents(atPath: path)
        guard let data else { throw SyncError.unreadableCredentialFile(path) }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func run(replica: Replica, output: Output) throws {
        var settings = try SyncSettings.load(from: replica)
        if let token = try token ?? tokenFile.map(Self.read) {
            let decoded = try SyncSettings.decodeToken(token)
            settings.deviceID = decoded.deviceID
            settings.secret = decoded.secret
            settings.hq = hq ?? decoded.hq ?? settings.hq
        } else {
            settings.deviceID = deviceId
            settings.secret = try secret ?? secretFile.map(Self.read)
            settings.hq = hq ?? settings.hq
        }
        if let caFile {
            guard FileManager.default.isReadableFile(atPath: caFile) else { throw SyncError.unreadableCAFile(caFile) }
            settings.caFile = caFile
        }
        if let address = settings.hq {
            // Fails early on a malformed address.
            _ = try SyncClient(replica: replica, hq: address, deviceID: settings.deviceID!, secret: settings.secret!)
        }
        try settings.save(to: replica)
        let enrolled = Enrolled(hq: settings.hq, deviceID: settings.deviceID!, replica: replica.id)
        try output.show(enrolled) {
            "enrolled replica \(replica.id) as device \(enrolled.deviceID)"
                + (enrolled.hq.map { " with HQ \($0)" } ?? "")
        }
    }
}
