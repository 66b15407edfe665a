//! Reminders to readers: due soon, overdue, hold ready for pickup. Each is
//! sent once (claimed in `reminders_sent` before sending, released again
//! if sending fails, so the next run retries), by webhook (a JSON POST of
//! the `Reminder`) and/or e-mail over SMTP (lettre), on a cron schedule
//! while `serve` runs, or once by `kiosk-central remind`.
//! Never logs an e-mail address or a full card number. Imports `domain`,
//! `i18n` and `central`'s own modules.

use super::engine::{stamp, Reminder};
use super::Storage;
use crate::domain::Lang;
use crate::i18n::Texts;
use chrono::{Local, NaiveDate, Utc};
use lettre::message::Message;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde::{Deserialize, Serialize};

/// `[reminders]` in central.toml.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReminderSection {
    /// Cron pattern in the server's local time (e.g. "0 9 * * *"); empty =
    /// no scheduled runs (`kiosk-central remind` still works).
    pub schedule: String,
    pub due_soon_days: u32,
    /// POST each reminder as JSON here.
    pub webhook_url: String,
    /// e.g. "smtps://user:password@mail.example.org" (lettre's URL form).
    pub smtp_url: String,
    /// From: address of e-mails.
    pub from: String,
    /// Language of the mails (`zh-CN` or `en`) to readers whose own
    /// language the server does not know (patrons CSV `language` column).
    pub language: Lang,
}

impl Default for ReminderSection {
    fn default() -> Self {
        ReminderSection {
            schedule: String::new(),
            due_soon_days: 2,
            webhook_url: String::new(),
            smtp_url: String::new(),
            from: String::new(),
            language: Lang::ZhCn,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RemindError {
    #[error("reminders.schedule {0:?}: {1}")]
    Schedule(String, String),
    #[error("webhook: {0}")]
    Webhook(String),
    #[error("e-mail: {0}")]
    Mail(String),
}

/// What happened to one reminder in a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sent {
    pub kind: String,
    pub key: String,
    /// webhook, email, or both ("webhook+email"); empty on error.
    pub via: String,
    pub error: Option<String>,
}

/// Subject and body of the mail for `r`, in `lang` (Fluent,
/// assets/i18n/*/reminders.ftl).
pub fn text(r: &Reminder, lang: Lang) -> (String, String) {
    let t = Texts::get();
    let args = [
        ("name", r.name.clone()),
        ("title", r.title.clone()),
        ("due", r.due.clone().unwrap_or_default()),
        ("pickup_by", r.pickup_by.clone().unwrap_or_default()),
        ("code", r.pickup_code.clone().unwrap_or_default()),
    ];
    let kind = match r.kind.as_str() {
        "due_soon" => "due-soon",
        "overdue" => "overdue",
        _ => "hold-ready",
    };
    let subject = t.text(lang, &format!("remind-{kind}-subject"), &args);
    let body = format!(
        "{}\n\n{}\n\n{}\n",
        t.text(lang, "remind-greeting", &args),
        t.text(lang, &format!("remind-{kind}-body"), &args),
        t.text(lang, "remind-signature", &args)
    );
    (subject, body)
}

async fn deliver(
    cfg: &ReminderSection,
    http: &reqwest::Client,
    r: &Reminder,
) -> Result<String, RemindError> {
    let mut via = vec![];
    if !cfg.webhook_url.is_empty() {
        let resp = http
            .post(&cfg.webhook_url)
            .json(r)
            .send()
            .await
            .map_err(|e| RemindError::Webhook(e.without_url().to_string()))?;
        if !resp.status().is_success() {
            return Err(RemindError::Webhook(format!("answered {}", resp.status())));
        }
        via.push("webhook");
    }
    if let (false, Some(to)) = (cfg.smtp_url.is_empty(), r.email.as_deref()) {
        let lang = r
            .language
            .as_deref()
            .and_then(Lang::parse)
            .unwrap_or(cfg.language);
        let (subject, body) = text(r, lang);
        let msg = Message::builder()
            .from(
                cfg.from
                    .parse()
                    .map_err(|e| RemindError::Mail(format!("from: {e}")))?,
            )
            .to(to
                .parse()
                .map_err(|e| RemindError::Mail(format!("reader address: {e}")))?)
            .subject(subject)
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| RemindError::Mail(e.to_string()))?;
        let mailer = AsyncSmtpTransport::<Tokio1Executor>::from_url(&cfg.smtp_url)
            .map_err(|e| RemindError::Mail(e.to_string()))?
            .build();
        mailer
            .send(msg)
            .await
            .map_err(|e| RemindError::Mail(e.to_string()))?;
        via.push("email");
    }
    Ok(via.join("+"))
}

/// One run: every pending reminder as of `today`, each claimed, sent and
/// kept claimed, or released on failure. `dry_run` lists without sending.
pub async fn run_once<S: Storage>(
    st: &S,
    cfg: &ReminderSection,
    today: NaiveDate,
    dry_run: bool,
) -> Result<Vec<Sent>, super::CentralError> {
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(15))
        .build()
        .map_err(|e| super::CentralError::Task(e.to_string()))?;
    let mut out = vec![];
    for r in st.pending_reminders(today, cfg.due_soon_days).await? {
        if cfg.webhook_url.is_empty() && (cfg.smtp_url.is_empty() || r.email.is_none()) {
            // No way to reach this reader: leave it unsent for a later run
            // with a channel configured.
            continue;
        }
        if dry_run {
            out.push(Sent {
                kind: r.kind,
                key: r.key,
                via: "dry_run".into(),
                error: None,
            });
            continue;
        }
        if !st
            .claim_reminder(r.kind.clone(), r.key.clone(), Utc::now())
            .await?
        {
            continue;
        }
        match deliver(cfg, &http, &r).await {
            Ok(via) => out.push(Sent {
                kind: r.kind,
                key: r.key,
                via,
                error: None,
            }),
            Err(e) => {
                tracing::warn!(kind = %r.kind, key = %r.key, error = %e, "reminder not sent; retried next run");
                st.release_reminder(r.kind.clone(), r.key.clone()).await?;
                out.push(Sent {
                    kind: r.kind,
                    key: r.key,
                    via: String::new(),
                    error: Some(e.to_string()),
                });
            }
        }
    }
    Ok(out)
}

/// Checks the schedule pattern.
pub fn schedule(cfg: &ReminderSection) -> Result<Option<croner::Cron>, RemindError> {
    if cfg.schedule.trim().is_empty() {
        return Ok(None);
    }
    cfg.schedule
        .parse::<croner::Cron>()
        .map(Some)
        .map_err(|e| RemindError::Schedule(cfg.schedule.clone(), e.to_string()))
}

/// Runs reminders on the schedule until the process ends.
pub async fn scheduled<S: Storage>(
    st: std::sync::Arc<S>,
    cfg: ReminderSection,
    cron: croner::Cron,
) {
    loop {
        let now = Local::now();
        let Ok(next) = cron.find_next_occurrence(&now, false) else {
            tracing::error!(schedule = %cfg.schedule, "no next reminder run; reminders stop");
            return;
        };
        let wait = (next - now).to_std().unwrap_or_default();
        tokio::time::sleep(wait).await;
        match run_once(&*st, &cfg, Local::now().date_naive(), false).await {
            Ok(sent) => tracing::info!(
                sent = sent.iter().filter(|s| s.error.is_none()).count(),
                failed = sent.iter().filter(|s| s.error.is_some()).count(),
                at = %stamp(Utc::now()),
                "reminders run"
            ),
            Err(e) => tracing::error!(error = %e, "reminders run failed"),
        }
    }
}
