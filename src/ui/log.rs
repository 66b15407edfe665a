//! The last WARN and ERROR lines, kept in memory for the staff menu's
//! "recent log" box: a small tracing layer writing into a ring buffer.
//! The binary installs it beside the stderr output; nothing logged holds
//! a PIN or a full card number, so the lines can be shown as they are.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::Mutex;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::Layer;

/// How many lines are kept (the oldest goes first).
pub const KEPT: usize = 20;

static RECENT: Mutex<VecDeque<String>> = Mutex::new(VecDeque::new());

/// The kept lines, oldest first.
pub fn recent() -> Vec<String> {
    match RECENT.lock() {
        Ok(q) => q.iter().cloned().collect(),
        Err(poisoned) => poisoned.into_inner().iter().cloned().collect(),
    }
}

fn push(line: String) {
    let mut q = match RECENT.lock() {
        Ok(q) => q,
        Err(poisoned) => poisoned.into_inner(),
    };
    if q.len() == KEPT {
        q.pop_front();
    }
    q.push_back(line);
}

/// Keeps WARN and ERROR events (install it with a WARN level filter, so
/// the rest costs nothing).
#[derive(Debug, Default, Clone, Copy)]
pub struct RecentLayer;

#[derive(Default)]
struct Line {
    message: String,
    fields: String,
}

impl Visit for Line {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={}", field.name(), value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={:?}", field.name(), value);
        }
    }
}

impl<S: Subscriber> Layer<S> for RecentLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        // More verbose levels compare greater.
        if *meta.level() > Level::WARN {
            return;
        }
        let mut line = Line::default();
        event.record(&mut line);
        push(format!(
            "{} {} {}: {}{}",
            chrono::Local::now().format("%H:%M:%S"),
            meta.level(),
            meta.target(),
            line.message,
            line.fields
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::prelude::*;

    #[test]
    fn keeps_the_last_warnings_and_errors_only() {
        let subscriber = tracing_subscriber::registry().with(RecentLayer);
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!("not kept");
            tracing::warn!(device = "pad", "log-test warning");
            tracing::error!(code = 7, "log-test error");
            let got = recent();
            assert!(got
                .iter()
                .any(|l| l.contains("WARN") && l.ends_with("log-test warning device=pad")));
            assert!(got
                .iter()
                .any(|l| l.contains("ERROR") && l.ends_with("log-test error code=7")));
            assert!(!got.iter().any(|l| l.contains("not kept")));
            for i in 0..KEPT + 5 {
                tracing::warn!("log-test flood {i}");
            }
            let got = recent();
            assert_eq!(got.len(), KEPT);
            assert!(got[KEPT - 1].ends_with(&format!("log-test flood {}", KEPT + 4)));
            assert!(!got.iter().any(|l| l.ends_with("log-test flood 4")));
        });
    }
}
