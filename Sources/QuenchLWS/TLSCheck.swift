#if canImport(Glibc)
import Glibc
#endif

/// Checks the certificate and key files before lws reads them, so a typo is one clear line.
enum TLSCheck {
    static func verify(_ files: TLSFiles) -> LWSServerError? {
        for (flag, path) in [("--tls-cert", files.certificate), ("--tls-key", files.privateKey)] {
            guard access(path, R_OK) == 0 else {
                return LWSServerError("\(flag) \(path): \(String(cString: strerror(errno)))")
            }
        }
        return nil
    }
}
