import Testing

@testable import QuenchRedis

@Suite struct RedisURLTests {
    @Test func defaultsAndFullForms() throws {
        let plain = try RedisURL(parsing: "redis://localhost")
        #expect(plain.host == "localhost" && plain.port == 6379 && plain.database == 0 && plain.password == nil && plain.username == nil)
        let full = try RedisURL(parsing: "redis://:s%40cret@10.0.0.5:6380/3")
        #expect(full.host == "10.0.0.5" && full.port == 6380 && full.database == 3)
        #expect(full.password == "s@cret" && full.username == nil)
        let acl = try RedisURL(parsing: "REDIS://app:pw@[::1]:7000/")
        #expect(acl.host == "::1" && acl.port == 7000 && acl.username == "app" && acl.password == "pw" && acl.database == 0)
    }

    @Test func redissIsTLSVerifiedAgainstTheHostUnlessToldOtherwise() throws {
        var url = try RedisURL(parsing: "rediss://app:pw@10.0.0.9:6380/1")
        #expect(url.tls?.serverName == "10.0.0.9" && url.tls?.caFile == nil)
        #expect(url.description == "rediss://app:***@10.0.0.9:6380/1")
        url.verifyTLS(caFile: "/etc/quench/ca.pem", serverName: "redis.internal")
        #expect(url.tls?.serverName == "redis.internal" && url.tls?.caFile == "/etc/quench/ca.pem")
        var plain = try RedisURL(parsing: "redis://h")
        plain.verifyTLS(caFile: "/etc/quench/ca.pem", serverName: "redis.internal")
        #expect(plain.tls == nil)
    }

    @Test func descriptionHidesThePassword() throws {
        #expect(try RedisURL(parsing: "redis://:hunter2@h:1/2").description == "redis://:***@h:1/2")
        #expect(try RedisURL(parsing: "redis://u:hunter2@[::1]").description == "redis://u:***@[::1]:6379/0")
        #expect(try RedisURL(parsing: "redis://h").description == "redis://h:6379/0")
    }

    @Test(arguments: [
        "localhost:6379", "http://h", "redis+sentinel://h:1/0", "redis://", "redis://:pw@",
        "redis://h:0", "redis://h:99999", "redis://h:port", "redis://h/x", "redis://h/-1", "redis://h?db=1",
        "redis://[::1", "redis://:%zz@h",
    ])
    func rejects(_ text: String) {
        #expect(throws: RedisURLError.self) { try RedisURL(parsing: text) }
    }
}
