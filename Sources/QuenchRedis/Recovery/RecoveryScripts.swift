/// The Lua scripts of ``RedisRecoveryStore``: each runs atomically in Redis, which is what makes a take
/// exactly-once and an adoption won by one node only. Keys of one session: `s` its record, `c` who records
/// for it (the owner's host id; `handover:<owner>` between the owner's stop and an adoption; then
/// `<adopter>@<owner>`), `o` what
/// the owner recorded while it was away, `a` what an adopter recorded after the owner stopped, `t` the node
/// taking it while another node still records for it (the first phase of a take). Every key expires with
/// the record (the recovery window). The protocol these scripts serve, end to end: `CrossNodeRecovery` in
/// SocketIO (Sources/SocketIO/Server/Recovery/CrossNodeRecovery.swift).
enum RecoveryScripts {
    /// KEYS s c o a t; ARGV record owner window-ms.
    static let keep = """
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
        redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
        redis.call('DEL', KEYS[3], KEYS[4], KEYS[5])
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

    /// `frames(list)`: the packets of a list as one string of netstrings (`<length>:<bytes>,` each, oldest
    /// first; ``SocketIO/PacketFrames`` reads it). One bulk string rather than one array element per packet:
    /// the reply reader bounds arrays at 1,024 elements, and a session may miss far more packets than that
    /// within its byte bound. `#p` is the byte length of a Lua string, written in decimal without zeros in front.
    static let frames = """
        local function frames(list)
          local out = {}
          for i = 1, #list do
            local p = list[i]
            out[i] = #p .. ':' .. p .. ','
          end
          return table.concat(out)
        end
        """

    /// KEYS s c o a t; ARGV the liveness key prefix, the taker's host id, the channel, the taking message
    /// up to its recorder value. The first phase of a take. Nil when there is no record, or when a node is
    /// taking it already (exactly once). When nobody else can still be appending (the taker records for it
    /// itself, or its recorder is gone or never adopted it): [record, recorder, framed owner packets, framed
    /// adopted packets, 1 when the recording node's liveness key exists], every key deleted. Otherwise: marks it as
    /// taken by the taker (`t`, expiring with the record), publishes the taking message with the recorder
    /// value (so its place on the channel is this script's), and returns [record, recorder]; the recorder's
    /// appends keep succeeding until the taker finishes.
    static let take = frames + """

        local s = redis.call('GET', KEYS[1])
        if not s then return false end
        if redis.call('EXISTS', KEYS[5]) == 1 then return false end
        local c = redis.call('GET', KEYS[2]) or ''
        local host = c
        local at = string.find(c, '@', 1, true)
        if at then host = string.sub(c, 1, at - 1) end
        local alive = redis.call('EXISTS', ARGV[1] .. host)
        if host == ARGV[2] or alive == 0 or string.sub(c, 1, 9) == 'handover:' then
          local o = frames(redis.call('LRANGE', KEYS[3], 0, -1))
          local a = frames(redis.call('LRANGE', KEYS[4], 0, -1))
          redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5])
          return {s, c, o, a, alive}
        end
        local ttl = redis.call('PTTL', KEYS[1])
        if ttl <= 0 then ttl = 60000 end
        redis.call('SET', KEYS[5], ARGV[2], 'PX', ttl)
        redis.call('PUBLISH', ARGV[3], ARGV[4] .. cjson.encode(c) .. '}')
        return {s, c}
        """

    /// KEYS s c o a t; ARGV the taker's host id. The second phase: nil unless this taker holds the take;
    /// else [record, recorder, framed owner packets, framed adopted packets, 1], every key deleted.
    static let finishTake = frames + """

        if redis.call('GET', KEYS[5]) ~= ARGV[1] then return false end
        local s = redis.call('GET', KEYS[1])
        if not s then return false end
        local c = redis.call('GET', KEYS[2]) or ''
        local o = frames(redis.call('LRANGE', KEYS[3], 0, -1))
        local a = frames(redis.call('LRANGE', KEYS[4], 0, -1))
        redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5])
        return {s, c, o, a, 1}
        """

    /// KEYS s c o a t; ARGV the taker's host id. A take given up: deletes the session if this taker holds it.
    static let cancelTake = """
        if redis.call('GET', KEYS[5]) ~= ARGV[1] then return 0 end
        redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5])
        return 1
        """

    /// KEYS the recorder and taking keys of the handed sessions, in pairs; ARGV marker owner channel message.
    /// Marks each session this node records for and nobody is taking as handed over, then publishes the
    /// handover: an adopter that reads the message finds the marks. (A session being taken stays this node's
    /// until it sees the taking marker, which comes before the handover on the channel.)
    static let handOver = """
        for i = 1, #KEYS, 2 do
          if redis.call('GET', KEYS[i]) == ARGV[2] and redis.call('EXISTS', KEYS[i + 1]) == 0 then
            redis.call('SET', KEYS[i], ARGV[1], 'KEEPTTL')
          end
        end
        redis.call('PUBLISH', ARGV[3], ARGV[4])
        return 1
        """

    /// KEYS the recorder and taking keys, in pairs; ARGV marker adopter-mark. The first node to run it for a
    /// session nobody is taking becomes its recorder.
    static let adopt = """
        local n = 0
        for i = 1, #KEYS, 2 do
          if redis.call('GET', KEYS[i]) == ARGV[1] and redis.call('EXISTS', KEYS[i + 1]) == 0 then
            redis.call('SET', KEYS[i], ARGV[2], 'KEEPTTL')
            n = n + 1
          end
        end
        return n
        """
}
