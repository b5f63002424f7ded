#if canImport(Glibc)
import Glibc
#endif
import EngineIO
import QuenchMessageQueue
import QuenchSystem
import Synchronization

/// Reads a live subscription on the service thread (``EngineIO/DescriptorWatcher``): a message Redis pushes is
/// handed on where it is read, with no thread of its own to wake and no hand-over through the service
/// inbox. Two wake-ups per message less; on plain TCP only (a TLS session stays with its thread).
///
/// The subscriber thread keeps the connection: it made it and subscribed, it writes the idle PING, and it
/// closes the socket and connects again once this reader says the connection ended. The service thread
/// alone reads (a duplicate descriptor, polled by lws).
final class SubscriptionReader: @unchecked Sendable {  // Sendable: `outcome` is behind `lock`, `lastReadAt` atomic; the rest is the service thread's after start
    /// The most bytes read per wake-up, so that a flood from Redis cannot keep the loop from its clients.
    static let readLimit = 64 << 10

    /// How reading on the service thread ended.
    enum Outcome {
        /// The loop would not poll the descriptor: the subscriber thread reads as before.
        case declined(RESPParser)
        /// The connection failed or Redis broke the protocol.
        case ended(RedisError)
        /// The subscriber thread asked it to stop.
        case stopped
    }

    private let descriptor: Int32
    /// Service thread (after ``start(on:)``).
    private var parser: RESPParser
    private var buffer = [UInt8](repeating: 0, count: 16 << 10)
    private var watch: (any DescriptorWatch)?
    private var reading = false
    /// Gets each message's channel name and payload, on the service thread.
    private let message: (_ channel: String?, _ payload: [UInt8]) -> Void
    private let lock = LockedCondition()
    /// Guarded by `lock`: set once, when reading on the service thread is over.
    private var outcome: Outcome?
    /// When bytes last arrived (monotonic ms): the subscriber thread's idle probe reads it.
    let lastReadAt = Atomic<Int64>(0)

    init(descriptor: Int32, parser: RESPParser, message: @escaping (_ channel: String?, _ payload: [UInt8]) -> Void) {
        self.descriptor = descriptor
        self.parser = parser
        self.message = message
        lastReadAt.store(ConnectPacing.now(), ordering: .relaxed)
    }

    /// Service thread: starts polling, and hands on what was read past SUBSCRIBE's replies already.
    func start(on watcher: any DescriptorWatcher) {
        watch = watcher.watch(descriptor, readable: { [unowned self] in readable() }, closed: { [unowned self] in end(.io("the connection closed")) })
        guard watch != nil else {
            finish(.declined(parser))
            return
        }
        reading = true
        _ = handOnReplies()
    }

    /// Service thread: the subscriber thread wants the connection back.
    func stop() {
        guard reading else { return }
        reading = false
        watch?.stop()
        watch = nil
        finish(.stopped)
    }

    /// Subscriber thread: waits up to `milliseconds` for reading to end; nil while it goes on.
    func outcome(waiting milliseconds: Int64) -> Outcome? {
        lock.withLock {
            if outcome == nil { lock.wait(milliseconds: milliseconds) }
            return outcome
        }
    }

    private func readable() {
        var total = 0
        while reading, total < Self.readLimit {
            let received = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if received > 0 {
                total += received
                parser.append(buffer[0..<received])
                guard handOnReplies() else { return }
                if received < buffer.count { break }
                continue
            }
            if received == 0 {
                end(.io("Redis closed the connection"))
                return
            }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { break }
            end(.io("read failed: \(String(cString: strerror(code)))"))
            return
        }
        if total > 0 { lastReadAt.store(ConnectPacing.now(), ordering: .relaxed) }
    }

    /// Hands on every complete message in the parser; false when the connection ended.
    private func handOnReplies() -> Bool {
        while reading {
            let value: RESPValue?
            do {
                value = try parser.next()
            } catch {
                end(.protocolError("protocol violation: \(error)"))
                return false
            }
            guard let value else { return true }
            guard case .array(let parts) = value, let kind = parts.first?.text else {
                if case .error(let text) = value {
                    end(.reply(LogSafe.text(text)))
                    return false
                }
                continue
            }
            // "pong", the idle probe's answer, needs nothing more: that bytes arrived is the proof of life.
            if kind == "message", parts.count == 3, let payload = parts[2].bytes { message(parts[1].text, payload) }
        }
        return false
    }

    private func end(_ error: RedisError) {
        guard reading else { return }
        reading = false
        watch?.stop()
        watch = nil
        finish(.ended(error))
    }

    private func finish(_ result: Outcome) {
        lock.withLock {
            outcome = result
            lock.signal()
        }
    }
}
