//! E-mailed receipts: one plain-text mail to the address on the reader's
//! record, sent over SMTP (lettre) from a Task, never on the UI thread.
//! The address is never logged; the screen shows it masked.

use crate::config::ReceiptSection;
use lettre::message::{header::ContentType, Message};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::time::Duration;

/// How long the mail server may take before the reader is told it failed.
const SEND_TIMEOUT: Duration = Duration::from_secs(20);

/// Sends `body` to `to` with `subject` through `[receipt] smtp_url`; the
/// error in words for the log (never with the address).
pub async fn send(
    cfg: &ReceiptSection,
    to: &str,
    subject: String,
    body: String,
) -> Result<(), String> {
    let msg = Message::builder()
        .from(cfg.from.parse().map_err(|e| format!("from: {e}"))?)
        .to(to
            .parse()
            .map_err(|e| format!("the reader's address: {e}"))?)
        .subject(subject)
        .header(ContentType::TEXT_PLAIN)
        .body(body)
        .map_err(|e| e.to_string())?;
    let mailer = AsyncSmtpTransport::<Tokio1Executor>::from_url(&cfg.smtp_url)
        .map_err(|e| format!("smtp_url: {e}"))?
        .timeout(Some(SEND_TIMEOUT))
        .build();
    mailer
        .send(msg)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// `reader@example.org` → `r…@example.org`: enough for readers to know it
/// is theirs, not enough for the next person at the screen.
pub fn masked(address: &str) -> String {
    match address.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}…@{domain}")
        }
        None => "…".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_shown_masked() {
        assert_eq!(masked("reader12@example.com"), "r…@example.com");
        assert_eq!(masked("张@图书馆.cn"), "张…@图书馆.cn");
        assert_eq!(masked("nonsense"), "…");
    }

    #[tokio::test]
    async fn a_bad_configuration_is_an_error_not_a_panic() {
        let cfg = ReceiptSection {
            email: true,
            smtp_url: "smtp://127.0.0.1:1".into(),
            from: "not an address".into(),
        };
        let e = send(&cfg, "r@example.com", "s".into(), "b".into())
            .await
            .unwrap_err();
        assert!(e.starts_with("from:"), "{e}");
        let cfg = ReceiptSection {
            from: "kiosk@example.com".into(),
            ..cfg
        };
        let e = send(&cfg, "no address", "s".into(), "b".into())
            .await
            .unwrap_err();
        assert!(
            e.contains("reader's address") && !e.contains("no address"),
            "{e}"
        );
        // Nothing listens on port 1: refused, reported.
        assert!(send(&cfg, "r@example.com", "s".into(), "b".into())
            .await
            .is_err());
    }
}
