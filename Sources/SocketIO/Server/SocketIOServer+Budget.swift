import EngineIO

/// The per-client budgets of the Socket.IO layer (``ClientBudget``): events per socket, and namespace
/// CONNECTs per Engine.IO session. What a client gets at each bound:
/// - an event over budget is dropped (no handler runs, no acknowledgement comes); the application is asked
///   to tell the user (``Namespace/onOverBudget``), at most once a second;
/// - a CONNECT over budget gets CONNECT_ERROR "Too many namespace connects" and joins nothing;
/// - a client over either budget for `--over-budget-time` is disconnected: every socket it has gets a
///   Socket.IO DISCONNECT and the Engine.IO session is closed. The whole session goes, not one namespace:
///   the flood arrives on the session's connection, and a namespace DISCONNECT would leave it open with the
///   flood still coming in to be decoded and dropped. The DISCONNECT first makes socket.io-client treat it as
///   "io server disconnect", which it does not reconnect from on its own.
///
/// Each episode over budget is logged once when it begins and once at the disconnect, through the log
/// flood guard; `/metrics` counts every refusal and disconnect by cause.
extension SocketIOServer {
    /// Spends a token of `socket`'s event budget; false when the event is to be dropped.
    func admitEvent(on socket: Socket) -> Bool {
        let now = engine.now
        let decision = socket.eventBudget.spend(now: now)
        guard decision != .admit else { return true }
        let counters = engine.budgetCounters
        counters.countRefusal(.events)
        let limit = engine.configuration.budgets.events
        let session = socket.client.session
        switch decision {
        case .admit:
            return true
        case .refuse(let notice, let startsEpisode):
            if startsEpisode {
                log.limited(
                    .info, cause: "budget-events", source: session.peer,
                    "over budget sid=\(session.id) peer=\(session.peer) namespace=\(LogSafe.text(socket.namespace.name)): events over \(limit.perSecond)/s after a burst of \(limit.burst) (--event-rate, --event-burst); dropping them")
            }
            if let notice {
                socket.namespace.onOverBudget?(socket, BudgetNotice(dropped: notice, limit: limit, disconnecting: false))
            }
            pauseReceiving(socket.client, milliseconds: max(1, 1000 / Int64(limit.perSecond)))
        case .disconnect(let overFor):
            counters.countDisconnect(.events)
            log.limited(
                .warn, cause: "budget-disconnect", source: session.peer,
                "over budget sid=\(session.id) peer=\(session.peer): events over --event-rate for \(overFor) ms (--over-budget-time); disconnecting")
            socket.namespace.onOverBudget?(socket, BudgetNotice(dropped: 1, limit: limit, disconnecting: true))
            disconnectOverBudget(socket.client)
        }
        return false
    }

    /// Spends a token of `client`'s namespace budget for a CONNECT to `name`; false when it is refused (and
    /// answered here).
    func admitNamespaceConnect(_ client: ClientConnection, to name: String) -> Bool {
        let now = engine.now
        let decision = client.namespaceBudget.spend(now: now)
        guard decision != .admit else { return true }
        let counters = engine.budgetCounters
        counters.countRefusal(.namespaceCycles)
        let limit = engine.configuration.budgets.namespaceCycles
        let session = client.session
        switch decision {
        case .admit:
            return true
        case .refuse(_, let startsEpisode):
            if startsEpisode {
                log.limited(
                    .info, cause: "budget-namespace", source: session.peer,
                    "over budget sid=\(session.id) peer=\(session.peer): namespace connects over \(limit.perSecond)/s after a burst of \(limit.burst) (--namespace-rate, --namespace-burst); refusing them")
            }
            let packet = connectError(
                namespace: name, message: "Too many namespace connects: at most \(limit.perSecond) a second after \(limit.burst)", for: client)
            session.send(EncodedPacket(packet, parser: configuration.parser).enginePackets)
        case .disconnect(let overFor):
            counters.countDisconnect(.namespaceCycles)
            log.limited(
                .warn, cause: "budget-disconnect", source: session.peer,
                "over budget sid=\(session.id) peer=\(session.peer): namespace connects over --namespace-rate for \(overFor) ms (--over-budget-time); disconnecting")
            disconnectOverBudget(client)
        }
        return false
    }

    /// Stops reading from `client` until its next token is back (a WebSocket only: lws's rx flow control).
    /// Measured with one client flooding `user_message` at the default budget: without the pause the
    /// service thread read, decoded and dropped about a million events a second from it, lws handing over
    /// 4 KiB (some 100 frames) per loop turn, and 50 ordinary clients' p99 went from 3 to 24 ms; with it the
    /// flood waits in the kernel and TCP slows the flooder to what the budget admits.
    private func pauseReceiving(_ client: ClientConnection, milliseconds: Int64) {
        guard client.resumeTimer == nil, let connection = client.session.transport.frameConnection else { return }
        connection.setReceiving(false)
        client.resumeTimer = engine.schedule(after: milliseconds) { [client] in
            client.resumeTimer = nil
            guard !client.isClosed else { return }
            client.session.transport.frameConnection?.setReceiving(true)
        }
    }

    /// Every socket of `client` gets a DISCONNECT, then its session closes (see the type's comment for why).
    private func disconnectOverBudget(_ client: ClientConnection) {
        for socket in client.sockets { socket.disconnect() }
        client.session.close(reason: .forcedClose)
    }
}

/// What ``Namespace/onOverBudget`` is told: how many events were dropped since the socket was last told,
/// the bound, and whether the socket is about to be disconnected for staying over it.
public struct BudgetNotice: Sendable, Equatable {
    public let dropped: Int
    public let limit: BudgetLimit
    public let disconnecting: Bool
}
