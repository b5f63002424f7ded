/// What the Admin UI did since the start (`/metrics`): a snapshot of plain integers.
public struct AdminCounts: Sendable, Equatable {
    /// Logins to the admin namespace, by outcome.
    public struct Logins: Sendable, Equatable {
        public var accepted = 0
        /// Wrong or missing credentials.
        public var refused = 0
        /// Refused unchecked over the login budget.
        public var throttled = 0
    }

    /// Admin clients connected to this node now.
    public var viewers: Int
    public var logins: Logins
    /// `event_received`/`event_sent` reports left out over `--admin-event-rate`.
    public var eventReportsDropped: Int
    /// Socket and room reports left out over their bound.
    public var changeReportsDropped: Int
}
