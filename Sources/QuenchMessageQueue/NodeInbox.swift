import EngineIO

/// Messages on this node's own channel or queue (a passed-on request, a moved session): decoded on the
/// carrier's reading thread, then handed to the engine on the service thread. One that is not understood
/// is dropped and counted, its log line throttled (any writer to the broker can put anything there).
package final class NodeInbox: @unchecked Sendable {
    /// Set once before the reader starts; read only by the reader thread afterwards.
    package var deliver: (@Sendable (NodeMessage, Int) -> Void)?
    let log: Logger
    private var refused = 0
    private var lastLine: Int64 = .min
    /// Touched on the service thread only (set in ``connect(to:executor:)``).
    private weak var engine: EngineServer?

    package init(log: Logger) { self.log = log }

    /// Wires `deliver` to `engine` through `executor`.
    package func connect(to engine: EngineServer, executor: any ServiceExecutor) {
        self.engine = engine
        deliver = { [weak self] message, bytes in
            executor.execute(bytes: bytes) { [weak self] in self?.engine?.receive(message) }
        }
    }

    package func receive(_ payload: [UInt8]) {
        do throws(NodeMessageError) {
            deliver?(try NodeMessageCodec.decode(payload), payload.count)
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
