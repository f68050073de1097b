//! PostgreSQL over TLS, by libpq's rules for `sslmode` and `sslrootcert`, on
//! rustls (with ring, the provider the rest of flowcal's TLS uses).
//!
//! tokio-postgres reads the rest of the connection string but knows only
//! `disable`, `prefer` and `require`, and checks no certificate: this module
//! takes `sslmode` and `sslrootcert` out of the string, gives tokio-postgres
//! the mode it understands (`verify-*` are `require` to it: no TLS, no
//! connection) and makes the TLS connector that checks what the mode asks for.
//!
//! It must never let a password out before TLS is up when the mode is
//! `require` or stricter (tokio-postgres stops when the server declines TLS),
//! and never puts the connection string (which may hold the password) into a
//! message. It uses nothing else of the crate: `db` opens connections with it.

use postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::future::Future;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// libpq's `sslmode` values (all but `allow`, which tries without TLS first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SslMode {
    /// No TLS.
    Disable,
    /// TLS when the server offers it, else in the clear (libpq's default).
    Prefer,
    /// TLS or no connection; the certificate is checked only with `sslrootcert`.
    Require,
    /// TLS, and the certificate chains to a trusted CA.
    VerifyCa,
    /// TLS, the certificate chains to a trusted CA and names the host.
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Result<SslMode, String> {
        Ok(match value {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            "allow" => {
                return Err("sslmode 'allow' is not supported (it tries without TLS first): use prefer, or \
                            require and stricter"
                    .into())
            }
            other => {
                return Err(format!(
                    "sslmode '{}' is not one of disable, prefer, require, verify-ca, verify-full",
                    other.escape_debug()
                ))
            }
        })
    }

    fn name(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// Where the trusted CA certificates come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RootCert {
    /// A PEM file of one or more CA certificates.
    File(PathBuf),
    /// `sslrootcert=system`: the roots flowcal carries (Mozilla's, from webpki-roots).
    System,
}

/// How far the server's certificate is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Check {
    /// Encrypted; any certificate (its handshake signature still checked).
    Nothing,
    /// The chain must lead to a trusted CA; the host name is not compared.
    Chain(RootCert),
    /// The chain, and the certificate must name the host.
    Full(RootCert),
}

/// A connection string split into what tokio-postgres reads and the TLS
/// settings it does not know. `rest` may hold the password: no `Debug`.
pub(crate) struct Target {
    /// The connection string without `sslmode` and `sslrootcert`.
    rest: String,
    mode: SslMode,
    root: Option<RootCert>,
}

/// Keys taken out of the connection string.
const SSLMODE: &str = "sslmode";
const SSLROOTCERT: &str = "sslrootcert";
/// Client certificates, refused by name rather than as unknown options.
const CLIENT_CERT_KEYS: [&str; 3] = ["sslcert", "sslkey", "sslpassword"];

fn taken(key: &str) -> bool {
    key == SSLMODE || key == SSLROOTCERT || CLIENT_CERT_KEYS.contains(&key)
}

impl Target {
    /// Reads `sslmode` and `sslrootcert` from a `postgres://` URL or a
    /// `key=value` string (the last of a key wins, as in libpq); reads no file.
    pub(crate) fn parse(target: &str) -> Result<Target, String> {
        let (rest, settings) = match ["postgres://", "postgresql://"].iter().find(|p| target.starts_with(**p)) {
            Some(prefix) => split_url(target, prefix.len())?,
            None => split_key_values(target),
        };
        let (mut mode, mut root) = (None, None);
        for (key, value) in settings {
            match key.as_str() {
                SSLMODE => mode = Some(SslMode::parse(&value)?),
                SSLROOTCERT => root = Some(value),
                _ => {
                    return Err(format!(
                        "{key} is not supported: flowcal does not sign in to PostgreSQL with a client certificate; \
                         remove {key} and use a password (scram-sha-256) over TLS"
                    ))
                }
            }
        }
        let root = match root.as_deref() {
            None | Some("") => None,
            Some("system") => Some(RootCert::System),
            Some(path) => Some(RootCert::File(PathBuf::from(path))),
        };
        let mode = match (mode, &root) {
            // libpq 16: the system roots would trust anyone's certificate for
            // a name they control, so only verify-full makes sense with them.
            (None, Some(RootCert::System)) => SslMode::VerifyFull,
            (Some(m), Some(RootCert::System)) if m != SslMode::VerifyFull => {
                return Err(format!(
                    "sslmode '{}' may not be used with sslrootcert=system: use sslmode=verify-full",
                    m.name()
                ))
            }
            (m, _) => m.unwrap_or(SslMode::Prefer),
        };
        Ok(Target { rest, mode, root })
    }

    /// What is checked of the server's certificate when TLS is used. As in
    /// libpq, `prefer` and `require` check the chain when given CA certificates.
    fn check(&self) -> Check {
        let roots = self.root.clone().unwrap_or(RootCert::System);
        match (self.mode, &self.root) {
            (SslMode::Disable | SslMode::Prefer | SslMode::Require, None) => Check::Nothing,
            (SslMode::Disable | SslMode::Prefer | SslMode::Require | SslMode::VerifyCa, _) => Check::Chain(roots),
            (SslMode::VerifyFull, _) => Check::Full(roots),
        }
    }

    /// The mode tokio-postgres applies: with `require` it refuses to go on
    /// when the server declines TLS, before sending anything else.
    fn tokio_mode(&self, config: &postgres::Config) -> postgres::config::SslMode {
        match self.mode {
            // libpq ignores sslmode on Unix sockets: the server offers no TLS there.
            _ if only_unix_sockets(config) => postgres::config::SslMode::Disable,
            SslMode::Disable => postgres::config::SslMode::Disable,
            SslMode::Prefer => postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => postgres::config::SslMode::Require,
        }
    }

    /// The mode and its certificate checks, as messages name them.
    fn settings(&self) -> String {
        match (&self.root, self.mode) {
            (Some(RootCert::File(_)), SslMode::Prefer | SslMode::Require) => {
                format!("sslmode={}: with sslrootcert, the CA is checked", self.mode.name())
            }
            _ => format!("sslmode={}", self.mode.name()),
        }
    }
}

#[cfg(unix)]
fn only_unix_sockets(config: &postgres::Config) -> bool {
    let hosts = config.get_hosts();
    !hosts.is_empty()
        && config.get_hostaddrs().is_empty()
        && hosts.iter().all(|h| matches!(h, postgres::config::Host::Unix(_)))
}

#[cfg(not(unix))]
fn only_unix_sockets(_: &postgres::Config) -> bool {
    false
}

type Settings = Vec<(String, String)>;

/// Splits a `postgres://` URL's query. Credentials end at the first `@` and
/// the query starts at the first `?` after them, as tokio-postgres reads it.
fn split_url(url: &str, prefix: usize) -> Result<(String, Settings), String> {
    let after = &url[prefix..];
    let from = after.find('@').map_or(0, |at| at + 1);
    let Some(q) = after[from..].find('?').map(|q| prefix + from + q) else {
        return Ok((url.to_owned(), Vec::new()));
    };
    let (mut kept, mut settings) = (Vec::new(), Vec::new());
    for part in url[q + 1..].split('&') {
        let Some((key, value)) = part.split_once('=') else {
            kept.push(part);
            continue;
        };
        let key = percent_encoding::percent_decode_str(key).decode_utf8_lossy();
        if !taken(&key) {
            kept.push(part);
            continue;
        }
        let value = percent_encoding::percent_decode_str(value)
            .decode_utf8()
            .map_err(|_| format!("the database URL's {key} is not UTF-8 once percent-decoded"))?;
        settings.push((key.into_owned(), value.into_owned()));
    }
    let mut rest = url[..q].to_owned();
    if !kept.is_empty() {
        rest.push('?');
        rest.push_str(&kept.join("&"));
    }
    Ok((rest, settings))
}

/// Takes the TLS keys out of a `key=value` string (values may be quoted in
/// `'…'`, with `\` escapes). A string this cannot read goes on unchanged:
/// tokio-postgres then says what is wrong with it.
fn split_key_values(s: &str) -> (String, Settings) {
    let Some(pairs) = key_values(s) else { return (s.to_owned(), Vec::new()) };
    let (mut rest, mut settings, mut copied) = (String::new(), Vec::new(), 0);
    for (key, value, span) in pairs {
        if taken(&key) {
            rest.push_str(&s[copied..span.start]);
            copied = span.end;
            settings.push((key, value));
        }
    }
    rest.push_str(&s[copied..]);
    (rest, settings)
}

/// The pairs of a `key=value` string, each with where it stands, read as
/// tokio-postgres reads them; `None` when the string is malformed.
fn key_values(s: &str) -> Option<Vec<(String, String, std::ops::Range<usize>)>> {
    let mut it = s.char_indices().peekable();
    let mut out = Vec::new();
    let skip_ws = |it: &mut std::iter::Peekable<std::str::CharIndices<'_>>| {
        while it.next_if(|(_, c)| c.is_whitespace()).is_some() {}
    };
    loop {
        skip_ws(&mut it);
        let Some(&(start, _)) = it.peek() else { break };
        let mut key = String::new();
        while let Some((_, c)) = it.next_if(|(_, c)| !c.is_whitespace() && *c != '=') {
            key.push(c);
        }
        skip_ws(&mut it);
        if key.is_empty() || it.next().map(|(_, c)| c) != Some('=') {
            return None;
        }
        skip_ws(&mut it);
        let mut value = String::new();
        if it.next_if(|(_, c)| *c == '\'').is_some() {
            loop {
                match it.next()? {
                    (_, '\'') => break,
                    (_, '\\') => value.push(it.next()?.1),
                    (_, c) => value.push(c),
                }
            }
        } else {
            while let Some((_, c)) = it.next_if(|(_, c)| !c.is_whitespace()) {
                if c == '\\' {
                    if let Some((_, escaped)) = it.next() {
                        value.push(escaped);
                    }
                } else {
                    value.push(c);
                }
            }
            if value.is_empty() {
                return None;
            }
        }
        let end = it.peek().map_or(s.len(), |&(i, _)| i);
        out.push((key, value, start..end));
    }
    Some(out)
}

/// Why a connection could not be opened.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Said in flowcal's words (settings, certificates, TLS refused).
    Explained(String),
    /// Anything else, as the client reports it.
    Postgres(postgres::Error),
}

/// Opens a blocking client for a PostgreSQL URL or `key=value` string, with
/// TLS as its `sslmode` says.
pub(crate) fn connect(target: &str) -> Result<postgres::Client, Failure> {
    let target = Target::parse(target).map_err(Failure::Explained)?;
    let mut config: postgres::Config = target.rest.parse().map_err(|e: postgres::Error| {
        // The parser's causes name an option or a byte position, never a value.
        let cause = std::error::Error::source(&e).map(ToString::to_string).unwrap_or_default();
        Failure::Explained(format!("the database URL cannot be read: {cause}"))
    })?;
    let mode = target.tokio_mode(&config);
    config.ssl_mode(mode);
    let result = if mode == postgres::config::SslMode::Disable {
        config.connect(postgres::NoTls)
    } else {
        config.connect(MakeRustls::new(&target)?)
    };
    result.map_err(|e| explain(e, &target))
}

/// An error the user can act on, for the failures TLS settings cause.
fn explain(e: postgres::Error, target: &Target) -> Failure {
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        if let Some(failed) = c.downcast_ref::<HandshakeFailed>() {
            return Failure::Explained(failed.0.clone());
        }
        match c.to_string().as_str() {
            "server does not support TLS" => {
                return Failure::Explained(format!(
                    "the database server does not accept TLS connections, and {} does not go on without TLS \
                     (the password was not sent): turn ssl on in the server's configuration",
                    target.settings()
                ))
            }
            "no hostname provided for TLS handshake" => {
                return Failure::Explained(format!(
                    "TLS to the database needs its host name to check ({}): give host= (hostaddr alone is not \
                     enough)",
                    target.settings()
                ))
            }
            _ => {}
        }
        cause = c.source();
    }
    if let Some(db) = e.as_db_error() {
        // pg_hba.conf refusing a connection "…, no encryption": the server wants TLS.
        if target.mode == SslMode::Disable && db.message().contains("no encryption") {
            return Failure::Explained(format!(
                "PostgreSQL: {}: {}; the server accepts this connection only over TLS: use sslmode=verify-full \
                 (or require) instead of sslmode=disable",
                db.code().code(),
                db.message()
            ));
        }
    }
    Failure::Postgres(e)
}

// ---- the TLS connector --------------------------------------------------------------------------

/// Makes rustls connectors for tokio-postgres, one per host it tries.
#[derive(Clone)]
struct MakeRustls {
    config: Arc<ClientConfig>,
    /// What the checks were, for messages.
    about: Arc<About>,
}

struct About {
    /// `sslmode=…`, as messages name it.
    settings: String,
    /// Where the trusted CA certificates came from, when any were used.
    roots: Option<String>,
}

impl MakeRustls {
    fn new(target: &Target) -> Result<MakeRustls, Failure> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let check = target.check();
        let roots = match &check {
            Check::Nothing => None,
            Check::Chain(root) | Check::Full(root) => Some(root),
        };
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| Failure::Explained(format!("TLS for the database cannot be set up: {e}")))?;
        let webpki = |root: &RootCert| -> Result<Arc<WebPkiServerVerifier>, Failure> {
            WebPkiServerVerifier::builder_with_provider(Arc::new(root_store(root)?), provider.clone())
                .build()
                .map_err(|e| Failure::Explained(format!("the database's CA certificates cannot be used: {e}")))
        };
        let mut config = match &check {
            Check::Nothing => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate {
                    algorithms: provider.signature_verification_algorithms,
                }))
                .with_no_client_auth(),
            Check::Chain(root) => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(ChainOnly(webpki(root)?)))
                .with_no_client_auth(),
            Check::Full(root) => builder.with_webpki_verifier(webpki(root)?).with_no_client_auth(),
        };
        // What libpq 17 sends; required by servers for sslnegotiation=direct.
        config.alpn_protocols = vec![b"postgresql".to_vec()];
        let roots = roots.map(|r| match r {
            RootCert::File(path) => format!("sslrootcert {}", path.display()),
            RootCert::System => "the system roots".to_owned(),
        });
        Ok(MakeRustls { config: Arc::new(config), about: Arc::new(About { settings: target.settings(), roots }) })
    }
}

/// The largest CA certificate file read (a whole system bundle is ~200 KiB).
const MAX_ROOT_FILE: u64 = 4 << 20;

fn root_store(root: &RootCert) -> Result<RootCertStore, Failure> {
    match root {
        RootCert::System => Ok(RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() }),
        RootCert::File(path) => read_roots(path).map_err(Failure::Explained),
    }
}

/// The CA certificates of a PEM file.
fn read_roots(path: &Path) -> Result<RootCertStore, String> {
    let shown = path.display();
    let mut pem = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_ROOT_FILE + 1).read_to_end(&mut pem))
        .map_err(|e| format!("sslrootcert {shown}: cannot read: {e}"))?;
    if pem.len() as u64 > MAX_ROOT_FILE {
        return Err(format!("sslrootcert {shown}: larger than 4 MiB, not a file of CA certificates"));
    }
    let mut store = RootCertStore::empty();
    for (n, cert) in CertificateDer::pem_slice_iter(&pem).enumerate() {
        let cert = cert.map_err(|e| format!("sslrootcert {shown}: not a PEM file of certificates: {e}"))?;
        store.add(cert).map_err(|e| format!("sslrootcert {shown}: certificate {} is not usable: {e}", n + 1))?;
    }
    if store.is_empty() {
        return Err(format!(
            "sslrootcert {shown}: holds no certificate (expected PEM blocks -----BEGIN CERTIFICATE-----)"
        ));
    }
    Ok(store)
}

impl<S> MakeTlsConnect<S> for MakeRustls
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type TlsConnect = RustlsConnect;
    type Error = HandshakeFailed;

    fn make_tls_connect(&mut self, host: &str) -> Result<RustlsConnect, HandshakeFailed> {
        // tokio-postgres asks before it knows whether TLS will be used (a Unix
        // socket has no host name): a name TLS cannot check fails at the handshake.
        Ok(RustlsConnect {
            config: self.config.clone(),
            about: self.about.clone(),
            name: ServerName::try_from(host.to_owned()).ok(),
            host: host.to_owned(),
        })
    }
}

/// One TLS handshake with one host.
struct RustlsConnect {
    config: Arc<ClientConfig>,
    about: Arc<About>,
    name: Option<ServerName<'static>>,
    host: String,
}

/// A failed handshake, in words for the operator.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct HandshakeFailed(String);

impl<S> TlsConnect<S> for RustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type Error = HandshakeFailed;
    type Future = Pin<Box<dyn Future<Output = Result<RustlsStream<S>, HandshakeFailed>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            let Some(name) = self.name else {
                return Err(HandshakeFailed(format!(
                    "'{}' is not a host name or IP address TLS can check ({})",
                    self.host.escape_debug(),
                    self.about.settings
                )));
            };
            tokio_rustls::TlsConnector::from(self.config)
                .connect(name, stream)
                .await
                .map(RustlsStream)
                .map_err(|e| HandshakeFailed(describe(&e, &self.host, &self.about)))
        })
    }
}

/// What went wrong in a handshake, and what to do about it.
fn describe(e: &std::io::Error, host: &str, about: &About) -> String {
    let settings = &about.settings;
    let Some(tls) = e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) else {
        return format!("the TLS handshake with the database server '{host}' failed ({settings}): {e}");
    };
    let roots = about.roots.as_deref().unwrap_or("the system roots");
    match tls {
        rustls::Error::InvalidCertificate(CertificateError::NotValidForName) => {
            format!(
                "the database server's certificate is not valid for host '{host}' ({settings}): connect by a name \
                 it lists, or use sslmode=verify-ca to check only who signed it"
            )
        }
        rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext { presented, .. }) => {
            let names: Vec<String> = presented.iter().map(|n| presented_name(n)).collect();
            format!(
                "the database server's certificate is not valid for host '{host}' ({settings}); it names {}: \
                 connect by one of those, or use sslmode=verify-ca to check only who signed it",
                if names.is_empty() { "no host".to_owned() } else { names.join(", ") }
            )
        }
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => format!(
            "the database server's certificate is not signed by a CA in {roots} ({settings}): give the \
             certificate of the CA that signed it with sslrootcert=PATH"
        ),
        rustls::Error::InvalidCertificate(CertificateError::Expired | CertificateError::ExpiredContext { .. }) => {
            format!("the database server's certificate has expired ({settings})")
        }
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. },
        ) => format!("the database server's certificate is not valid yet ({settings}): is this machine's clock right?"),
        rustls::Error::InvalidCertificate(other) => {
            format!("the database server's certificate was refused ({settings}): {other}")
        }
        other => format!("the TLS handshake with the database server '{host}' failed ({settings}): {other}"),
    }
}

/// `DnsName("db.example")` (how webpki lists a certificate's names) as `db.example`.
fn presented_name(name: &str) -> String {
    let inner = name
        .strip_prefix("DnsName(\"")
        .and_then(|n| n.strip_suffix("\")"))
        .or_else(|| name.strip_prefix("IpAddress(").and_then(|n| n.strip_suffix(')')));
    inner.unwrap_or(name).to_owned()
}

// ---- certificate checks -------------------------------------------------------------------------

/// `prefer` and `require` without CA certificates: any certificate is taken
/// (as libpq does), but the handshake must be signed by its key.
#[derive(Debug)]
struct AnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// `verify-ca`: the whole of webpki's check except the host name. webpki
/// checks the chain first and the name last, so a name error means the chain
/// was good.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

// ---- the stream ---------------------------------------------------------------------------------

/// A TLS session to PostgreSQL.
pub(crate) struct RustlsStream<S>(tokio_rustls::client::TlsStream<S>);

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for RustlsStream<S> {
    /// `tls-server-end-point` (RFC 5929), so that SCRAM can bind the password
    /// exchange to this TLS session (SCRAM-SHA-256-PLUS).
    fn channel_binding(&self) -> ChannelBinding {
        let (_, session) = self.0.get_ref();
        let leaf = session.peer_certificates().and_then(|certs| certs.first());
        match leaf.and_then(|cert| end_point_hash(cert).map(|alg| (cert, alg))) {
            Some((cert, alg)) => {
                ChannelBinding::tls_server_end_point(ring::digest::digest(alg, cert).as_ref().to_vec())
            }
            None => ChannelBinding::none(),
        }
    }
}

/// The hash `tls-server-end-point` uses for a certificate: that of its
/// signature algorithm, SHA-256 for MD5 and SHA-1; `None` for algorithms
/// without one (Ed25519, RSA-PSS), where SCRAM goes on without binding.
fn end_point_hash(cert: &[u8]) -> Option<&'static ring::digest::Algorithm> {
    const RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01];
    const ECDSA_SHA1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01];
    const ECDSA_SHA2: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03];
    // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm SEQUENCE { OID, … }, … }
    let (0x30, certificate, _) = der(cert)? else { return None };
    let (0x30, _, after_tbs) = der(certificate)? else { return None };
    let (0x30, algorithm, _) = der(after_tbs)? else { return None };
    let (0x06, oid, _) = der(algorithm)? else { return None };
    use ring::digest::{SHA256, SHA384, SHA512};
    match oid.split_last()? {
        (4 | 5 | 11, RSA) => Some(&SHA256),
        (12, RSA) => Some(&SHA384),
        (13, RSA) => Some(&SHA512),
        (2, ECDSA_SHA2) => Some(&SHA256),
        (3, ECDSA_SHA2) => Some(&SHA384),
        (4, ECDSA_SHA2) => Some(&SHA512),
        _ if oid == ECDSA_SHA1 => Some(&SHA256),
        _ => None,
    }
}

/// One DER element at the start of `bytes`: its tag, its contents, what follows.
fn der(bytes: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = bytes.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let (len, rest) = rest.split_at(n);
        (len.iter().fold(0usize, |acc, b| acc << 8 | usize::from(*b)), rest)
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Target {
        Target::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn each_sslmode_and_what_it_checks() {
        let file = || RootCert::File(PathBuf::from("/etc/flowcal/db-ca.pem"));
        let cases = [
            ("", SslMode::Prefer, Check::Nothing),
            ("?sslmode=disable", SslMode::Disable, Check::Nothing),
            ("?sslmode=prefer", SslMode::Prefer, Check::Nothing),
            ("?sslmode=require", SslMode::Require, Check::Nothing),
            ("?sslmode=verify-ca", SslMode::VerifyCa, Check::Chain(RootCert::System)),
            ("?sslmode=verify-full", SslMode::VerifyFull, Check::Full(RootCert::System)),
            // libpq: given CA certificates, require (and prefer) check the chain.
            ("?sslmode=require&sslrootcert=/etc/flowcal/db-ca.pem", SslMode::Require, Check::Chain(file())),
            ("?sslrootcert=/etc/flowcal/db-ca.pem", SslMode::Prefer, Check::Chain(file())),
            ("?sslmode=verify-ca&sslrootcert=/etc/flowcal/db-ca.pem", SslMode::VerifyCa, Check::Chain(file())),
            ("?sslmode=verify-full&sslrootcert=/etc/flowcal/db-ca.pem", SslMode::VerifyFull, Check::Full(file())),
            // libpq 16: the system roots go with verify-full, the default then.
            ("?sslrootcert=system", SslMode::VerifyFull, Check::Full(RootCert::System)),
            ("?sslmode=verify-full&sslrootcert=system", SslMode::VerifyFull, Check::Full(RootCert::System)),
            // The last of a key wins.
            ("?sslmode=disable&sslmode=verify-ca", SslMode::VerifyCa, Check::Chain(RootCert::System)),
        ];
        for (query, mode, check) in cases {
            let t = parse(&format!("postgres://u@db.example/app{query}"));
            assert_eq!((t.mode, t.check()), (mode, check), "{query}");
            let config: postgres::Config = t.rest.parse().unwrap();
            use postgres::config::SslMode as Tokio;
            let expected = match mode {
                SslMode::Disable => Tokio::Disable,
                SslMode::Prefer => Tokio::Prefer,
                _ => Tokio::Require,
            };
            assert_eq!(t.tokio_mode(&config), expected, "{query}");
        }
    }

    #[test]
    fn unknown_and_weak_settings_are_refused_clearly() {
        let err = |s: &str| Target::parse(s).err().unwrap_or_else(|| panic!("{s} was accepted"));
        assert_eq!(
            err("postgres://u@db/app?sslmode=foo"),
            "sslmode 'foo' is not one of disable, prefer, require, verify-ca, verify-full"
        );
        assert_eq!(
            err("host=db sslmode=Verify-Full"),
            "sslmode 'Verify-Full' is not one of disable, prefer, require, verify-ca, verify-full"
        );
        assert!(err("postgres://u@db/app?sslmode=allow").contains("'allow' is not supported"));
        assert_eq!(
            err("postgres://u@db/app?sslrootcert=system&sslmode=require"),
            "sslmode 'require' may not be used with sslrootcert=system: use sslmode=verify-full"
        );
        for key in ["sslcert", "sslkey", "sslpassword"] {
            let e = err(&format!("postgres://u:hunter2@db/app?{key}=/x"));
            assert!(e.starts_with(&format!("{key} is not supported")) && e.contains("client certificate"), "{e}");
            assert!(!e.contains("hunter2"));
        }
    }

    #[test]
    fn sslrootcert_must_be_a_readable_pem_file_of_certificates() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let t = parse(&format!("postgres://u@db/app?sslmode=verify-full&sslrootcert={}", missing.display()));
        let Err(Failure::Explained(e)) = MakeRustls::new(&t) else { panic!("a missing sslrootcert was accepted") };
        assert!(e.starts_with(&format!("sslrootcert {}: cannot read: ", missing.display())), "{e}");

        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let e = read_roots(&empty).err().unwrap();
        assert!(e.contains("holds no certificate"), "{e}");

        let broken = dir.path().join("broken.pem");
        std::fs::write(&broken, "-----BEGIN CERTIFICATE-----\n%%%%\n-----END CERTIFICATE-----\n").unwrap();
        let e = read_roots(&broken).err().unwrap();
        assert!(e.contains("not a PEM file of certificates"), "{e}");

        let huge = dir.path().join("huge.pem");
        std::fs::write(&huge, vec![b'a'; (MAX_ROOT_FILE + 1) as usize]).unwrap();
        assert!(read_roots(&huge).err().unwrap().contains("larger than 4 MiB"));

        // The system roots need no file.
        let t = parse("postgres://u@db/app?sslrootcert=system");
        assert!(MakeRustls::new(&t).is_ok());
    }

    #[test]
    fn the_url_given_to_the_client_no_longer_carries_the_tls_settings() {
        let t = parse(
            "postgres://u:p%40ss@db.example:6432/app?sslmode=verify-ca&application_name=flowcal\
             &sslrootcert=%2Fetc%2Fflowcal%2Fca.pem&connect_timeout=5",
        );
        assert_eq!(t.rest, "postgres://u:p%40ss@db.example:6432/app?application_name=flowcal&connect_timeout=5");
        assert_eq!(t.root, Some(RootCert::File(PathBuf::from("/etc/flowcal/ca.pem"))));
        let config: postgres::Config = t.rest.parse().unwrap();
        assert_eq!(config.get_password(), Some(&b"p@ss"[..]));
        assert_eq!(config.get_application_name(), Some("flowcal"));

        // Nothing left after them: no dangling '?'.
        assert_eq!(parse("postgres://u@db/app?sslmode=require").rest, "postgres://u@db/app");
        // A '?' in the password is not where the query starts (tokio-postgres
        // reads the credentials up to the first '@').
        let t = parse("postgresql://u:a?b@db/app?sslmode=disable");
        assert_eq!((t.rest.as_str(), t.mode), ("postgresql://u:a?b@db/app", SslMode::Disable));
        assert_eq!(parse("postgres://u@db/app").rest, "postgres://u@db/app");
    }

    #[test]
    fn the_key_value_form() {
        let t = parse(
            "host=db.example port=6432 sslmode = verify-full user=u sslrootcert='/etc/my ca\\'s.pem' \
             password='p w' dbname=app",
        );
        assert_eq!(t.mode, SslMode::VerifyFull);
        assert_eq!(t.root, Some(RootCert::File(PathBuf::from("/etc/my ca's.pem"))));
        assert!(!t.rest.contains("sslmode") && !t.rest.contains("sslrootcert"), "{}", t.rest);
        let config: postgres::Config = t.rest.parse().unwrap();
        assert_eq!((config.get_user(), config.get_dbname()), (Some("u"), Some("app")));
        assert_eq!(config.get_password(), Some(&b"p w"[..]));
        assert_eq!(config.get_ports(), &[6432]);

        let t = parse("host=db user=u");
        assert_eq!((t.rest.as_str(), t.mode), ("host=db user=u", SslMode::Prefer));
        // What this cannot read goes to the client unchanged, which says what is wrong.
        let t = parse("host=db sslmode='verify-full");
        assert_eq!((t.rest.as_str(), t.mode), ("host=db sslmode='verify-full", SslMode::Prefer));
        let Err(Failure::Explained(e)) = connect("host=db sslmode='verify-full") else { panic!("accepted") };
        assert!(e.starts_with("the database URL cannot be read: unterminated"), "{e}");
    }

    #[test]
    fn unix_sockets_go_without_tls_as_in_libpq() {
        let t = parse("host=/var/run/postgresql user=u sslmode=require");
        let config: postgres::Config = t.rest.parse().unwrap();
        assert_eq!(t.tokio_mode(&config), postgres::config::SslMode::Disable);
        let t = parse("host=/var/run/postgresql,db.example user=u sslmode=require");
        let config: postgres::Config = t.rest.parse().unwrap();
        assert_eq!(t.tokio_mode(&config), postgres::config::SslMode::Require);
    }

    #[test]
    fn certificate_names_are_shown_plainly() {
        assert_eq!(presented_name("DnsName(\"db.example\")"), "db.example");
        assert_eq!(presented_name("IpAddress(127.0.0.1)"), "127.0.0.1");
        assert_eq!(presented_name("DirectoryName"), "DirectoryName");
    }

    #[test]
    fn the_channel_binding_hash_follows_the_signature_algorithm() {
        // A certificate cut down to what is read: SEQUENCE { SEQUENCE {} (tbs), SEQUENCE { OID } }.
        let cert = |oid: &[u8]| {
            let mut alg = vec![0x06, oid.len() as u8];
            alg.extend_from_slice(oid);
            let mut body = vec![0x30, 0x00, 0x30, alg.len() as u8];
            body.extend(alg);
            let mut c = vec![0x30, body.len() as u8];
            c.extend(body);
            c
        };
        let rsa = |n: u8| cert(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, n]);
        let ecdsa = |n: u8| cert(&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, n]);
        let hash = |c: Vec<u8>| end_point_hash(&c).map(|a| a.output_len());
        assert_eq!(hash(rsa(11)), Some(32)); // sha256WithRSAEncryption
        assert_eq!(hash(rsa(5)), Some(32)); // SHA-1: SHA-256 (RFC 5929)
        assert_eq!(hash(rsa(12)), Some(48));
        assert_eq!(hash(rsa(13)), Some(64));
        assert_eq!(hash(rsa(10)), None); // RSA-PSS: its hash is in parameters
        assert_eq!(hash(ecdsa(2)), Some(32));
        assert_eq!(hash(ecdsa(3)), Some(48));
        assert_eq!(hash(cert(&[0x2b, 0x65, 0x70])), None); // Ed25519
                                                           // Damaged input is read no further than it goes.
        assert_eq!(end_point_hash(&[]), None);
        assert_eq!(end_point_hash(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
        assert_eq!(end_point_hash(&[0x30, 0x80]), None);
    }
}
