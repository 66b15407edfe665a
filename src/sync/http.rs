//! `HttpUpstream`: the kiosk-central JSON API v1 over reqwest (rustls).
//!
//! Bearer token on every call but `/v1/health`, a timeout per request, and
//! retries with jittered exponential backoff (backon) for transport errors
//! and 5xx answers only — never for a 4xx, which would fail the same way
//! again. A retry resends the very same body, so the same entry ids. The
//! token is never logged.

use super::upstream::{BoxFuture, PinAnswer, Upstream, UpstreamError, UpstreamResult};
use crate::protocol::{
    ApiError, ChangesPage, DecideRequest, DecideResponse, Entry, EntryResult, Heartbeat,
    HeartbeatAck, PatronRecord, PinCheckRequest, PinCheckResponse, PushRequest, PushResponse,
    Recommendation, Recommendations,
};
use backon::{ExponentialBuilder, Retryable};
use reqwest::{Client, Method, StatusCode};
use serde::de::DeserializeOwned;
use std::time::Duration;

/// Retry and timeout settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSettings {
    /// Deadline of one request (`[upstream] timeout_secs`).
    pub timeout: Duration,
    /// Further attempts after the first for retryable failures.
    pub retries: usize,
    /// First backoff delay; doubles (with jitter) up to `max_delay`.
    pub min_delay: Duration,
    pub max_delay: Duration,
    /// Extra trusted roots (a PEM file) on top of the web PKI, for a
    /// kiosk-central with the library's own certificate authority.
    pub tls_ca: Option<std::path::PathBuf>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            timeout: Duration::from_secs(10),
            retries: 3,
            min_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            tls_ca: None,
        }
    }
}

pub struct HttpUpstream {
    client: Client,
    base: String,
    token: String,
    settings: HttpSettings,
}

impl HttpUpstream {
    /// `base` is the server's URL without `/v1` (e.g.
    /// `https://central.example/api`).
    pub fn new(base: &str, token: &str, settings: HttpSettings) -> UpstreamResult<HttpUpstream> {
        let mut builder = Client::builder()
            .user_agent(concat!("kiosk/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(settings.timeout);
        if let Some(path) = &settings.tls_ca {
            let fail = |detail: String| UpstreamError::Unreachable {
                at: base.to_string(),
                detail: format!("tls_ca {}: {detail}", path.display()),
            };
            let pem = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
            let certs =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| fail(e.to_string()))?;
            if certs.is_empty() {
                return Err(fail("no certificate in the file".into()));
            }
            for c in certs {
                builder = builder.add_root_certificate(c);
            }
        }
        let client = builder.build().map_err(|e| UpstreamError::Unreachable {
            at: base.to_string(),
            detail: format!("cannot set up the HTTP client: {e}"),
        })?;
        Ok(HttpUpstream {
            client,
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
            settings,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{}{}", self.base, crate::protocol::API_VERSION, path)
    }

    /// One request, retried as the settings say; the body is serialized
    /// once, so every attempt carries the same bytes.
    async fn call<R: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        label: &str,
        query: &[(&str, String)],
        body: Option<Vec<u8>>,
    ) -> UpstreamResult<R> {
        self.call_tries(method, path, label, query, body, self.settings.retries)
            .await
    }

    /// `call` with at most `retries` further attempts.
    async fn call_tries<R: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        label: &str,
        query: &[(&str, String)],
        body: Option<Vec<u8>>,
        retries: usize,
    ) -> UpstreamResult<R> {
        let target = self.url(path);
        // What logs and errors show: the route without card numbers.
        let url = self.url(label);
        let attempt = || async {
            let mut req = self
                .client
                .request(method.clone(), &target)
                .timeout(self.settings.timeout)
                .query(query);
            if !self.token.is_empty() {
                req = req.bearer_auth(&self.token);
            }
            if let Some(b) = &body {
                req = req
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(b.clone());
            }
            let resp = req.send().await.map_err(|e| self.transport(&url, e))?;
            let status = resp.status();
            // An answer cut off midway is a dropped connection (retried,
            // offline), not a protocol error: reqwest reports it as a
            // "decode" error of the body.
            let bytes = resp
                .bytes()
                .await
                .map_err(|e| match self.transport(&url, e) {
                    UpstreamError::Protocol { at, detail } => UpstreamError::Unreachable {
                        at,
                        detail: format!("the connection dropped during the answer: {detail}"),
                    },
                    other => other,
                })?;
            if status.is_success() {
                return serde_json::from_slice::<R>(&bytes).map_err(|e| UpstreamError::Protocol {
                    at: url.clone(),
                    detail: format!("{status} with an unreadable body: {e}"),
                });
            }
            Err(answer_error(&url, status, &bytes))
        };
        let backoff = ExponentialBuilder::default()
            .with_jitter()
            .with_min_delay(self.settings.min_delay)
            .with_max_delay(self.settings.max_delay)
            .with_max_times(retries);
        attempt
            .retry(backoff)
            .sleep(tokio::time::sleep)
            .when(UpstreamError::is_retryable)
            .notify(|e, wait| {
                tracing::info!(url = %url, error = %e, wait_ms = wait.as_millis() as u64, "upstream call failed; retrying with the same body");
            })
            .await
    }

    fn transport(&self, url: &str, e: reqwest::Error) -> UpstreamError {
        // The request URL may hold a card number (/patrons/{barcode}):
        // errors name the masked route in `at` instead.
        let e = e.without_url();
        if e.is_timeout() {
            UpstreamError::Timeout {
                at: url.to_string(),
                ms: self.settings.timeout.as_millis() as u64,
            }
        } else if e.is_decode() {
            UpstreamError::Protocol {
                at: url.to_string(),
                detail: e.to_string(),
            }
        } else {
            // Connection refused, reset, DNS, TLS: all mean "not reachable".
            let mut detail = e.to_string();
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                detail = format!("{detail}: {s}");
                src = s.source();
            }
            UpstreamError::Unreachable {
                at: url.to_string(),
                detail,
            }
        }
    }
}

fn answer_error(url: &str, status: StatusCode, body: &[u8]) -> UpstreamError {
    let api: Option<ApiError> = serde_json::from_slice(body).ok();
    let message = api
        .as_ref()
        .map(|a| a.message.clone())
        .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(200).collect());
    if status.is_server_error() {
        UpstreamError::Server {
            at: url.to_string(),
            status: status.as_u16(),
            message,
        }
    } else {
        UpstreamError::Rejected {
            at: url.to_string(),
            status: status.as_u16(),
            code: api.map(|a| a.error).unwrap_or_else(|| "http".into()),
            message,
        }
    }
}

fn json_body<T: serde::Serialize>(v: &T) -> UpstreamResult<Vec<u8>> {
    serde_json::to_vec(v).map_err(|e| UpstreamError::Protocol {
        at: "(request)".into(),
        detail: e.to_string(),
    })
}

impl Upstream for HttpUpstream {
    fn describe(&self) -> String {
        format!("http {}", self.base)
    }

    fn push<'a>(
        &'a self,
        kiosk_id: &'a str,
        entries: &'a [Entry],
    ) -> BoxFuture<'a, UpstreamResult<Vec<EntryResult>>> {
        Box::pin(async move {
            let body = json_body(&PushRequest {
                kiosk_id: kiosk_id.to_string(),
                sent_at: chrono::Local::now().to_rfc3339(),
                entries: entries.to_vec(),
            })?;
            let r: PushResponse = self
                .call(Method::POST, "/push", "/push", &[], Some(body))
                .await?;
            Ok(r.results)
        })
    }

    fn changes<'a>(
        &'a self,
        cursor: &'a str,
        limit: u32,
    ) -> BoxFuture<'a, UpstreamResult<ChangesPage>> {
        Box::pin(async move {
            let q = [("cursor", cursor.to_string()), ("limit", limit.to_string())];
            self.call(Method::GET, "/changes", "/changes", &q, None)
                .await
        })
    }

    fn decide<'a>(
        &'a self,
        req: &'a DecideRequest,
    ) -> BoxFuture<'a, UpstreamResult<DecideResponse>> {
        Box::pin(async move {
            let body = json_body(req)?;
            match self
                .call(Method::POST, "/decide", "/decide", &[], Some(body))
                .await
            {
                // The server holds this seq already (the kiosk's database
                // is new and it has not learned where its sequence stands
                // yet): nothing was decided; the kiosk decides as if
                // offline, and its first push carries on after the
                // server's seqs (docs/sync.md, "A lost kiosk database").
                Err(UpstreamError::Rejected {
                    at,
                    status: 409,
                    code,
                    message,
                }) if code == "sequence_reused" => Err(UpstreamError::Server {
                    at,
                    status: 409,
                    message: format!("{code}: {message}"),
                }),
                other => other,
            }
        })
    }

    fn heartbeat<'a>(&'a self, hb: &'a Heartbeat) -> BoxFuture<'a, UpstreamResult<HeartbeatAck>> {
        Box::pin(async move {
            let body = json_body(hb)?;
            self.call(Method::POST, "/heartbeat", "/heartbeat", &[], Some(body))
                .await
        })
    }

    fn patron<'a>(
        &'a self,
        barcode: &'a str,
    ) -> BoxFuture<'a, UpstreamResult<Option<PatronRecord>>> {
        Box::pin(async move {
            let path = format!("/patrons/{}", urlencode(barcode));
            let label = format!("/patrons/{}", crate::privacy::mask(barcode));
            match self.call(Method::GET, &path, &label, &[], None).await {
                Ok(p) => Ok(Some(p)),
                Err(UpstreamError::Rejected { status: 404, .. }) => Ok(None),
                Err(e) => Err(e),
            }
        })
    }

    /// `POST /v1/pin-check`, the PIN in the body. Sent once, never
    /// retried: a wrong PIN the server counted before its answer was lost
    /// must not count twice. The server counts wrong PINs across kiosks.
    fn check_pin<'a>(
        &'a self,
        patron: &'a str,
        pin: &'a str,
    ) -> BoxFuture<'a, UpstreamResult<PinAnswer>> {
        Box::pin(async move {
            let body = json_body(&PinCheckRequest {
                patron: patron.to_string(),
                pin: pin.to_string(),
            })?;
            let r: PinCheckResponse = match self
                .call_tries(Method::POST, "/pin-check", "/pin-check", &[], Some(body), 0)
                .await
            {
                // A server older than the route: as before it, the kiosk
                // answers `pin_unavailable`.
                Err(UpstreamError::Rejected {
                    status: 404 | 405, ..
                }) => return Err(UpstreamError::Unsupported("PIN checks")),
                other => other?,
            };
            Ok(PinAnswer {
                known: r.known,
                valid: r.valid,
                locked_until: r.locked_until,
                attempts_left: r.attempts_left,
                ..PinAnswer::default()
            })
        })
    }

    fn checks_pins(&self) -> bool {
        true
    }

    /// The feed says which readers have a PIN: only a withheld hash is
    /// asked about.
    fn feeds_pins(&self) -> bool {
        true
    }

    fn recommendations<'a>(
        &'a self,
        patron: &'a str,
        items: &'a [String],
        limit: u32,
    ) -> BoxFuture<'a, UpstreamResult<Vec<Recommendation>>> {
        Box::pin(async move {
            // The API takes one item per question: ask about each of the
            // first few (the reader's own history counts in every answer)
            // and merge, best first, each title once.
            let limit = limit.clamp(1, 50);
            let seeds: Vec<Option<&String>> = if items.is_empty() {
                vec![None]
            } else {
                items.iter().take(MAX_SEEDS).map(Some).collect()
            };
            let mut answers = Vec::with_capacity(seeds.len());
            for item in seeds {
                let mut q = vec![("limit", limit.to_string())];
                if !patron.is_empty() {
                    q.push(("patron", patron.to_string()));
                }
                if let Some(i) = item {
                    q.push(("item", i.clone()));
                }
                let r: Recommendations = self
                    .call(
                        Method::GET,
                        "/recommendations",
                        "/recommendations",
                        &q,
                        None,
                    )
                    .await?;
                answers.push(r.items);
            }
            Ok(merge_recommendations(answers, items, limit as usize))
        })
    }
}

/// Items asked about in one `recommendations` call, at most.
const MAX_SEEDS: usize = 3;

/// Answers to several questions as one list: round-robin over the
/// answers (each borrowed item gets its best suggestion in first), each
/// title once, nothing the reader is borrowing right now.
pub fn merge_recommendations(
    answers: Vec<Vec<Recommendation>>,
    borrowed: &[String],
    limit: usize,
) -> Vec<Recommendation> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    let mut iters: Vec<_> = answers.into_iter().map(Vec::into_iter).collect();
    loop {
        let mut any = false;
        for it in iters.iter_mut() {
            let Some(r) = it.next() else { continue };
            any = true;
            let key = (
                r.title.trim().to_lowercase(),
                r.author.trim().to_lowercase(),
            );
            if borrowed.contains(&r.item) || !seen.insert(key) {
                continue;
            }
            out.push(r);
            if out.len() >= limit {
                return out;
            }
        }
        if !any {
            return out;
        }
    }
}

/// Percent-encodes a path segment (card numbers are usually digits, but a
/// scanned code is whatever the scanner sent).
fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(item: &str, title: &str) -> Recommendation {
        Recommendation {
            item: item.into(),
            title: title.into(),
            author: "A".into(),
            why: "also_borrowed".into(),
        }
    }

    #[test]
    fn merged_recommendations_take_turns_skip_repeats_and_what_is_borrowed() {
        let a = vec![rec("1", "Alpha"), rec("2", "Beta"), rec("3", "Gamma")];
        let b = vec![
            rec("9", "alpha "),
            rec("I2", "Borrowed now"),
            rec("4", "Delta"),
        ];
        let got = merge_recommendations(vec![a, b], &["I2".to_string()], 10);
        let titles: Vec<&str> = got.iter().map(|r| r.title.as_str()).collect();
        assert_eq!(titles, ["Alpha", "Beta", "Gamma", "Delta"]);
        let got = merge_recommendations(vec![got], &[], 2);
        assert_eq!(got.len(), 2);
        assert!(merge_recommendations(vec![], &[], 5).is_empty());
    }
}
