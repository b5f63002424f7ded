import QuenchSystem
import Testing

/// QuenchSystem's bcrypt check through libcrypt's crypt_r (the hash below was made by the same library).
@Suite struct PasswordHashTests {
    static let hash = "$2b$04$abcdefghijklmnopqrstuu2r9OfJnfCsdneAXAGHnS4UpFFP8WIrW"

    @Test func matchesOnlyTheRightPassword() {
        #expect(PasswordHash.matches("secret", hash: Self.hash))
        #expect(!PasswordHash.matches("Secret", hash: Self.hash))
        #expect(!PasswordHash.matches("secret\u{0}x", hash: Self.hash))
        #expect(!PasswordHash.matches("", hash: Self.hash))
        #expect(!PasswordHash.matches("secret", hash: "$2b$04$short"))
    }

    @Test(arguments: [
        (hash, true), ("$2y$10$abcdefghijklmnopqrstuu2r9OfJnfCsdneAXAGHnS4UpFFP8WIrW", true),
        ("$2b$03$abcdefghijklmnopqrstuu2r9OfJnfCsdneAXAGHnS4UpFFP8WIrW", false), ("$1$abc$def", false), ("plain", false),
        ("$2b$04$abcdefghijklmnopqrstuu2r9OfJnfCsdneAXAGHnS4UpFFP8WIr!", false),
    ])
    func recognisesBcrypt(_ text: String, _ expected: Bool) {
        #expect(PasswordHash.isBcrypt(text) == expected)
    }
}
