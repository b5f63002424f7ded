import EngineIO

extension SocketIOServer {
    /// Applies an operation that came from another node through the message queue, to this node's
    /// clients only (never published again). Service thread.
    public func apply(_ operation: ClusterOperation) {
        switch operation {
        case .emit(let emit):
            guard let namespace = existingNamespace(emit.namespace) else { return }
            if let callback = emit.callback {
                applyWithCallback(emit, callback: callback, in: namespace)
            } else {
                namespace.deliver(emit.event, emit.arguments, rooms: emit.rooms, skip: emit.skip)
            }
        case .disconnect(let sid, let name):
            existingNamespace(name)?.sockets[sid]?.disconnect()
        case .enterRoom(let sid, let name, let room):
            existingNamespace(name)?.sockets[sid]?.join(room)
        case .leaveRoom(let sid, let name, let room):
            existingNamespace(name)?.sockets[sid]?.leave(room)
        case .closeRoom(let room, let name):
            existingNamespace(name)?.rooms.close(room)
        case .recovered(let handle, let name):
            existingNamespace(name)?.recovery?.recoveredElsewhere(handle: handle)
        case .handover(let host, let name, let sessions):
            existingNamespace(name)?.recovery?.adopt(sessions, from: host)
        case .taking(let handle, let name, let taker, let recorder):
            existingNamespace(name)?.recovery?.takingSeen(handle: handle, namespace: name, taker: taker, recorder: recorder)
        case .flushed(let handle, let name, let host, let taker):
            guard let recovery = existingNamespace(name)?.recovery, taker == recovery.store?.hostID else { return }
            recovery.flushSeen(handle: handle, host: host)
        case .application(let name, let message, let arguments):
            existingNamespace(name)?.onPeerMessage?(message, arguments)
        case .callback:
            // This node never asks other nodes for acknowledgements, so none can be ours.
            log.debug("message queue: callback for an emit this node did not make; ignored")
        }
    }

    /// An emit whose sender wants acknowledgements: each recipient gets its own ack id (as in
    /// python-socketio's `Manager.emit`), and each acknowledgement is published back to the sender.
    private func applyWithCallback(_ emit: ClusterEmit, callback: RemoteCallback, in namespace: Namespace) {
        for socket in namespace.recipients(in: emit.rooms, skip: emit.skip) {
            // Unowned, as sockets hold their namespace: namespaces live as long as the server, and a weak
            // reference would give the namespace a side table LeakSanitizer reports at exit.
            socket.emit(emit.event, emit.arguments) { [unowned namespace] arguments in
                namespace.adapter?.publish(
                    .callback(host: callback.host, sid: callback.room, namespace: callback.namespace, id: callback.id, arguments: arguments))
            }
        }
    }
}
