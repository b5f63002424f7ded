import CLibWebSockets
import EngineIO

/// SIGHUP with TLS: the certificate and key are read again from their files and used for every new
/// connection, so a renewed certificate needs no restart; connections already open keep theirs.
///
/// lws 4.1's `lws_tls_cert_updated` loads the files straight into the live TLS context and reports no
/// failure — and a certificate loaded without its key leaves the context with neither. So the pair
/// is first tried on a throwaway context (no listening socket); only a pair that loads there is
/// handed to the live one, and a bad pair leaves the old certificate in place, with a line saying why.
/// Service thread.
extension LWSServer {
    /// Any thread: asks for a certificate reload (SIGHUP), which runs on the service thread.
    public func requestCertificateReload() {
        inbox.execute { [unowned self] in self.reloadCertificate() }
    }

    func reloadCertificate() {
        guard let context, !stopping else { return }
        guard let tls = configuration.tls, let certificatePath = keptCertificatePath, let keyPath = keptKeyPath else {
            log.info("SIGHUP: no TLS certificate to reload (serving plain HTTP); nothing to do")
            return
        }
        if let problem = TLSCheck.verify(tls)?.description ?? Self.tryCertificate(tls) {
            log.warn("SIGHUP: TLS certificate not reloaded, keeping the current one: \(problem)")
            return
        }
        LWSLogBridge.hold()
        lws_tls_cert_updated(context, certificatePath, keyPath, nil, 0, nil, 0)
        let lines = LWSLogBridge.release(logging: false)
        if let failure = lines.first(where: { $0.contains("problem") || $0.contains("rror") }) {
            // The files changed between the trial and the load: say so; new handshakes may fail until fixed.
            log.error("SIGHUP: TLS certificate reload failed while loading (\(failure)); fix the files and send SIGHUP again")
            return
        }
        log.info("SIGHUP: TLS certificate reloaded from \(tls.certificate) and \(tls.privateKey); new connections use it")
    }

    /// Loads `files` into a throwaway lws context with TLS and no listening socket: nil if they load,
    /// else one line naming the problem.
    static func tryCertificate(_ files: TLSFiles) -> String? {
        var info = lws_context_creation_info()
        info.port = CONTEXT_PORT_NO_LISTEN_SERVER
        info.options = UInt64(LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT)
        info.gid = -1
        info.uid = -1
        // A table for a handful of descriptors, not one per open file: this context never serves.
        info.fd_limit_per_thread = 16
        LWSLogBridge.hold()
        let trial = files.certificate.withCString { certificate in
            files.privateKey.withCString { key in
                info.ssl_cert_filepath = certificate
                info.ssl_private_key_filepath = key
                return lws_create_context(&info)
            }
        }
        let lines = LWSLogBridge.release(logging: false)
        guard let trial else {
            return explainFailure(lines, LWSServerConfiguration(tls: files)).description
        }
        lws_context_destroy(trial)
        return nil
    }
}
