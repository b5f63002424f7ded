/// How Socket.IO packets are written into Engine.IO messages; one choice for the whole server, as in the
/// reference servers (Node's `parser` option, python-socketio's `serializer`), since a client cannot say
/// which it speaks.
public enum SocketIOParser: String, Sendable, CaseIterable {
    /// socket.io-parser's text format (`2["chat",…]`), binaries as placeholders plus attachment messages.
    case json
    /// socket.io-msgpack-parser's and python-socketio's `msgpack_packet`: each packet one binary message,
    /// a MessagePack map `{type, data, nsp, id}`, binaries inside it as bin.
    case msgpack
}
