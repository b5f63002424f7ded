import EngineIO

/// Messages on this node's own channel or queue (a passed-on request, a moved session): decoded where the
/// carrier reads them, then handed to the engine on the service thread (at once when read there). One that is not understood
/// is dropped and counted, its log line throttled (any writer to the broker can put anything there).
package final class NodeInbox: @unchecked Sendable {
    /// Set once before the reader starts; read only by the reader afterwards. Takes the message, its size,
    /// and whether it runs on the service thread already.
    package var deliver: (@Sendable (NodeMessage, Int, Bool) -> Void)?
    let log: Logger
    private var refused = 0
    private var lastLine: Int64 = .min
    /// Touched on the service thread only (set in ``connect(to:executor:)``).
    private weak var engine: EngineServer?

    package init(log: Logger) { self.log = log }

    /// Wires `deliver` to `engine` through `executor`.
    package func connect(to engine: EngineServer, executor: any ServiceExecutor) {
        self.engine = engine
        deliver = { [weak self] message, bytes, here in
            if here { return self?.engine?.receive(message) ?? () }
            executor.execute(bytes: bytes) { [weak self] in self?.engine?.receive(message) }
        }
    }

    /// - Parameters:
    ///   - payload: one message as the broker delivered it.
    ///   - onServiceThread: whether this runs on the service thread (then nothing is posted).
    package func receive(_ payload: [UInt8], onServiceThread: Bool = false) {
        do throws(NodeMessageError) {
            deliver?(try NodeMessageCodec.decode(payload), payload.count, onServiceThread)
        } catch {
            refused += 1
            let now = ConnectPacing.now()
            guard now - lastLine >= 1000 else { return }
            lastLine = now
            log.warn("message queue: skipped \(refused) message(s) on this node's channel that were not understood; the last, \(payload.count) bytes: \(error)")
            refused = 0
        }
    }
}
