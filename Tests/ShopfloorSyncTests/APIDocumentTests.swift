import Foundation
import Testing

/// Both OpenAPI documents validate against the OpenAPI 3.1 schema, by a validator nobody here wrote
/// (`openapi-spec-validator`, which `tools/test` installs into `.venv/` beside the MCP SDK).
@Suite(.enabled(if: MCPClient.python != nil, "needs .venv (tools/test installs it)"))
struct APIDocumentTests {
    @Test(arguments: ["SyncProtocol/api.openapi.json", "SyncProtocol/openapi.yaml"])
    func theDocumentValidates(_ document: String) async throws {
        let python = try #require(MCPClient.python)
        let dir = TempDirectory()
        let path = Binaries.packageRoot.appendingPathComponent(document).path
        let run = try await ChildProcess.run(
            python, ["-m", "openapi_spec_validator", path], name: "validator", directory: dir.path(""))
        #expect(
            run.exit.status == 0, "\(document) does not validate: \(run.stdout.suffix(2000)) \(run.stderr.suffix(2000))"
        )
    }
}
