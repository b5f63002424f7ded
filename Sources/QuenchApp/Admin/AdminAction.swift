import SocketIO

/// One action the Admin UI sends, decoded from its arguments (Node's `ClientEvents`):
/// `emit(nsp, filter, event, …args)`, `join(nsp, room, filter?)`, `leave(nsp, room, filter?)`,
/// `_disconnect(nsp, close, filter?)`. A filter is a room (a sid names its socket's room); none is everyone.
struct AdminAction: Equatable {
    enum Kind: Equatable {
        case emit(event: String, arguments: [JSONValue])
        case join(room: String)
        case leave(room: String)
        case disconnect(close: Bool)
    }

    var namespace: String
    var filter: String?
    var kind: Kind

    init(namespace: String, filter: String?, kind: Kind) {
        self.namespace = namespace
        self.filter = filter
        self.kind = kind
    }

    /// Nil when the arguments are not what the UI sends.
    init?(_ action: String, _ arguments: [JSONValue]) {
        guard let namespace = arguments.first?.stringValue else { return nil }
        self.namespace = namespace
        func optionalString(_ index: Int) -> String?? {
            guard index < arguments.count, arguments[index] != .null else { return .some(nil) }
            guard let text = arguments[index].stringValue else { return nil }
            return .some(text.isEmpty ? nil : text)
        }
        switch action {
        case "emit":
            guard arguments.count >= 3, let filter = optionalString(1), let event = arguments[2].stringValue else { return nil }
            self.filter = filter
            kind = .emit(event: event, arguments: Array(arguments.dropFirst(3)))
        case "join", "leave":
            guard arguments.count >= 2, let room = arguments[1].stringValue, let filter = optionalString(2) else { return nil }
            self.filter = filter
            kind = action == "join" ? .join(room: room) : .leave(room: room)
        case "_disconnect":
            guard arguments.count >= 2, case .bool(let close) = arguments[1], let filter = optionalString(2) else { return nil }
            self.filter = filter
            kind = .disconnect(close: close)
        default:
            return nil
        }
    }
}
