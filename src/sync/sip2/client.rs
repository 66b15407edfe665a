//! The SIP2 connection: one persistent TCP (optionally TLS) link to the
//! ACS, with login (93), SC status (99) at start and as a heartbeat, read
//! timeouts, TCP keepalive, automatic reconnect and re-login, the `AY`
//! sequence counter and `AZ` checksum, `97` resends of a garbled answer and
//! `96` resends of our last request.
//!
//! One request is in flight at a time (SIP2 has no request ids): the
//! connection sits behind an async mutex. A transport failure or a timeout
//! drops the connection, and the next request reconnects. Whether a failed
//! request took effect at the ACS is *unknown* to this layer: it never
//! resends a circulation message by itself (only `99`, `17`, `23`, `63`,
//! which change nothing, are retried on a fresh connection). The
//! `Sip2Upstream` above decides what an unknown outcome means.
//!
//! Logs name message codes and masked card numbers, never a password.

use super::charset::Charset;
use super::codec::{decode, DecodeOptions, EncodeError, EncodeOptions, LineSplitter, Message};
use super::date::SipDate;
use super::messages::{
    AcsStatus, Flag, LoginRequest, LoginResponse, RequestAcsResend, ScStatus, SipMessage,
};
use crate::config::{Sip2Charset, UpstreamSection};
use chrono::{Local, NaiveDateTime};
use std::sync::{Arc, Mutex as StdMutex, Weak};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

impl From<Sip2Charset> for Charset {
    fn from(c: Sip2Charset) -> Charset {
        match c {
            Sip2Charset::Cp850 => Charset::Cp850,
            Sip2Charset::Ascii => Charset::Ascii,
            Sip2Charset::Utf8 => Charset::Utf8,
        }
    }
}

/// How the client connects and talks (from `[upstream]`).
#[derive(Clone, PartialEq, Eq)]
pub struct ClientSettings {
    pub host: String,
    pub port: u16,
    pub tls: bool,
    /// Extra trusted roots for TLS (a PEM file), on top of the web PKI
    /// roots; None = web PKI roots only.
    pub tls_ca: Option<std::path::PathBuf>,
    /// Login user (CN); no login (93) when empty.
    pub username: String,
    pub password: String,
    /// CP in the login.
    pub location: String,
    pub charset: Charset,
    pub error_detection: bool,
    /// A 99 goes out when the link was idle this long.
    pub heartbeat: Duration,
    /// Connect and read deadline of one exchange.
    pub timeout: Duration,
    /// `97` requests for one garbled answer before giving up.
    pub resend_limit: u8,
}

// Hand-written: never show the password.
impl std::fmt::Debug for ClientSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("tls_ca", &self.tls_ca)
            .field("login", &!self.username.is_empty())
            .field("charset", &self.charset)
            .field("error_detection", &self.error_detection)
            .field("heartbeat", &self.heartbeat)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl From<&UpstreamSection> for ClientSettings {
    fn from(u: &UpstreamSection) -> ClientSettings {
        ClientSettings {
            host: u.host.clone(),
            port: u.port,
            tls: u.tls,
            tls_ca: (!u.tls_ca.is_empty()).then(|| u.tls_ca.clone().into()),
            username: u.username.clone(),
            password: u.password.clone(),
            location: u.location.clone(),
            charset: u.charset.into(),
            error_detection: u.error_detection,
            heartbeat: Duration::from_secs(u.heartbeat_secs as u64),
            timeout: Duration::from_secs(u.timeout_secs as u64),
            resend_limit: 3,
        }
    }
}

/// What the ACS said about itself in its last 98.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AcsInfo {
    pub online: bool,
    pub checkin_ok: bool,
    pub checkout_ok: bool,
    /// The ACS allows renewals (`acs renewal policy`).
    pub renewal_ok: bool,
    /// The ACS accepts transactions made while it was unreachable.
    pub offline_ok: bool,
    /// `BX`, 16 `Y`/`N` in the spec's order (empty when not sent).
    pub supported: String,
    /// ACS clock − kiosk clock, in milliseconds (1 s resolution).
    pub clock_offset_ms: i64,
    pub institution: Option<String>,
    pub library_name: Option<String>,
}

/// Positions in `BX` (supported messages), SIP2 2.00.
const BX_ORDER: [&str; 16] = [
    "23", "11", "09", "01", "99", "97", "93", "63", "35", "37", "17", "19", "25", "15", "29", "65",
];

impl AcsInfo {
    pub(crate) fn from_98(s: &AcsStatus, now: NaiveDateTime) -> AcsInfo {
        let acs_clock = s.transaction_date_naive();
        AcsInfo {
            online: s.online_status.is_yes(),
            checkin_ok: s.checkin_ok.is_yes(),
            checkout_ok: s.checkout_ok.is_yes(),
            renewal_ok: s.acs_renewal_policy.is_yes(),
            offline_ok: s.offline_ok.is_yes(),
            supported: s.supported_messages.clone().unwrap_or_default(),
            clock_offset_ms: acs_clock.map_or(0, |t| (t - now).num_milliseconds()),
            institution: s.institution_id.clone(),
            library_name: s.library_name.clone(),
        }
    }

    /// Whether the ACS says it supports the request `code` (`"17"`, …).
    /// Without a `BX` field every message counts as supported.
    pub fn supports(&self, code: &str) -> bool {
        let Some(i) = BX_ORDER.iter().position(|c| *c == code) else {
            return true;
        };
        match self.supported.chars().nth(i) {
            Some(c) => c == 'Y' || c == 'y',
            None => true,
        }
    }
}

trait AcsClock {
    fn transaction_date_naive(&self) -> Option<NaiveDateTime>;
}

impl AcsClock for AcsStatus {
    fn transaction_date_naive(&self) -> Option<NaiveDateTime> {
        match &self.date_time_sync {
            // The ACS's local clock: compare with ours as local time.
            SipDate::Local(t) => Some(*t),
            // UTC: convert to our local wall clock.
            SipDate::Utc(t) => Some(t.with_timezone(&Local).naive_local()),
            SipDate::Blank | SipDate::Other(_) => None,
        }
    }
}

/// Why an exchange failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error("cannot connect to the SIP2 server at {at}: {detail}")]
    Connect { at: String, detail: String },
    #[error("the SIP2 connection to {at} failed: {detail}")]
    Io { at: String, detail: String },
    #[error("the SIP2 server at {at} did not answer within {ms} ms")]
    Timeout { at: String, ms: u64 },
    #[error("the SIP2 server at {at} refused the login of user {user:?}: check username/password in [upstream]")]
    LoginRefused { at: String, user: String },
    /// The TLS handshake failed on the certificate or the protocol (not on
    /// the network): a configuration or security problem, never a reason
    /// to fall back to plain text or to decide offline.
    #[error("TLS with the SIP2 server at {at} failed: {detail} (check [upstream] tls_ca and the server's certificate)")]
    Tls { at: String, detail: String },
    #[error("the SIP2 server at {at} sent {resends} garbled answers in a row: {detail}")]
    Garbled {
        at: String,
        resends: u8,
        detail: String,
    },
    #[error("the SIP2 server at {at} answered {got} to {sent}")]
    Unexpected {
        at: String,
        sent: String,
        got: String,
    },
    #[error("cannot send this SIP2 message: {0}")]
    Encode(#[from] EncodeError),
}

impl ClientError {
    /// The ACS could not be reached or did not answer: offline.
    pub fn is_offline(&self) -> bool {
        matches!(
            self,
            ClientError::Connect { .. }
                | ClientError::Io { .. }
                | ClientError::Timeout { .. }
                | ClientError::Garbled { .. }
        )
    }
}

impl From<ClientError> for super::super::upstream::UpstreamError {
    fn from(e: ClientError) -> Self {
        use super::super::upstream::UpstreamError as U;
        match e {
            ClientError::Connect { at, detail } | ClientError::Io { at, detail } => {
                U::Unreachable { at, detail }
            }
            ClientError::Timeout { at, ms } => U::Timeout { at, ms },
            ClientError::Garbled { at, detail, .. } => U::Unreachable { at, detail },
            ClientError::LoginRefused { at, .. } => U::Rejected {
                at,
                status: 0,
                code: "sip2_login".into(),
                message: "login refused".into(),
            },
            ClientError::Tls { at, detail } => U::Rejected {
                at,
                status: 0,
                code: "sip2_tls".into(),
                message: format!(
                    "TLS: {detail}; check [upstream] tls_ca and the server's certificate"
                ),
            },
            ClientError::Unexpected { at, sent, got } => U::Protocol {
                at,
                detail: format!("answered {got} to {sent}"),
            },
            ClientError::Encode(e) => U::Rejected {
                at: "(request)".into(),
                status: 0,
                code: "sip2_encode".into(),
                message: e.to_string(),
            },
        }
    }
}

/// Counters, for tests, logs and the benchmark.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ClientStats {
    pub connects: u64,
    pub logins: u64,
    pub exchanges: u64,
    /// 97s we sent for garbled answers.
    pub resend_requests: u64,
    /// 96s the ACS sent us.
    pub resends_asked: u64,
    pub heartbeats: u64,
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl Stream {
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => s.get_ref().0,
        }
    }

    async fn write_all(&mut self, b: &[u8]) -> std::io::Result<()> {
        match self {
            Stream::Plain(s) => s.write_all(b).await,
            Stream::Tls(s) => {
                s.write_all(b).await?;
                s.flush().await
            }
        }
    }

    async fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(b).await,
            Stream::Tls(s) => s.read(b).await,
        }
    }
}

struct Conn {
    stream: Stream,
    lines: LineSplitter,
    /// Next `AY` (0–9, wraps).
    seq: u8,
    last_used: Instant,
    /// A request went out and its answer was not read: the caller gave up
    /// (a decision deadline dropped the future). The connection is not
    /// reused, so that late answer is never read as the next one's.
    in_flight: bool,
}

impl Conn {
    /// The peer closed (or reset) the link while it was idle: cheap check
    /// before reusing it, so a restarted ACS costs no failed request.
    /// A non-blocking `MSG_PEEK` on the socket: no timer, no await (a
    /// zero timeout would cost a tick of tokio's 1 ms timer wheel).
    fn closed_by_peer(&self) -> bool {
        let mut b = [std::mem::MaybeUninit::<u8>::uninit(); 1];
        match socket2::SockRef::from(self.stream.tcp()).peek(&mut b) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
        }
    }
}

/// The client. Cheap to share (`Arc`); one connection at a time.
pub struct Sip2Client {
    settings: ClientSettings,
    at: String,
    conn: tokio::sync::Mutex<Option<Conn>>,
    acs: StdMutex<Option<AcsInfo>>,
    stats: StdMutex<ClientStats>,
    heartbeat_started: std::sync::atomic::AtomicBool,
}

/// Messages that change nothing at the ACS: safe to send again on a fresh
/// connection after a transport failure.
fn is_read_only(code: &str) -> bool {
    matches!(code, "99" | "17" | "23" | "63" | "93")
}

impl Sip2Client {
    pub fn new(settings: ClientSettings) -> Arc<Sip2Client> {
        let at = format!("{}:{}", settings.host, settings.port);
        Arc::new(Sip2Client {
            settings,
            at,
            conn: tokio::sync::Mutex::new(None),
            acs: StdMutex::new(None),
            stats: StdMutex::new(ClientStats::default()),
            heartbeat_started: std::sync::atomic::AtomicBool::new(false),
        })
    }

    pub fn settings(&self) -> &ClientSettings {
        &self.settings
    }

    /// `host:port`.
    pub fn address(&self) -> &str {
        &self.at
    }

    /// The flags of the last 98 (None before the first connection).
    pub fn acs(&self) -> Option<AcsInfo> {
        self.acs.lock().map(|a| a.clone()).unwrap_or(None)
    }

    pub fn stats(&self) -> ClientStats {
        self.stats.lock().map(|s| *s).unwrap_or_default()
    }

    fn count(&self, f: impl FnOnce(&mut ClientStats)) {
        if let Ok(mut s) = self.stats.lock() {
            f(&mut s);
        }
    }

    fn encode_opts(&self) -> EncodeOptions {
        EncodeOptions {
            error_detection: self.settings.error_detection,
            charset: self.settings.charset,
            terminator: super::codec::Terminator::Cr,
        }
    }

    fn decode_opts(&self) -> DecodeOptions {
        DecodeOptions {
            error_detection: self.settings.error_detection,
            charset: self.settings.charset,
        }
    }

    fn io_err(&self, e: std::io::Error) -> ClientError {
        ClientError::Io {
            at: self.at.clone(),
            detail: e.to_string(),
        }
    }

    fn timeout_err(&self) -> ClientError {
        ClientError::Timeout {
            at: self.at.clone(),
            ms: self.settings.timeout.as_millis() as u64,
        }
    }

    /// Sends `req` and reads its typed answer, connecting (and logging in)
    /// first when needed.
    pub async fn exchange<Q: SipMessage, R: SipMessage>(
        self: &Arc<Self>,
        req: &Q,
    ) -> Result<R, ClientError> {
        let msg = req.to_message()?;
        let mut guard = self.conn.lock().await;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let fresh = match guard.as_ref() {
                Some(c) if !c.in_flight && !c.closed_by_peer() => false,
                _ => {
                    *guard = None;
                    *guard = Some(self.connect().await?);
                    true
                }
            };
            let Some(conn) = guard.as_mut() else {
                continue;
            };
            match self.round_trip(conn, &msg, R::CODE).await {
                Ok(m) => {
                    conn.last_used = Instant::now();
                    self.count(|s| s.exchanges += 1);
                    return R::from_message(&m).map_err(|e| ClientError::Unexpected {
                        at: self.at.clone(),
                        sent: Q::CODE.into(),
                        got: e.to_string(),
                    });
                }
                Err(e) => {
                    *guard = None;
                    let retry = e.is_offline()
                        && !matches!(e, ClientError::Timeout { .. })
                        && is_read_only(Q::CODE)
                        && !fresh
                        && attempt == 1;
                    if retry {
                        tracing::info!(server = %self.at, code = Q::CODE, error = %e, "SIP2 link lost; reconnecting for a read-only request");
                        continue;
                    }
                    tracing::info!(server = %self.at, code = Q::CODE, error = %e, "SIP2 exchange failed; the connection is dropped");
                    return Err(e);
                }
            }
        }
    }

    /// Sends 99 now, whatever the idle time: the explicit heartbeat.
    pub async fn status(self: &Arc<Self>) -> Result<AcsInfo, ClientError> {
        let s: AcsStatus = self.exchange(&sc_status()).await?;
        let info = AcsInfo::from_98(&s, Local::now().naive_local());
        self.count(|s| s.heartbeats += 1);
        if let Ok(mut a) = self.acs.lock() {
            *a = Some(info.clone());
        }
        Ok(info)
    }

    /// The last 98, connecting (and sending 99) first if there is none.
    pub async fn acs_now(self: &Arc<Self>) -> Result<AcsInfo, ClientError> {
        if let Some(a) = self.acs() {
            return Ok(a);
        }
        {
            // Connecting sends the 99 and keeps its 98.
            let mut guard = self.conn.lock().await;
            if guard.is_none() {
                *guard = Some(self.connect().await?);
            }
        }
        match self.acs() {
            Some(a) => Ok(a),
            None => self.status().await,
        }
    }

    /// Drops the connection (the next request reconnects).
    pub async fn disconnect(&self) {
        *self.conn.lock().await = None;
    }

    async fn connect(self: &Arc<Self>) -> Result<Conn, ClientError> {
        let deadline = self.settings.timeout;
        let addr = (self.settings.host.as_str(), self.settings.port);
        let tcp = match tokio::time::timeout(deadline, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                return Err(ClientError::Connect {
                    at: self.at.clone(),
                    detail: e.to_string(),
                })
            }
            Err(_) => {
                return Err(ClientError::Connect {
                    at: self.at.clone(),
                    detail: format!("no connection within {} ms", deadline.as_millis()),
                })
            }
        };
        let _ = tcp.set_nodelay(true);
        let keepalive = socket2::TcpKeepalive::new()
            .with_time(Duration::from_secs(30))
            .with_interval(Duration::from_secs(10));
        if let Err(e) = socket2::SockRef::from(&tcp).set_tcp_keepalive(&keepalive) {
            tracing::debug!(error = %e, "cannot enable TCP keepalive");
        }
        let stream = if self.settings.tls {
            Stream::Tls(Box::new(self.tls(tcp).await?))
        } else {
            Stream::Plain(tcp)
        };
        let mut conn = Conn {
            stream,
            lines: LineSplitter::new(),
            seq: 0,
            last_used: Instant::now(),
            in_flight: false,
        };
        self.count(|s| s.connects += 1);
        if !self.settings.username.is_empty() {
            let login = LoginRequest {
                uid_algorithm: Flag::ZERO,
                pwd_algorithm: Flag::ZERO,
                login_user_id: Some(self.settings.username.clone()),
                login_password: Some(self.settings.password.clone()),
                location_code: Some(self.settings.location.clone()),
                ..LoginRequest::default()
            };
            let m = self
                .round_trip(&mut conn, &login.to_message()?, "94")
                .await?;
            let ok = LoginResponse::from_message(&m).is_ok_and(|r| r.ok.is_one());
            if !ok {
                return Err(ClientError::LoginRefused {
                    at: self.at.clone(),
                    user: self.settings.username.clone(),
                });
            }
            self.count(|s| s.logins += 1);
        }
        let m = self
            .round_trip(&mut conn, &sc_status().to_message()?, "98")
            .await?;
        if let Ok(s) = AcsStatus::from_message(&m) {
            let info = AcsInfo::from_98(&s, Local::now().naive_local());
            tracing::info!(server = %self.at, online = info.online, offline_ok = info.offline_ok, clock_offset_ms = info.clock_offset_ms, "SIP2 connected");
            if let Ok(mut a) = self.acs.lock() {
                *a = Some(info);
            }
        }
        self.start_heartbeat();
        Ok(conn)
    }

    async fn tls(
        &self,
        tcp: TcpStream,
    ) -> Result<tokio_rustls::client::TlsStream<TcpStream>, ClientError> {
        use tokio_rustls::rustls;
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(path) = &self.settings.tls_ca {
            self.add_roots(&mut roots, path)?;
        }
        let config = tokio_rustls::rustls::ClientConfig::builder_with_provider(Arc::new(
            tokio_rustls::rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError::Connect {
            at: self.at.clone(),
            detail: e.to_string(),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let name =
            tokio_rustls::rustls::pki_types::ServerName::try_from(self.settings.host.clone())
                .map_err(|e| ClientError::Connect {
                    at: self.at.clone(),
                    detail: format!("not a TLS server name: {e}"),
                })?;
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        match tokio::time::timeout(self.settings.timeout, connector.connect(name, tcp)).await {
            Ok(Ok(s)) => Ok(s),
            // rustls's own errors (a certificate that does not verify, no
            // common protocol): staff must look.
            Ok(Err(e)) if e.get_ref().is_some_and(|i| i.is::<rustls::Error>()) => {
                tracing::warn!(server = %self.at, error = %e, "SIP2 TLS handshake refused");
                Err(ClientError::Tls {
                    at: self.at.clone(),
                    detail: e.to_string(),
                })
            }
            Ok(Err(e)) => Err(ClientError::Connect {
                at: self.at.clone(),
                detail: format!("TLS: {e}"),
            }),
            Err(_) => Err(ClientError::Connect {
                at: self.at.clone(),
                detail: "TLS handshake timed out".into(),
            }),
        }
    }

    /// Adds the certificates of a PEM file to `roots`; a file that cannot be
    /// read or holds no certificate is a configuration error.
    fn add_roots(
        &self,
        roots: &mut tokio_rustls::rustls::RootCertStore,
        path: &std::path::Path,
    ) -> Result<(), ClientError> {
        use tokio_rustls::rustls::pki_types::{pem::PemObject, CertificateDer};
        let fail = |detail: String| ClientError::Tls {
            at: self.at.clone(),
            detail: format!("tls_ca {}: {detail}", path.display()),
        };
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| fail(e.to_string()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| fail(e.to_string()))?;
        if certs.is_empty() {
            return Err(fail("no certificate in the file".into()));
        }
        let (added, ignored) = roots.add_parsable_certificates(certs);
        if added == 0 {
            return Err(fail(format!("{ignored} certificate(s), none usable")));
        }
        Ok(())
    }

    /// A background 99 whenever the link was idle for `heartbeat`; ends
    /// when the client is dropped.
    fn start_heartbeat(self: &Arc<Self>) {
        use std::sync::atomic::Ordering;
        if self.heartbeat_started.swap(true, Ordering::SeqCst) {
            return;
        }
        let weak: Weak<Sip2Client> = Arc::downgrade(self);
        let every = self.settings.heartbeat;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(me) = weak.upgrade() else {
                    return;
                };
                let idle = {
                    let Ok(g) = me.conn.try_lock() else {
                        continue; // busy: not idle
                    };
                    g.as_ref().map(|c| c.last_used.elapsed())
                };
                // Only keep an open link alive; do not dial an absent ACS.
                if idle.is_some_and(|i| i >= every) {
                    if let Err(e) = me.status().await {
                        tracing::info!(server = %me.at, error = %e, "SIP2 heartbeat failed");
                    }
                }
            }
        });
    }

    /// Writes one request and reads its answer: a garbled answer is asked
    /// again with 97 (at most `resend_limit` times); a 96 from the ACS
    /// makes us send the same bytes again.
    async fn round_trip(
        &self,
        conn: &mut Conn,
        msg: &Message,
        expect: &str,
    ) -> Result<Message, ClientError> {
        let seq = conn.seq;
        conn.seq = (conn.seq + 1) % 10;
        let bytes = super::codec::encode_message(msg, seq, &self.encode_opts())?;
        let deadline = tokio::time::Instant::now() + self.settings.timeout;
        conn.in_flight = true;
        let work = async {
            conn.stream
                .write_all(&bytes)
                .await
                .map_err(|e| self.io_err(e))?;
            let mut garbled = 0u8;
            let mut asked = 0u8;
            loop {
                let line = self.read_line(conn).await?;
                match decode(&line, &self.decode_opts()) {
                    Ok(d) if d.code == "96" => {
                        asked += 1;
                        self.count(|s| s.resends_asked += 1);
                        if asked > self.settings.resend_limit {
                            return Err(ClientError::Garbled {
                                at: self.at.clone(),
                                resends: asked,
                                detail: "the server kept asking for a resend (96)".into(),
                            });
                        }
                        tracing::debug!(server = %self.at, code = %msg.code, "ACS asked for a resend (96)");
                        conn.stream
                            .write_all(&bytes)
                            .await
                            .map_err(|e| self.io_err(e))?;
                    }
                    Ok(d) if d.code == expect => {
                        if self.settings.error_detection && d.seq.is_some_and(|s| s != seq) {
                            tracing::warn!(server = %self.at, sent = seq, got = ?d.seq, "SIP2 answer with another sequence number: ignored (stale)");
                            continue;
                        }
                        return Ok(d);
                    }
                    Ok(d) => {
                        return Err(ClientError::Unexpected {
                            at: self.at.clone(),
                            sent: msg.code.clone(),
                            got: d.code,
                        })
                    }
                    Err(e) => {
                        garbled += 1;
                        self.count(|s| s.resend_requests += 1);
                        if garbled > self.settings.resend_limit {
                            return Err(ClientError::Garbled {
                                at: self.at.clone(),
                                resends: garbled - 1,
                                detail: e.to_string(),
                            });
                        }
                        tracing::info!(server = %self.at, code = %msg.code, error = %e, "garbled SIP2 answer; asking for a resend (97)");
                        let resend = super::codec::encode_message(
                            &RequestAcsResend::default().to_message()?,
                            0,
                            &self.encode_opts(),
                        )?;
                        conn.stream
                            .write_all(&resend)
                            .await
                            .map_err(|e| self.io_err(e))?;
                    }
                }
            }
        };
        let r = match tokio::time::timeout_at(deadline, work).await {
            Ok(r) => r,
            Err(_) => Err(self.timeout_err()),
        };
        conn.in_flight = r.is_err();
        r
    }

    async fn read_line(&self, conn: &mut Conn) -> Result<Vec<u8>, ClientError> {
        let mut buf = [0u8; 4096];
        loop {
            let n = conn
                .stream
                .read(&mut buf)
                .await
                .map_err(|e| self.io_err(e))?;
            if n == 0 {
                return Err(ClientError::Io {
                    at: self.at.clone(),
                    detail: "the server closed the connection".into(),
                });
            }
            // Lines beyond the first stay buffered in the splitter's
            // output order: SIP2 answers one line per request.
            let mut lines = conn.lines.feed(&buf[..n]);
            if !lines.is_empty() {
                let first = lines.remove(0);
                if !lines.is_empty() {
                    tracing::warn!(server = %self.at, extra = lines.len(), "SIP2 server sent more than one line; extra lines dropped");
                }
                // An over-long line comes back as an empty one: garbled.
                return Ok(first.unwrap_or_default());
            }
        }
    }
}

/// The 99 the kiosk sends: status OK, 80-column printer, version 2.00.
fn sc_status() -> ScStatus {
    ScStatus {
        status_code: Flag('0'),
        max_print_width: Some(80),
        protocol_version: "2.00".into(),
        ..ScStatus::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bx_flags_say_what_is_supported() {
        let info = AcsInfo {
            online: true,
            checkin_ok: true,
            checkout_ok: true,
            renewal_ok: true,
            offline_ok: true,
            supported: "YYYYYYYYYYYNYYYY".into(),
            clock_offset_ms: 0,
            institution: None,
            library_name: None,
        };
        assert!(info.supports("11"));
        assert!(!info.supports("19"));
        assert!(info.supports("17"));
        let none = AcsInfo {
            supported: String::new(),
            ..info
        };
        assert!(none.supports("19"), "no BX: assume supported");
    }

    #[test]
    fn clock_offset_from_the_98_date() {
        let s = AcsStatus {
            date_time_sync: SipDate::Local(
                chrono::NaiveDate::from_ymd_opt(2026, 3, 1)
                    .unwrap()
                    .and_hms_opt(9, 30, 5)
                    .unwrap(),
            ),
            offline_ok: Flag::Y,
            ..AcsStatus::default()
        };
        let now = chrono::NaiveDate::from_ymd_opt(2026, 3, 1)
            .unwrap()
            .and_hms_opt(9, 30, 0)
            .unwrap();
        let info = AcsInfo::from_98(&s, now);
        assert_eq!(info.clock_offset_ms, 5000);
        assert!(info.offline_ok);
        assert!(!info.online);
    }

    #[test]
    fn charsets_map_from_the_config() {
        assert_eq!(Charset::from(Sip2Charset::Cp850), Charset::Cp850);
        assert_eq!(Charset::from(Sip2Charset::Ascii), Charset::Ascii);
        assert_eq!(Charset::from(Sip2Charset::Utf8), Charset::Utf8);
    }
}
