#if canImport(Glibc)
import Glibc
#endif
import CRabbitMQ

/// One connection to the broker through rabbitmq-c, with channel 1 open. Owned and used by one thread
/// (rabbitmq-c's connection state is not thread-safe); nothing here touches a client.
final class AMQPConnection {
    /// Heartbeat interval asked of the broker, in seconds: rabbitmq-c sends one when due and gives up on a
    /// broker silent for two intervals, so a stopped or vanished broker is noticed within 20 s.
    static let heartbeat: Int32 = 10
    /// How long connecting, logging in and each declaration may take, in milliseconds.
    static let handshakeTimeout = 5_000
    static let channel: amqp_channel_t = 1
    private let state: amqp_connection_state_t
    private var healthy = true

    private init(state: amqp_connection_state_t) { self.state = state }

    deinit {
        if healthy { _ = amqp_connection_close(state, AMQP_REPLY_SUCCESS) }
        amqp_destroy_connection(state)
    }

    /// Connects, logs in and opens channel 1.
    static func open(_ url: AMQPURL) throws(AMQPError) -> AMQPConnection {
        guard let state = amqp_new_connection() else { throw .io("out of memory") }
        let connection = AMQPConnection(state: state)
        connection.healthy = false
        var why = [CChar](repeating: 0, count: 256)
        let made = url.tls.map { quench_amqp_tls_socket(state, $0.caFile, $0.serverName, &why, why.count) } ?? amqp_tcp_socket_new(state)
        guard let socket = made else { throw .io(String(decoding: why.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)) }
        var timeout = timeval(tv_sec: handshakeTimeout / 1000, tv_usec: 0)
        let status = amqp_socket_open_noblock(socket, url.host, Int32(url.port), &timeout)
        guard status == AMQP_STATUS_OK.rawValue else { throw .io(String(cString: amqp_error_string2(status))) }
        _ = amqp_set_handshake_timeout(state, &timeout)
        _ = amqp_set_rpc_timeout(state, &timeout)
        let reply = quench_amqp_login(state, url.virtualHost, heartbeat, url.username, url.password ?? "guest")
        guard reply.reply_type == AMQP_RESPONSE_NORMAL else {
            let why = text(of: reply)
            if quench_amqp_refused(reply) != 0 { throw .refused(why) }
            throw .io("login failed: \(why)")
        }
        connection.healthy = true
        _ = amqp_channel_open(state, channel)
        try connection.check("channel.open")
        return connection
    }

    /// Declares the fanout exchange `name` as python-socketio's managers do.
    func declareFanout(_ name: String) throws(AMQPError) {
        _ = quench_amqp_declare_fanout(state, Self.channel, name)
        try check("exchange.declare \"\(name)\"")
    }

    /// Declares queue `name` (not durable, `x-expires` 300 000 ms, as python-socketio's managers do).
    func declareQueue(_ name: String) throws(AMQPError) {
        _ = quench_amqp_declare_queue(state, Self.channel, name, 300_000)
        try check("queue.declare \"\(name)\"")
    }

    func bind(_ queue: String, to exchange: String) throws(AMQPError) {
        _ = quench_amqp_bind(state, Self.channel, queue, exchange)
        try check("queue.bind \"\(queue)\" to \"\(exchange)\"")
    }

    func consume(_ queue: String) throws(AMQPError) {
        _ = quench_amqp_consume(state, Self.channel, queue)
        try check("basic.consume \"\(queue)\"")
    }

    /// Hands one message to the socket (basic.publish has no reply).
    func publish(_ body: [UInt8], exchange: String, routingKey: String) throws(AMQPError) {
        let status = body.withUnsafeBytes { quench_amqp_publish(state, Self.channel, exchange, routingKey, $0.baseAddress, $0.count) }
        guard status == AMQP_STATUS_OK.rawValue else {
            healthy = false
            throw .io("basic.publish: \(String(cString: amqp_error_string2(status)))")
        }
    }

    /// What came from the broker within `milliseconds`.
    enum Event {
        case nothing
        case delivery(exchange: String, contentType: String?, body: [UInt8])
        case cancelled
        case blocked(String)
        case unblocked
        case other
    }

    /// Waits up to `milliseconds` (0: only what has arrived) for a delivery (when `consuming`) or any frame;
    /// sends heartbeats when due. A closed connection or channel, or a missed heartbeat, throws.
    func wait(milliseconds: Int32, consuming: Bool) throws(AMQPError) -> Event {
        var envelope = amqp_envelope_t()
        var why = [CChar](repeating: 0, count: 512)
        let event = quench_amqp_wait(state, milliseconds, consuming ? 1 : 0, &envelope, &why, why.count)
        let reason = String(decoding: why.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        switch event {
        case QUENCH_AMQP_NOTHING: return .nothing
        case QUENCH_AMQP_DELIVERY:
            defer { amqp_destroy_envelope(&envelope) }
            let exchange = Self.string(envelope.exchange)
            let properties = envelope.message.properties
            let contentType = properties._flags & UInt32(AMQP_BASIC_CONTENT_TYPE_FLAG) != 0 ? Self.string(properties.content_type) : nil
            return .delivery(exchange: exchange, contentType: contentType, body: Self.bytes(envelope.message.body))
        case QUENCH_AMQP_CANCELLED: return .cancelled
        case QUENCH_AMQP_BLOCKED: return .blocked(reason)
        case QUENCH_AMQP_UNBLOCKED: return .unblocked
        case QUENCH_AMQP_CLOSED:
            healthy = false
            throw .io("the broker closed the connection: \(reason)")
        case QUENCH_AMQP_FAILED:
            healthy = false
            throw .io(reason)
        default: return .other
        }
    }

    /// Throws the broker's reason when the last RPC failed.
    private func check(_ what: String) throws(AMQPError) {
        let reply = amqp_get_rpc_reply(state)
        guard reply.reply_type != AMQP_RESPONSE_NORMAL else { return }
        healthy = false
        throw .io("\(what) failed: \(Self.text(of: reply))")
    }

    private static func text(of reply: amqp_rpc_reply_t) -> String {
        var why = [CChar](repeating: 0, count: 512)
        quench_amqp_reply_text(reply, &why, why.count)
        return String(decoding: why.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func bytes(_ value: amqp_bytes_t) -> [UInt8] {
        guard value.len > 0, let base = value.bytes else { return [] }
        return Array(UnsafeRawBufferPointer(start: base, count: value.len))
    }

    private static func string(_ value: amqp_bytes_t) -> String { String(decoding: bytes(value), as: UTF8.self) }
}
