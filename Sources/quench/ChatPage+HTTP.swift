import EngineIO
import QuenchApp

extension ChatPage {
    /// The page for a server whose Socket.IO path is `path` and that offers `transports`: the defaults (the
    /// standard path, long-polling offered) need nothing; otherwise the page's script is told before it
    /// runs, as `window.QUENCH_PATH` and `window.QUENCH_TRANSPORTS` (the path is checked to be plain URL
    /// characters by `--path` validation, and escaped here for the script all the same).
    static func html(socketIOPath path: String, transports: Set<TransportName>) -> [UInt8] {
        let bytes = Array(html.utf8)
        let marker = Array("<script>".utf8)
        var settings = ""
        if path != "/socket.io/" { settings += "window.QUENCH_PATH = \(scriptString(path)); " }
        if !transports.contains(.polling) {
            settings += "window.QUENCH_TRANSPORTS = [\(transports.map { scriptString($0.description) }.sorted().joined(separator: ", "))]; "
        }
        guard !settings.isEmpty, let start = bytes.indices.first(where: { bytes[$0...].starts(with: marker) }) else { return bytes }
        return Array(bytes[..<start]) + Array("<script>\(settings)</script>\n    ".utf8) + Array(bytes[start...])
    }

    /// `text` as a JavaScript string literal that cannot end the script element or the string.
    private static func scriptString(_ text: String) -> String {
        var quoted = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"", "\\", "<", ">", "&", "'": quoted += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
            default: quoted.unicodeScalars.append(scalar)
            }
        }
        return quoted + "\""
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
