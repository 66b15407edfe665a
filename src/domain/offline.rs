//! What the kiosk may decide on its own while its upstream (central server
//! or ILS) is unreachable. The decision is journaled with `offline = 1` and
//! confirmed or turned into a conflict when the upstream is back.

use super::Refusal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OfflinePolicy {
    /// Nothing without the upstream: the kiosk shows out-of-service.
    Off,
    ReturnsOnly,
    ReturnsAndCheckouts,
}

/// The kinds of request the offline policy distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    Checkout,
    Checkin,
    /// Allowed with checkouts: the kiosk knows the loan, its renewals and
    /// the holds it last pulled; the upstream confirms it or turns it into
    /// a conflict (a renewal past the limit, a hold placed meanwhile).
    Renew,
    /// Holds need the upstream's queue.
    Other,
    /// A payment already taken (cash in the acceptor, staff at the desk):
    /// recorded whenever the kiosk works at all, and replayed.
    Payment,
}

/// May this request be decided offline? `offline_loans` is how many loans
/// this reader already got from this kiosk while offline.
pub fn allowed(
    policy: OfflinePolicy,
    request: Request,
    offline_loans: u32,
    max_offline_loans: u32,
) -> Result<(), Refusal> {
    match (policy, request) {
        (OfflinePolicy::Off, _) => Err(Refusal::OfflineUnavailable),
        (_, Request::Checkin | Request::Payment) => Ok(()),
        (_, Request::Other) => Err(Refusal::OfflineUnavailable),
        (OfflinePolicy::ReturnsOnly, Request::Checkout | Request::Renew) => {
            Err(Refusal::OfflineReturnsOnly)
        }
        (OfflinePolicy::ReturnsAndCheckouts, Request::Renew) => Ok(()),
        (OfflinePolicy::ReturnsAndCheckouts, Request::Checkout) => {
            if offline_loans >= max_offline_loans {
                Err(Refusal::OfflineLimitReached {
                    max: max_offline_loans,
                })
            } else {
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OfflinePolicy::*;
    use Request::*;

    #[test]
    fn offline_policy_table() {
        let code = |p, r, n| allowed(p, r, n, 3).err().map(|e| e.code()).unwrap_or("ok");
        assert_eq!(code(Off, Checkin, 0), "offline_unavailable");
        assert_eq!(code(Off, Checkout, 0), "offline_unavailable");
        assert_eq!(code(ReturnsOnly, Checkin, 0), "ok");
        assert_eq!(code(ReturnsOnly, Checkout, 0), "offline_returns_only");
        assert_eq!(code(ReturnsAndCheckouts, Checkout, 2), "ok");
        assert_eq!(
            code(ReturnsAndCheckouts, Checkout, 3),
            "offline_limit_reached"
        );
        assert_eq!(code(ReturnsAndCheckouts, Other, 0), "offline_unavailable");
        assert_eq!(code(ReturnsAndCheckouts, Renew, 3), "ok");
        assert_eq!(code(ReturnsOnly, Renew, 0), "offline_returns_only");
        assert_eq!(code(Off, Renew, 0), "offline_unavailable");
        assert_eq!(code(ReturnsAndCheckouts, Checkin, 99), "ok");
        assert_eq!(code(ReturnsOnly, Payment, 0), "ok");
        assert_eq!(code(Off, Payment, 0), "offline_unavailable");
    }
}
