/// At most one log line per interval for an event that a client can repeat at will; the lines that
/// were held back are counted and reported by the next one. Service thread; a plain value.
struct LogThrottle {
    let intervalMilliseconds: Int64
    private var lastLogged: Int64?
    private var held = 0

    init(intervalMilliseconds: Int64) {
        self.intervalMilliseconds = intervalMilliseconds
    }

    /// An event at `now`: the number of events held back since the last line if this one is to be
    /// logged, nil if it is held back too.
    mutating func admit(now: Int64) -> Int? {
        if let lastLogged, now - lastLogged < intervalMilliseconds {
            held += 1
            return nil
        }
        lastLogged = now
        defer { held = 0 }
        return held
    }
}
