import Foundation
import ShopfloorCLI

/// The `shopfloor` executable: everything lives in ShopfloorCLI.
@main
enum ShopfloorTool {
    static func main() {
        exit(ShopfloorCommandLine.run(Array(CommandLine.arguments.dropFirst())))
    }
}
