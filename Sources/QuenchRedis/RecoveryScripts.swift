/// The Lua scripts of ``RedisRecoveryStore``: each runs atomically in Redis, which is what makes a take
/// exactly-once and an adoption won by one node only. Keys of one session: `s` its record, `c` who records
/// for it (the owner's host id; `handover:<owner>` between the owner's stop and an adoption; then
/// `<adopter>@<owner>`), `o` what
/// the owner recorded while it was away, `a` what an adopter recorded after the owner stopped. Every key
/// expires with the record (the recovery window).
enum RecoveryScripts {
    /// KEYS s c o a; ARGV record owner window-ms.
    static let keep = """
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
        redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
        redis.call('DEL', KEYS[3], KEYS[4])
        return 1
        """

    /// KEYS s c list; ARGV packet kind recorder. 1 when appended, 0 when the session is gone or this node no
    /// longer records for it. The owner (kind `o`, recorder its host id) appends while the recorder is itself,
    /// its handover mark, or an adoption from it (until its handover comes back it records what was published
    /// before); an adopter (kind `a`, recorder `<adopter>@<owner>`) only while it is that recorder.
    static let append = """
        local ttl = redis.call('PTTL', KEYS[1])
        if ttl <= 0 then return 0 end
        local c = redis.call('GET', KEYS[2])
        if not c then return 0 end
        if ARGV[2] == 'a' then
          if c ~= ARGV[3] then return 0 end
        elseif c ~= ARGV[3] and c ~= 'handover:' .. ARGV[3] and string.sub(c, -(#ARGV[3] + 1)) ~= '@' .. ARGV[3] then
          return 0
        end
        redis.call('RPUSH', KEYS[3], ARGV[1])
        redis.call('PEXPIRE', KEYS[3], ttl)
        return 1
        """

    /// KEYS s c o a; ARGV the liveness key prefix. Nil when there is no record; else [record, recorder,
    /// [owner packets], [adopted packets], 1 when the recording node's liveness key exists], every key of the
    /// session deleted in the same step.
    static let take = """
        local s = redis.call('GET', KEYS[1])
        if not s then return false end
        local c = redis.call('GET', KEYS[2]) or ''
        local o = redis.call('LRANGE', KEYS[3], 0, -1)
        local a = redis.call('LRANGE', KEYS[4], 0, -1)
        local host = c
        local at = string.find(c, '@', 1, true)
        if at then host = string.sub(c, 1, at - 1) end
        local alive = redis.call('EXISTS', ARGV[1] .. host)
        redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
        return {s, c, o, a, alive}
        """

    /// KEYS the recorder keys of the handed sessions; ARGV marker owner channel message. Marks each session
    /// this node records for as handed over, then publishes the handover: an adopter that reads the message
    /// finds the marks.
    static let handOver = """
        for i = 1, #KEYS do
          if redis.call('GET', KEYS[i]) == ARGV[2] then redis.call('SET', KEYS[i], ARGV[1], 'KEEPTTL') end
        end
        redis.call('PUBLISH', ARGV[3], ARGV[4])
        return 1
        """

    /// KEYS the recorder keys; ARGV marker adopter-mark. The first node to run it for a session becomes its recorder.
    static let adopt = """
        local n = 0
        for i = 1, #KEYS do
          if redis.call('GET', KEYS[i]) == ARGV[1] then redis.call('SET', KEYS[i], ARGV[2], 'KEEPTTL') n = n + 1 end
        end
        return n
        """
}
