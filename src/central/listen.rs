//! The server's listener: accepts TCP connections (plain HTTP or TLS) and
//! gives each its own task, the TLS handshake included, so one slow or
//! silent client never holds up the next. A connection that does not send
//! a request's headers within `[server] header_timeout_secs` (a new or
//! idle keep-alive connection, a half-sent request, a TLS handshake) is
//! closed. On ctrl-c or SIGTERM it stops accepting, lets the requests
//! under way finish for a short grace and then drops them (a report still
//! running is interrupted: see `sqlite`), and returns.
//!
//! Imports `central`'s own `http` (the routes) and nothing of the kiosk.

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// How long a client may take, and how long shutting down may.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A request's headers (and a TLS handshake) must arrive within this;
    /// a connection idle between requests is closed after it too.
    pub header_timeout: Duration,
    /// Every report (stats, feedback) is cut off after this: 503.
    pub report_timeout: Duration,
    /// After SIGTERM, requests under way get this long to finish.
    pub grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(10),
            report_timeout: Duration::from_secs(30),
            grace: Duration::from_secs(3),
        }
    }
}

/// The time limit of reports, handed to the handlers by the router.
#[derive(Debug, Clone, Copy)]
pub struct ReportLimit(pub Duration);

/// A TLS acceptor (rustls) from a certificate chain and its private key
/// (PEM files).
pub fn tls_acceptor(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<tokio_rustls::TlsAcceptor, String> {
    use tokio_rustls::rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|c| c.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("tls_cert {}: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!(
            "tls_cert {}: no certificate in the file",
            cert.display()
        ));
    }
    let key =
        PrivateKeyDer::from_pem_file(key).map_err(|e| format!("tls_key {}: {e}", key.display()))?;
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .map_err(|e| format!("tls_cert and tls_key do not make a usable pair: {e}"))?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// Resolves on ctrl-c or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {},
                    _ = term.recv() => {},
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "no SIGTERM handler; stopping on ctrl-c only");
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// Serves `app` on `listener` (TLS when `tls` is given) until `shutdown`
/// resolves; then stops accepting, gives the requests under way
/// `limits.grace`, drops what is left and returns.
pub async fn serve(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let app = app.layer(axum::Extension(ReportLimit(limits.report_timeout)));
    let (close_tx, close_rx) = watch::channel(false);
    let mut conns = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    let _ = tcp.set_nodelay(true);
                    conns.spawn(connection(
                        tcp,
                        peer,
                        tls.clone(),
                        app.clone(),
                        limits.header_timeout,
                        close_rx.clone(),
                    ));
                }
                Err(e) => {
                    // Out of file descriptors and the like: a moment, not
                    // a busy loop.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    tracing::info!(
        connections = conns.len(),
        "shutting down: no new connections"
    );
    let _ = close_tx.send(true);
    let grace = tokio::time::sleep(limits.grace);
    tokio::pin!(grace);
    loop {
        tokio::select! {
            _ = &mut grace => {
                tracing::info!(connections = conns.len(), "shutting down: dropping requests still running");
                conns.abort_all();
                break;
            }
            next = conns.join_next() => if next.is_none() { break },
        }
    }
    while conns.join_next().await.is_some() {}
    Ok(())
}

/// One client: its TLS handshake (if any), then HTTP/1 requests.
async fn connection(
    tcp: tokio::net::TcpStream,
    peer: std::net::SocketAddr,
    tls: Option<tokio_rustls::TlsAcceptor>,
    app: Router,
    header_timeout: Duration,
    close: watch::Receiver<bool>,
) {
    match tls {
        None => http(tcp, peer, app, header_timeout, close).await,
        Some(acceptor) => match tokio::time::timeout(header_timeout, acceptor.accept(tcp)).await {
            Ok(Ok(stream)) => http(stream, peer, app, header_timeout, close).await,
            Ok(Err(e)) => tracing::info!(%peer, error = %e, "TLS handshake failed"),
            Err(_) => tracing::info!(%peer, "TLS handshake timed out"),
        },
    }
}

async fn http<I>(
    io: I,
    peer: std::net::SocketAddr,
    app: Router,
    header_timeout: Duration,
    mut close: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let conn = builder.serve_connection(TokioIo::new(io), TowerToHyperService::new(app));
    tokio::pin!(conn);
    let done = tokio::select! {
        r = conn.as_mut() => Some(r),
        _ = close.wait_for(|c| *c) => None,
    };
    let r = match done {
        Some(r) => r,
        None => {
            // Finish the request under way (if any), take no other.
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = r {
        tracing::debug!(%peer, error = %e, "connection ended");
    }
}
