//! The HTTP face of the server (axum): routes of API v1, bearer-token auth
//! with two roles (kiosk tokens bound to one kiosk, staff tokens; the
//! scope of every route is in [`router`]), the request size limit, and JSON errors (`ApiError`) for
//! every failure, so a kiosk never has to parse an HTML or empty body.
//! Handlers only translate; what happens is `Storage`'s business. Tokens
//! are never logged. Imports `protocol` and `central`'s own
//! modules.

use super::{CentralError, Principal, Storage};
use crate::protocol::*;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Path, Request, State};
use axum::http::{header, request::Parts, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use chrono::{NaiveDate, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// An error answer: status plus `ApiError` body.
#[derive(Debug)]
pub struct ApiErr(pub StatusCode, pub &'static str, pub String);

impl IntoResponse for ApiErr {
    fn into_response(self) -> Response {
        (
            self.0,
            Json(ApiError {
                error: self.1.into(),
                message: self.2,
            }),
        )
            .into_response()
    }
}

impl From<CentralError> for ApiErr {
    fn from(e: CentralError) -> ApiErr {
        match e {
            CentralError::BadRequest(m) => ApiErr(StatusCode::BAD_REQUEST, "bad_request", m),
            CentralError::Conflict(code, m) => ApiErr(StatusCode::CONFLICT, code, m),
            e => {
                tracing::error!(error = %e, "request failed");
                ApiErr(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the server could not complete the request; see its log".into(),
                )
            }
        }
    }
}

fn bad(m: impl Into<String>) -> ApiErr {
    ApiErr(StatusCode::BAD_REQUEST, "bad_request", m.into())
}

/// `Json` whose rejections are `ApiError`s (400, or 413 over the limit).
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned + Serialize, St: Send + Sync> FromRequest<St> for ApiJson<T> {
    type Rejection = ApiErr;

    async fn from_request(req: Request, state: &St) -> Result<Self, ApiErr> {
        let bytes = match req.headers().get(header::CONTENT_TYPE) {
            Some(v) if v.to_str().is_ok_and(is_json) => axum::body::Bytes::from_request(req, state)
                .await
                .map_err(|r| {
                    if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                        too_large()
                    } else {
                        bad(r.body_text())
                    }
                })?,
            _ => {
                return Err(ApiErr(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "bad_request",
                    "send Content-Type: application/json".into(),
                ))
            }
        };
        decode_body(&bytes).map(ApiJson)
    }
}

/// A JSON body's bytes as `T`, as every route taking one reads them.
fn decode_body<T: DeserializeOwned + Serialize>(bytes: &[u8]) -> Result<T, ApiErr> {
    let v: T = match Json::<T>::from_bytes(bytes) {
        Ok(Json(v)) => v,
        // JSON says 172.0 is the integer 172 (and schemathesis sends
        // it so); serde does not. Only a body serde refused pays for
        // this second look.
        Err(r) => serde_json::from_slice::<serde_json::Value>(bytes)
            .ok()
            .map(whole_numbers)
            .and_then(|v| serde_json::from_value(v).ok())
            .ok_or_else(|| json_rejection(r))?,
    };
    // In JSON a NUL can only be written `\u0000`: only such a body
    // pays for the look.
    if bytes.windows(6).any(|w| w == b"\\u0000") && has_nul(&v) {
        return Err(no_nul());
    }
    Ok(v)
}

/// A NUL character in a text field is refused (400): PostgreSQL cannot
/// store one, and no card number, barcode or note contains one. Fields
/// the server does not know are ignored, and free-form JSON (`detail`) is
/// stored as JSON text, where a NUL is escaped: neither is looked at.
fn has_nul<T: Serialize>(v: &T) -> bool {
    fn any_nul(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::String(s) => s.contains('\0'),
            serde_json::Value::Array(a) => a.iter().any(any_nul),
            serde_json::Value::Object(o) => o
                .iter()
                .any(|(k, v)| k != "detail" && (k.contains('\0') || any_nul(v))),
            _ => false,
        }
    }
    serde_json::to_value(v).is_ok_and(|v| any_nul(&v))
}

fn no_nul() -> ApiErr {
    bad("text must not contain NUL characters")
}

fn is_json(content_type: &str) -> bool {
    let mime = content_type.split(';').next().unwrap_or("").trim();
    mime.eq_ignore_ascii_case("application/json")
        || (mime.len() > 5 && mime[..mime.len() - 5].contains('/') && mime.ends_with("+json"))
}

/// Floats with no fractional part, as integers.
fn whole_numbers(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Number(n) if !n.is_i64() && !n.is_u64() => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64 => {
                Value::from(f as i64)
            }
            Some(f) if f.fract() == 0.0 && f >= 0.0 && f < u64::MAX as f64 => Value::from(f as u64),
            _ => Value::Number(n),
        },
        Value::Array(a) => Value::Array(a.into_iter().map(whole_numbers).collect()),
        Value::Object(o) => {
            Value::Object(o.into_iter().map(|(k, v)| (k, whole_numbers(v))).collect())
        }
        v => v,
    }
}

fn too_large() -> ApiErr {
    ApiErr(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        "the request body is larger than the server accepts; send smaller batches".into(),
    )
}

fn json_rejection(r: JsonRejection) -> ApiErr {
    if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large()
    } else {
        bad(r.body_text())
    }
}

/// `Query` whose rejections are `ApiError`s.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Serialize, St: Send + Sync> FromRequestParts<St> for ApiQuery<T> {
    type Rejection = ApiErr;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Self, ApiErr> {
        let q = axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map_err(|r: QueryRejection| bad(r.body_text()))?;
        if parts.uri.query().is_some_and(|q| q.contains("%00")) && has_nul(&q.0) {
            return Err(no_nul());
        }
        Ok(ApiQuery(q.0))
    }
}

/// The kiosk a kiosk token belongs to (set for kiosk tokens only).
#[derive(Debug, Clone)]
pub struct KioskId(pub String);

fn forbidden(m: impl Into<String>) -> ApiErr {
    ApiErr(StatusCode::FORBIDDEN, "forbidden", m.into())
}

async fn auth<S: Storage>(
    State(st): State<Arc<S>>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiErr> {
    let unauthorized = |m: &str| ApiErr(StatusCode::UNAUTHORIZED, "unauthorized", m.into());
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| unauthorized("send Authorization: Bearer <token>"))?;
    let who = st
        .principal_for_token(token.to_string())
        .await?
        .ok_or_else(|| {
            unauthorized("the token is not known; create one with kiosk-central token create")
        })?;
    if let Principal::Kiosk { id, .. } = &who {
        req.extensions_mut().insert(KioskId(id.clone()));
    }
    req.extensions_mut().insert(who);
    Ok(next.run(req).await)
}

/// Routes for kiosk tokens only.
async fn kiosk_only(req: Request, next: Next) -> Result<Response, ApiErr> {
    match req.extensions().get::<Principal>() {
        Some(Principal::Kiosk { .. }) => Ok(next.run(req).await),
        _ => Err(forbidden(
            "this route is for kiosk tokens (kiosk-central token create --kiosk ID)",
        )),
    }
}

/// Routes for staff tokens only.
async fn staff_only(req: Request, next: Next) -> Result<Response, ApiErr> {
    match req.extensions().get::<Principal>() {
        Some(Principal::Staff { .. }) => Ok(next.run(req).await),
        _ => Err(forbidden(
            "this route is for staff tokens (kiosk-central token create --staff NAME)",
        )),
    }
}

fn same_kiosk(token: &KioskId, body: &str) -> Result<(), ApiErr> {
    if token.0 == body {
        Ok(())
    } else {
        Err(forbidden(format!(
            "this token belongs to kiosk {:?}, not {body:?}",
            token.0
        )))
    }
}

/// What of a reader's record goes to this kiosk. PIN hashes only to a
/// kiosk allowed to check PINs offline (`--offline-pins`); to the others
/// a reader with a PIN carries [`PIN_WITHHELD`] instead (the kiosk then
/// answers `pin_unavailable`, never lets the card in without its PIN).
/// E-mail only when `email` (the one-reader lookup), never in the feed.
fn for_kiosk(p: &mut PatronRecord, offline_pins: bool, email: bool) {
    if !offline_pins && p.pin_hash.as_deref().is_some_and(|h| !h.is_empty()) {
        p.pin_hash = Some(PIN_WITHHELD.to_string());
    }
    if !email {
        p.email = None;
    }
}

/// Who, for the log (a kiosk id or staff name; never the token).
fn who_label(who: &Principal) -> String {
    match who {
        Principal::Kiosk { id, .. } => format!("kiosk {id}"),
        Principal::Staff { name } => format!("staff {name}"),
    }
}

fn offline_pins(who: &Principal) -> bool {
    matches!(
        who,
        Principal::Kiosk {
            offline_pins: true,
            ..
        }
    )
}

/// All routes; `max_body` bytes is the largest request body accepted.
///
/// Scopes: kiosk tokens push, pull the feed, decide, heartbeat, look up
/// one reader, check a reader's PIN and ask for recommendations; staff
/// tokens read reports, feedback and the kiosk list; both list and close
/// conflicts, a kiosk token only its own kiosk's. A token of the wrong
/// kind gets 403.
pub fn router<S: Storage>(storage: Arc<S>, max_body: usize) -> Router {
    let kiosk = Router::new()
        .route("/v1/push", post(push::<S>))
        .route("/v1/changes", get(changes::<S>))
        .route("/v1/decide", post(decide::<S>))
        .route("/v1/heartbeat", post(heartbeat::<S>))
        .route("/v1/patrons/{barcode}", get(patron::<S>))
        .route("/v1/pin-check", post(pin_check::<S>))
        .route("/v1/recommendations", get(recommendations::<S>))
        .route_layer(middleware::from_fn(kiosk_only))
        .layer(Extension(Arc::new(super::engine::PinTries::new())));
    let staff = Router::new()
        .route("/v1/kiosks", get(kiosks::<S>))
        .route("/v1/reports/stats", get(stats::<S>))
        .route("/v1/feedback", get(feedback::<S>))
        .route_layer(middleware::from_fn(staff_only));
    let v1 = Router::new()
        .route("/v1/conflicts", get(conflicts::<S>))
        .route("/v1/conflicts/{id}/resolve", post(resolve::<S>))
        .merge(kiosk)
        .merge(staff)
        .route_layer(middleware::from_fn_with_state(storage.clone(), auth::<S>));
    Router::new()
        .route("/v1/health", get(health))
        .route("/openapi.json", get(openapi))
        .merge(v1)
        .fallback(|| async { ApiErr(StatusCode::NOT_FOUND, "not_found", "no such route".into()) })
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(storage)
}

async fn health() -> Json<serde_json::Value> {
    Json(
        serde_json::json!({"status": "ok", "api": API_VERSION, "version": env!("CARGO_PKG_VERSION")}),
    )
}

async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        super::openapi::document(),
    )
        .into_response()
}

/// What a push must be beyond well-formed JSON: its token's kiosk's, and
/// every entry in bounds.
fn push_ok(kiosk: &KioskId, req: &PushRequest) -> Result<(), ApiErr> {
    same_kiosk(kiosk, &req.kiosk_id)?;
    req.entries.iter().try_for_each(in_bounds)
}

/// The same for `/v1/decide`'s one entry.
fn decide_ok(kiosk: &KioskId, req: &DecideRequest) -> Result<(), ApiErr> {
    same_kiosk(kiosk, &req.entry.kiosk_id)?;
    in_bounds(&req.entry)
}

/// A resolve request's entry id (from the path) and note.
fn resolve_ok(id: &str, req: &ResolveRequest) -> Result<uuid::Uuid, ApiErr> {
    let id: uuid::Uuid = id
        .parse()
        .map_err(|_| bad(format!("{id:?} is not an entry id (UUID)")))?;
    if req.note.is_empty() {
        return Err(bad("note: say what was done about the conflict"));
    }
    Ok(id)
}

/// An entry's numbers within the API's bounds (`MAX_SEQ`,
/// `MAX_AMOUNT_CENTS`), or 400 naming the entry and field.
fn in_bounds(e: &Entry) -> Result<(), ApiErr> {
    if !(1..=MAX_SEQ).contains(&e.seq) {
        return Err(bad(format!(
            "entry {}: seq {} is out of bounds (1 to {MAX_SEQ})",
            e.id, e.seq
        )));
    }
    if let Some(detail) = e.detail.as_object() {
        for (k, v) in detail {
            if !k.ends_with("_cents") {
                continue;
            }
            let ok = match v {
                serde_json::Value::Null => true,
                serde_json::Value::Number(n) => n
                    .as_i64()
                    .is_some_and(|c| c.unsigned_abs() <= MAX_AMOUNT_CENTS as u64),
                _ => false,
            };
            if !ok {
                return Err(bad(format!(
                    "entry {}: detail.{k} must be a whole number of cents within ±{MAX_AMOUNT_CENTS}",
                    e.id
                )));
            }
        }
    }
    Ok(())
}

async fn push<S: Storage>(
    State(st): State<Arc<S>>,
    Extension(kiosk): Extension<KioskId>,
    ApiJson(req): ApiJson<PushRequest>,
) -> Result<Json<PushResponse>, ApiErr> {
    push_ok(&kiosk, &req)?;
    let n = req.entries.len();
    let res = st.push(req, Utc::now()).await?;
    tracing::info!(kiosk = %kiosk.0, entries = n, offset_ms = res.clock_offset_ms, "push");
    Ok(Json(res))
}

#[derive(Deserialize, Serialize)]
struct ChangesQuery {
    #[serde(default)]
    cursor: String,
    limit: Option<u32>,
}

async fn changes<S: Storage>(
    State(st): State<Arc<S>>,
    Extension(who): Extension<Principal>,
    ApiQuery(q): ApiQuery<ChangesQuery>,
) -> Result<Json<ChangesPage>, ApiErr> {
    let mut page = st.changes(q.cursor, q.limit.unwrap_or(500)).await?;
    let pins = offline_pins(&who);
    for c in &mut page.changes {
        if let Change::Upsert {
            record: Record::Patron(p),
        } = c
        {
            for_kiosk(p, pins, false);
        }
    }
    Ok(Json(page))
}

async fn decide<S: Storage>(
    State(st): State<Arc<S>>,
    Extension(kiosk): Extension<KioskId>,
    ApiJson(req): ApiJson<DecideRequest>,
) -> Result<Json<DecideResponse>, ApiErr> {
    decide_ok(&kiosk, &req)?;
    let res = st.decide(req, Utc::now()).await?;
    tracing::info!(kiosk = %kiosk.0, entry_id = %res.id, decision = %res.decision, "decide");
    Ok(Json(res))
}

async fn heartbeat<S: Storage>(
    State(st): State<Arc<S>>,
    Extension(kiosk): Extension<KioskId>,
    ApiJson(hb): ApiJson<Heartbeat>,
) -> Result<Json<HeartbeatAck>, ApiErr> {
    same_kiosk(&kiosk, &hb.kiosk_id)?;
    Ok(Json(st.heartbeat(hb, Utc::now()).await?))
}

async fn patron<S: Storage>(
    State(st): State<Arc<S>>,
    Extension(who): Extension<Principal>,
    Path(barcode): Path<String>,
) -> Result<Json<PatronRecord>, ApiErr> {
    if barcode.contains('\0') {
        return Err(no_nul());
    }
    let pins = offline_pins(&who);
    let found = st.patron(barcode).await?.map(|mut p| {
        for_kiosk(&mut p, pins, true);
        p
    });
    found.map(Json).ok_or_else(|| {
        ApiErr(
            StatusCode::NOT_FOUND,
            "not_found",
            "no reader with this card".into(),
        )
    })
}

/// A reader's PIN checked here, for a kiosk without PIN hashes (the PIN
/// in the body; never logged). Wrong PINs count per card across kiosks
/// (`engine::pins`, this process's memory); argon2 runs off the async
/// threads.
async fn pin_check<S: Storage>(
    State(st): State<Arc<S>>,
    Extension(kiosk): Extension<KioskId>,
    Extension(tries): Extension<Arc<super::engine::PinTries>>,
    ApiJson(req): ApiJson<PinCheckRequest>,
) -> Result<Json<PinCheckResponse>, ApiErr> {
    if req.pin.chars().count() > MAX_PIN_LEN {
        return Err(bad(format!("pin: at most {MAX_PIN_LEN} characters")));
    }
    let known = st.pin_of(req.patron.clone()).await?;
    let settings = st.settings().clone();
    let card = req.patron.clone();
    let answer = tokio::task::spawn_blocking(move || {
        super::engine::pin_verdict(&tries, &settings, &req.patron, &req.pin, known, Utc::now())
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "the PIN check failed");
        ApiErr(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server could not check the PIN; see its log".into(),
        )
    })?;
    tracing::info!(kiosk = %kiosk.0, card = %crate::privacy::mask(&card), known = answer.known,
        valid = ?answer.valid, locked = answer.locked_until.is_some(), "pin check");
    Ok(Json(answer))
}

#[derive(Deserialize, Serialize)]
struct RecQuery {
    patron: Option<String>,
    item: Option<String>,
    limit: Option<u32>,
}

async fn recommendations<S: Storage>(
    State(st): State<Arc<S>>,
    ApiQuery(q): ApiQuery<RecQuery>,
) -> Result<Json<Recommendations>, ApiErr> {
    Ok(Json(
        st.recommendations(q.patron, q.item, q.limit.unwrap_or(10) as usize)
            .await?,
    ))
}

#[derive(Deserialize, Serialize)]
struct ConflictsQuery {
    kiosk: Option<String>,
}

/// Staff see every kiosk's conflicts (or one's, `?kiosk=`); a kiosk token
/// only its own (asking for another kiosk's: 403), with the reader's card
/// masked.
async fn conflicts<S: Storage>(
    State(st): State<Arc<S>>,
    Extension(who): Extension<Principal>,
    ApiQuery(q): ApiQuery<ConflictsQuery>,
) -> Result<Json<Vec<ConflictRecord>>, ApiErr> {
    let (kiosk, staff) = match who {
        Principal::Staff { .. } => (q.kiosk, true),
        Principal::Kiosk { id, .. } => {
            if let Some(k) = &q.kiosk {
                same_kiosk(&KioskId(id.clone()), k)?;
            }
            (Some(id), false)
        }
    };
    let mut list = st.conflicts(kiosk).await?;
    // The reader's card is for staff, who settle conflicts; a kiosk sees
    // its last digits (its own journal has the entry).
    if !staff {
        for c in &mut list {
            c.patron = c.patron.as_deref().map(crate::privacy::mask);
        }
    }
    Ok(Json(list))
}

/// Staff closing a conflict from a kiosk's staff screen.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
pub struct ResolveRequest {
    /// What staff did about it (required).
    #[schema(min_length = 1)]
    pub note: String,
    /// Who: staff name or initials.
    #[serde(default)]
    pub by: Option<String>,
}

/// The answer to a resolve request.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ResolveResponse {
    pub result: super::engine::Resolve,
}

async fn resolve<S: Storage>(
    State(st): State<Arc<S>>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ResolveRequest>,
) -> Result<Json<ResolveResponse>, ApiErr> {
    let id = resolve_ok(&id, &req)?;
    let named = req.by.as_deref().unwrap_or("staff").trim().to_string();
    let (by, only) = match &who {
        Principal::Kiosk { id, .. } => (format!("{named} at kiosk {id}"), Some(id.clone())),
        Principal::Staff { name } => (format!("{named} (staff token {name})"), None),
    };
    let result = st
        .resolve_conflict(id.to_string(), req.note, by, only, Utc::now())
        .await?;
    if result == super::engine::Resolve::OtherKiosk {
        return Err(forbidden(
            "this conflict belongs to another kiosk; staff close it",
        ));
    }
    if result == super::engine::Resolve::NotAConflict {
        return Err(ApiErr(
            StatusCode::NOT_FOUND,
            "not_found",
            "no open conflict with this id".into(),
        ));
    }
    tracing::info!(by = ?who_label(&who), entry_id = %id, ?result, "conflict closed");
    Ok(Json(ResolveResponse { result }))
}

async fn kiosks<S: Storage>(
    State(st): State<Arc<S>>,
) -> Result<Json<Vec<super::engine::KioskStatus>>, ApiErr> {
    Ok(Json(st.kiosks().await?))
}

#[derive(Deserialize, Serialize)]
struct RangeQuery {
    from: Option<String>,
    to: Option<String>,
    format: Option<String>,
}

/// A report's days: `from`..=`to` (default: the 30 days up to today),
/// each between 0001-01-01 and 9999-12-31 (else 400).
fn range(q: &RangeQuery) -> Result<(NaiveDate, NaiveDate), ApiErr> {
    let first = NaiveDate::from_ymd_opt(1, 1, 1).expect("a date");
    let last = NaiveDate::from_ymd_opt(9999, 12, 31).expect("a date");
    let day = |s: &Option<String>, default: NaiveDate, what: &str| match s.as_deref() {
        None => Ok(default),
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .filter(|d| (first..=last).contains(d))
            .ok_or_else(|| {
                bad(format!(
                    "{what} {s:?} is not a date from 0001-01-01 to 9999-12-31 (YYYY-MM-DD)"
                ))
            }),
    };
    let today = Utc::now().date_naive();
    let to = day(&q.to, today, "to")?;
    let month_before = to
        .checked_sub_signed(chrono::Duration::days(30))
        .unwrap_or(first)
        .max(first);
    let from = day(&q.from, month_before, "from")?;
    Ok((from, to))
}

/// A report within its time limit (`[server] report_timeout_secs`, set by
/// `listen::serve`): past it the storage call is dropped, which stops its
/// query, and the client gets 503. A client that goes away drops it too.
async fn within<T>(
    limit: Option<Extension<super::listen::ReportLimit>>,
    report: impl std::future::Future<Output = Result<T, CentralError>>,
) -> Result<T, ApiErr> {
    let Some(Extension(super::listen::ReportLimit(limit))) = limit else {
        return Ok(report.await?);
    };
    match tokio::time::timeout(limit, report).await {
        Ok(r) => Ok(r?),
        Err(_) => Err(ApiErr(
            StatusCode::SERVICE_UNAVAILABLE,
            "report_timeout",
            format!(
                "the report took longer than the server allows ({} s); ask for a shorter range",
                limit.as_secs()
            ),
        )),
    }
}

async fn stats<S: Storage>(
    State(st): State<Arc<S>>,
    limit: Option<Extension<super::listen::ReportLimit>>,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> Result<Response, ApiErr> {
    let (from, to) = range(&q)?;
    let s = within(limit, st.stats(from, to)).await?;
    Ok(match q.format.as_deref() {
        None | Some("json") => Json(s).into_response(),
        Some("csv") => (
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            s.to_csv(),
        )
            .into_response(),
        Some(f) => return Err(bad(format!("format {f:?}: use json or csv"))),
    })
}

async fn feedback<S: Storage>(
    State(st): State<Arc<S>>,
    limit: Option<Extension<super::listen::ReportLimit>>,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> Result<Response, ApiErr> {
    let (from, to) = range(&q)?;
    let rows = within(limit, st.feedback(from, to)).await?;
    Ok(match q.format.as_deref() {
        None | Some("json") => Json(rows).into_response(),
        Some("csv") => (
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            super::engine::feedback_csv(&rows),
        )
            .into_response(),
        Some(f) => return Err(bad(format!("format {f:?}: use json or csv"))),
    })
}

/// The `cargo fuzz` entry of the JSON bodies (fuzz/fuzz_targets/api_body.rs):
/// the first byte picks a route (push, decide, heartbeat, conflict
/// resolve), the rest is its body, read and checked exactly as the
/// route's handler does before it reaches `Storage`. Never panics; a
/// refusal is a 4xx with an `ApiError` JSON body.
#[cfg(any(fuzzing, test))]
#[doc(hidden)]
pub fn fuzz_body(data: &[u8]) {
    let Some((&route, body)) = data.split_first() else {
        return;
    };
    let kiosk = KioskId("kiosk-1".into());
    let outcome = match route % 4 {
        0 => decode_body::<PushRequest>(body).and_then(|r| push_ok(&kiosk, &r)),
        1 => decode_body::<DecideRequest>(body).and_then(|r| decide_ok(&kiosk, &r)),
        2 => decode_body::<Heartbeat>(body).and_then(|h| same_kiosk(&kiosk, &h.kiosk_id)),
        _ => decode_body::<ResolveRequest>(body)
            .and_then(|r| resolve_ok("00000000-0000-4000-8000-000000000001", &r).map(drop)),
    };
    if let Err(e) = outcome {
        assert!(e.0.is_client_error(), "{e:?}");
        let (code, message) = (e.1, e.2.clone());
        assert!(!message.is_empty(), "{code}: an error with no reason");
        let answer = e.into_response();
        assert_eq!(
            answer
                .headers()
                .get(header::CONTENT_TYPE)
                .map(|v| v.as_bytes()),
            Some(&b"application/json"[..])
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fuzz seeds (fuzz/seeds/api_body), cut short at every length and
    /// sent to every route: no panic, each refusal a 4xx with a reason.
    #[test]
    fn fuzz_seeds_and_their_prefixes_never_panic() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/api_body");
        let mut n = 0;
        for f in std::fs::read_dir(dir).unwrap() {
            let seed = std::fs::read(f.unwrap().path()).unwrap();
            for route in 0..4u8 {
                for end in 1..=seed.len() {
                    let mut data = seed[..end].to_vec();
                    data[0] = route;
                    fuzz_body(&data);
                    n += 1;
                }
            }
        }
        assert!(n > 1000);
    }

    #[test]
    fn a_push_of_another_kiosk_or_out_of_bounds_is_refused_before_storage() {
        let body = |seq: &str, kiosk: &str| {
            format!(
                r#"{{"kiosk_id":"{kiosk}","sent_at":"x","entries":[{{"id":"01934a2b-7c3d-7e4f-8a9b-0c1d2e3f4a5b",
                "kiosk_id":"{kiosk}","seq":{seq},"at":"x","kind":"checkout","patron":null,"item":null,
                "decision":"accepted","reason":null,"due":null,"detail":{{}},"offline":false}}]}}"#
            )
        };
        let kiosk = KioskId("kiosk-1".into());
        let push =
            |b: String| decode_body::<PushRequest>(b.as_bytes()).and_then(|r| push_ok(&kiosk, &r));
        assert!(push(body("1", "kiosk-1")).is_ok());
        assert!(
            push(body("1.0", "kiosk-1")).is_ok(),
            "a whole float is an integer"
        );
        assert_eq!(
            push(body("1", "kiosk-2")).unwrap_err().0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            push(body("0", "kiosk-1")).unwrap_err().0,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            push(body("1.5", "kiosk-1")).unwrap_err().0,
            StatusCode::BAD_REQUEST
        );
    }
}
