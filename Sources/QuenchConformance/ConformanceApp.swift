import SocketIO

/// The Socket.IO application the socket.io-protocol suite talks to at `/socket.io/`, on each of the
/// namespaces it is given (`/` and `/custom`):
/// - on connect it emits `auth` with the CONNECT packet's auth object (`{}` when there was none);
/// - `message` is answered with `message-back` and the same arguments, binary attachments included;
/// - `message-with-ack` is acknowledged with the same arguments.
///
/// The `auth` event leaves ``authDelay`` after the CONNECT reply instead of right behind it. The suite's
/// client (ws 8.x) emits every frame of one TCP read synchronously, while the suite only starts listening
/// for the next frame a promise tick after the previous one: two frames that reach it in one read lose
/// the second. The reference server's two writes are separated by a turn of its event loop; ours would be
/// microseconds apart, so the app spaces them explicitly. Real clients do not care either way.
///
/// Service thread only.
enum ConformanceApp {
    /// How long after the CONNECT reply the `auth` event is sent, in milliseconds.
    static let authDelay: Int64 = 25

    /// Registers the handlers on `namespaces` of `server`.
    static func install(on server: SocketIOServer, namespaces: [String]) {
        let engine = server.engine
        for name in namespaces {
            let namespace = server.namespace(name)
            namespace.onConnect = { socket in
                let auth = socket.auth ?? .object([])
                engine.schedule(after: authDelay) { socket.emit("auth", [auth]) }
            }
            namespace.on("message") { socket, arguments, _ in
                socket.emit("message-back", arguments)
            }
            namespace.on("message-with-ack") { _, arguments, ack in
                ack?(arguments)
            }
        }
    }
}
