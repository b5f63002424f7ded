/// The per-address bounds at the moment a handshake would open a session (``AddressLimits``): polling
/// handshakes in ``handle(_:responder:onAbandon:)``, WebSocket handshakes before the upgrade in
/// ``refusal(for:arrivingOn:)``. Upgrades of an existing session are not handshakes and pass.
extension EngineServer {
    /// Checks a handshake against its address's bounds: nil lets it open its session; else the 429 to
    /// answer with. An address is logged once when an episode at its bound begins (then at most once a minute
    /// while it lasts, with the count) and once when it is admitted again, with the episode's count.
    func admitHandshake(_ request: HTTPRequest) -> EngineRequestError? {
        // A client refused for its sessions waits as long as an abandoned session of its takes to expire.
        let heartbeatSeconds = Int((configuration.pingInterval + configuration.pingTimeout + 999) / 1000)
        switch addressLimits.admitHandshake(peer: request.peer, now: now, sessionRetryAfter: heartbeatSeconds) {
        case .admit(let ended):
            if let ended {
                log.limited(
                    .info, cause: "address-limit-over", source: request.peer,
                    "address \(AddressLimits.group(request.peer)) admitted again after \(ended) refused handshakes")
            }
            return nil
        case .refuse(let refusal):
            let limits = configuration.addressLimits
            let bound = switch refusal.cause {
            case .sessionsPerAddress: "\(limits.maxSessions) sessions open (--max-sessions-per-address)"
            case .handshakeRate: "handshakes over \(limits.handshakesPerSecond)/s after a burst of \(limits.handshakeBurst) (--handshake-rate, --handshake-burst)"
            }
            let error = EngineRequestError.tooManyRequests(refusal.cause, retryAfter: refusal.retryAfterSeconds, "address \(refusal.group): \(bound)")
            if let count = refusal.refusedSinceLastLine {
                let what = count == 1 ? "refusing its handshakes until it is under the bound again" : "\(count) handshakes refused since the last line"
                log.limited(
                    .warn, cause: "refused-429", source: request.peer,
                    "refused peer=\(request.peer) status=429 cause=\(refusal.cause.rawValue) \(error.detail); \(what) (Retry-After: \(refusal.retryAfterSeconds))")
            }
            return error
        }
    }

    /// What the per-address bounds have refused and forgotten, for `/metrics`.
    public var addressLimitCounters: AddressLimitCounters {
        AddressLimitCounters(refused: addressLimits.refused, evictions: addressLimits.evictions, trackedAddresses: addressLimits.trackedAddresses)
    }
}

/// The per-address bounds' counts (``EngineServer/addressLimitCounters``).
public struct AddressLimitCounters: Sendable, Equatable {
    /// Handshakes refused with 429, by cause.
    public let refused: [AddressLimitCause: Int]
    /// Addresses forgotten to make room while they still held sessions or a draining bucket.
    public let evictions: Int
    /// Addresses tracked now.
    public let trackedAddresses: Int
}
