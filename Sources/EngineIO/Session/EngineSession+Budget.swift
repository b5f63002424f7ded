/// The budget for Engine.IO control packets a client sends on its current transport: pongs and noops,
/// which are otherwise free to send in a loop (a WebSocket of `3`s, a polling body of `6`s). A ping, an
/// open or an upgrade there already closes the session as a protocol error. The probe's packets during an
/// upgrade are not counted: there are two of them, once per upgrade.
///
/// Over the budget a packet is dropped (a pong dropped so may let the heartbeat time the client out, which
/// is then its own doing); a client over it for `--over-budget-time` is closed, with one log line.
extension EngineSession {
    /// Spends a token for a control packet; false when it is to be dropped (or the session was just closed).
    func admitControlPacket() -> Bool {
        let now = server.now
        switch controlBudget.spend(now: now) {
        case .admit:
            return true
        case .refuse(_, let startsEpisode):
            server.budgetCounters.countRefusal(.pings)
            if startsEpisode {
                let limit = server.configuration.budgets.pings
                log.limited(
                    .info, cause: "budget-pings", source: peer,
                    "over budget sid=\(id) peer=\(peer): pongs and noops over \(limit.perSecond)/s after a burst of \(limit.burst) (--ping-rate, --ping-burst); dropping them")
            }
            return false
        case .disconnect(let overFor):
            server.budgetCounters.countRefusal(.pings)
            server.budgetCounters.countDisconnect(.pings)
            log.limited(
                .warn, cause: "budget-disconnect", source: peer,
                "over budget sid=\(id) peer=\(peer): pongs and noops over --ping-rate for \(overFor) ms (--over-budget-time); closing")
            close(reason: .forcedClose)
            return false
        }
    }
}
