import EngineIO
import QuenchApp

extension ChatPage {
    /// The page for a server whose Socket.IO path is `path`: the default path needs nothing, another
    /// one is handed to the page's script as `window.QUENCH_PATH` (the path is checked to be plain
    /// URL characters by `--path` validation, and escaped here for the script all the same).
    static func html(socketIOPath path: String) -> [UInt8] {
        let bytes = Array(html.utf8)
        let marker = Array("<script>".utf8)
        guard path != "/socket.io/",
            let start = bytes.indices.first(where: { bytes[$0...].starts(with: marker) })
        else { return bytes }
        var quoted = "\""
        for scalar in path.unicodeScalars {
            switch scalar {
            case "\"", "\\", "<", ">", "&", "'": quoted += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
            default: quoted.unicodeScalars.append(scalar)
            }
        }
        quoted += "\""
        return Array(bytes[..<start]) + Array("<script>window.QUENCH_PATH = \(quoted);</script>\n    ".utf8) + Array(bytes[start...])
    }

    /// Serves the built-in page at `/` (and `/index.html`); anything else outside the Socket.IO path is 404.
    static func respond(to request: HTTPRequest, page: [UInt8]) -> HTTPResponse {
        switch (request.method, request.path) {
        case (.get, "/"), (.get, "/index.html"):
            return HTTPResponse(
                status: 200, contentType: "text/html; charset=UTF-8", headers: [HTTPHeader("Cache-Control", "no-cache")],
                body: page)
        case (.get, _):
            return HTTPResponse(status: 404, body: Array("Not Found: \(request.path)\n".utf8))
        default:
            return HTTPResponse(status: 405, headers: [HTTPHeader("Allow", "GET")], body: Array("Method Not Allowed\n".utf8))
        }
    }
}
