import EngineIO
import QuenchApp

extension ChatPage {
    /// Serves the built-in page at `/` (and `/index.html`); anything else outside the Socket.IO path is 404.
    static func respond(to request: HTTPRequest) -> HTTPResponse {
        switch (request.method, request.path) {
        case (.get, "/"), (.get, "/index.html"):
            return HTTPResponse(
                status: 200, contentType: "text/html; charset=UTF-8", headers: [HTTPHeader("Cache-Control", "no-cache")],
                body: Array(html.utf8))
        case (.get, _):
            return HTTPResponse(status: 404, body: Array("Not Found: \(request.path)\n".utf8))
        default:
            return HTTPResponse(status: 405, headers: [HTTPHeader("Allow", "GET")], body: Array("Method Not Allowed\n".utf8))
        }
    }
}
