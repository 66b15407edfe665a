//! Checks across keys, after every value has been read (ranges and
//! formats of single values are checked while reading, in `de`). Each
//! problem is an [`Issue`] naming the key to fix.
//!
//! May use: no other room; in this room, the section types and `error`.

use super::error::Issue;
use super::{Config, PolicySection, UpstreamKind};

// ---------------------------------------------------------------------------
// Checks across keys (ranges are checked while deserializing)

pub(super) fn validate(c: &Config) -> Vec<Issue> {
    let mut issues = Vec::new();
    let k = &c.kiosk;
    let id_ok = |s: &str| {
        !s.is_empty()
            && s.len() <= 64
            && s.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ".-_".contains(ch))
    };
    if !id_ok(&k.id) {
        issues.push(Issue::at(
            "kiosk.id",
            format!(
                "expected 1 to 64 characters from A-Z a-z 0-9 . _ -, found {:?}",
                k.id
            ),
        ));
    }
    if k.languages.is_empty() {
        issues.push(Issue::at(
            "kiosk.languages",
            "expected at least one of: zh-CN, en",
        ));
    }
    for (i, lang) in k.languages.iter().enumerate() {
        if k.languages[..i].contains(lang) {
            issues.push(Issue::at(
                &format!("kiosk.languages[{i}]"),
                format!("{:?} is listed twice", lang.tag()),
            ));
        }
    }
    if k.inactivity_warning_secs >= k.inactivity_timeout_secs {
        issues.push(Issue::at(
            "kiosk.inactivity_warning_secs",
            format!(
                "must be less than inactivity_timeout_secs ({}), found {}",
                k.inactivity_timeout_secs, k.inactivity_warning_secs
            ),
        ));
    }

    if c.store.path.as_os_str().is_empty() {
        issues.push(Issue::at("store.path", "must not be empty"));
    }

    validate_policy(&c.policy, &mut issues);

    let pin = &c.staff.pin_hash;
    let phc_like = pin.starts_with("$argon2")
        && pin.split('$').count() >= 5
        && !pin.contains(char::is_whitespace);
    if !pin.is_empty() && !phc_like {
        // The value itself is never echoed: see SECRET_KEYS.
        issues.push(Issue::at(
            "staff.pin_hash",
            "expected an argon2 PHC string such as \"$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>\"",
        ));
    }

    let r = &c.receipt;
    if r.email && r.smtp_url.is_empty() {
        issues.push(
            Issue::at("receipt.smtp_url", "required when email = true").anchored("receipt.email"),
        );
    } else if !(r.smtp_url.is_empty()
        || r.smtp_url.starts_with("smtp://")
        || r.smtp_url.starts_with("smtps://"))
    {
        // Not echoed: it may carry a password.
        issues.push(Issue::at(
            "receipt.smtp_url",
            "expected smtp://HOST[:PORT] or smtps://USER:PASSWORD@HOST",
        ));
    }
    if r.email && !r.from.contains('@') {
        issues.push(
            Issue::at(
                "receipt.from",
                "an e-mail address is required when email = true",
            )
            .anchored("receipt.email"),
        );
    }

    for (i, card) in c.staff.cards.iter().enumerate() {
        if card.trim().is_empty() {
            issues.push(Issue::at(
                &format!("staff.cards[{i}]"),
                "must not be empty (a card number as its scanner reads it)",
            ));
        }
    }

    let dir = &c.staff.export_dir;
    if !dir.is_empty()
        && (!std::path::Path::new(dir).is_absolute() || dir.contains(char::is_control))
    {
        issues.push(Issue::at(
            "staff.export_dir",
            format!(
                "expected an absolute folder such as \"/media/kiosk/USB\" (or \"\" for no export), found {dir:?}"
            ),
        ));
    }

    let u = &c.upstream;
    let is_http_url = |s: &str| s.starts_with("http://") || s.starts_with("https://");
    if u.kind == UpstreamKind::Http && u.url.is_empty() {
        issues.push(
            Issue::at("upstream.url", "required when kind = \"http\"").anchored("upstream.kind"),
        );
    } else if !u.url.is_empty() && !is_http_url(&u.url) {
        // Not echoed: a URL may carry credentials.
        issues.push(Issue::at(
            "upstream.url",
            "expected a URL starting with http:// or https://",
        ));
    }
    if u.kind == UpstreamKind::Sip2 && u.host.trim().is_empty() {
        issues.push(
            Issue::at("upstream.host", "required when kind = \"sip2\"").anchored("upstream.kind"),
        );
    }
    let https = u.url.trim().to_ascii_lowercase().starts_with("https://");
    if !u.tls_ca.is_empty() && u.kind == UpstreamKind::Http && !https {
        issues.push(Issue::at(
            "upstream.tls_ca",
            "set, but the url is not https://: the certificate would not be used",
        ));
    } else if !u.tls_ca.is_empty() && u.kind != UpstreamKind::Http && !u.tls {
        issues.push(Issue::at(
            "upstream.tls_ca",
            "set, but tls = false: the certificate would not be used",
        ));
    }

    for (i, d) in c.devices.iter().enumerate() {
        if d.id.trim().is_empty() {
            issues.push(Issue::at(&format!("devices[{i}].id"), "must not be empty"));
        } else if let Some(first) = c.devices[..i].iter().position(|o| o.id == d.id) {
            issues.push(Issue::at(
                &format!("devices[{i}].id"),
                format!("duplicate device id {:?} (also devices[{first}])", d.id),
            ));
        }
    }

    let fields: Vec<&str> = c.sync.nightly.split_whitespace().collect();
    let cron_char = |ch: char| ch.is_ascii_alphanumeric() || "*/,-?#".contains(ch);
    if !(5..=6).contains(&fields.len()) || !fields.iter().all(|f| f.chars().all(cron_char)) {
        issues.push(Issue::at(
            "sync.nightly",
            format!(
                "expected a cron expression of 5 or 6 fields such as \"0 30 2 * * *\", found {:?}",
                c.sync.nightly
            ),
        ));
    }
    issues
}

fn validate_policy(p: &PolicySection, issues: &mut Vec<Issue>) {
    let currency_ok = p.currency.len() == 3 && p.currency.chars().all(|ch| ch.is_ascii_uppercase());
    if !currency_ok {
        issues.push(Issue::at(
            "policy.currency",
            format!(
                "expected 3 upper-case letters such as \"CNY\", found {:?}",
                p.currency
            ),
        ));
    }
    for (i, r) in p.rules.iter().enumerate() {
        let at = |key: &str| format!("policy.rules[{i}].{key}");
        if r.category.trim().is_empty() {
            issues.push(Issue::at(&at("category"), "must not be empty"));
        }
        if r.item_type.trim().is_empty() {
            issues.push(Issue::at(&at("item_type"), "must not be empty"));
        }
        if r.category == "default" && r.item_type == "default" {
            issues.push(Issue::at(
                &at("category"),
                "category \"default\" with item_type \"default\" is [policy.default]: set it there",
            ));
        } else if let Some(first) = p.rules[..i]
            .iter()
            .position(|o| o.category == r.category && o.item_type == r.item_type)
        {
            issues.push(Issue::at(
                &at("category"),
                format!(
                    "duplicate rule for category {:?} and item_type {:?} (also policy.rules[{first}])",
                    r.category, r.item_type
                ),
            ));
        }
    }
    for (i, (_, _, rule)) in p.resolved_rules().into_iter().enumerate() {
        if rule.loanable && (rule.loan_days > 0) == (rule.loan_hours > 0) {
            let table = match i {
                0 => "policy.default".to_string(),
                n => format!("policy.rules[{}]", n - 1),
            };
            issues.push(
                Issue::at(
                    &format!("{table}.loan_days"),
                    format!(
                        "exactly one of loan_days and loan_hours must be greater than 0 for a loanable item, found loan_days = {} and loan_hours = {}",
                        rule.loan_days, rule.loan_hours
                    ),
                )
                .anchored(&format!("{table}.loan_hours")),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use crate::domain::Lang;

    #[test]
    fn http_without_url_points_at_kind() {
        let e = err("[upstream]\n# central\nkind = \"http\"\ntoken = \"t\"\n");
        assert_eq!(
            e.to_string(),
            "kiosk.toml:3: key upstream.url: required when kind = \"http\""
        );
        // Present but empty: point at the url itself.
        assert_at(
            &err("[upstream]\nkind = \"http\"\nurl = \"\"\n"),
            3,
            "upstream.url",
            "required",
        );
        assert_at(
            &err("[upstream]\nkind = \"http\"\nurl = \"ftp://x\"\n"),
            3,
            "upstream.url",
            "http:// or https://",
        );
        assert_at(
            &err("[upstream]\nkind = \"sip2\"\n"),
            2,
            "upstream.host",
            "required when kind = \"sip2\"",
        );
        let ok = parse("[upstream]\nkind = \"http\"\nurl = \"https://central.example/api\"\n");
        assert_eq!(ok.upstream.kind, UpstreamKind::Http);
    }

    #[test]
    fn duplicate_rule() {
        let text = "[[policy.rules]]\ncategory = \"child\"\nitem_type = \"dvd\"\n\
                    [[policy.rules]]\ncategory = \"adult\"\nitem_type = \"dvd\"\n\
                    [[policy.rules]]\nitem_type = \"dvd\"\ncategory = \"child\"\nmax_loans = 1\n";
        assert_at(
            &err(text),
            9,
            "policy.rules[2].category",
            "duplicate rule for category \"child\" and item_type \"dvd\" (also policy.rules[0])",
        );
        let text = "[[policy.rules]]\ncategory = \"default\"\nitem_type = \"default\"\n";
        assert_at(
            &err(text),
            2,
            "policy.rules[0].category",
            "[policy.default]",
        );
        let text = "[[policy.rules]]\ncategory = \"child\"\n";
        assert_at(
            &err(text),
            1,
            "policy.rules[0].item_type",
            "missing required key",
        );
    }

    #[test]
    fn duplicate_device_id() {
        let text = "[[devices]]\nid = \"scan\"\nkind = \"barcode-wedge\"\n\n\
                    [[devices]]\nkind = \"barcode-serial\"\nid = \"scan\"\n";
        assert_at(
            &err(text),
            7,
            "devices[1].id",
            "duplicate device id \"scan\" (also devices[0])",
        );
    }

    #[test]
    fn loan_period_is_days_or_hours() {
        let e = err("[policy.default]\nloan_hours = 4\n");
        assert_at(
            &e,
            2,
            "policy.default.loan_days",
            "exactly one of loan_days and loan_hours",
        );
        let e = err("[policy.default]\nloan_days = 0\n");
        assert_at(
            &e,
            2,
            "policy.default.loan_days",
            "found loan_days = 0 and loan_hours = 0",
        );
        let e = err("[[policy.rules]]\ncategory = \"a\"\nitem_type = \"b\"\nloan_days = 3\nloan_hours = 2\n");
        assert_at(&e, 4, "policy.rules[0].loan_days", "exactly one");
        // Not loanable: no period needed.
        parse("[policy.default]\nloan_days = 0\nloanable = false\n");
    }

    #[test]
    fn kiosk_checks() {
        assert_at(
            &err("[kiosk]\nid = \"kiosk 1\"\n"),
            2,
            "kiosk.id",
            "found \"kiosk 1\"",
        );
        assert_at(
            &err(&format!("[kiosk]\nid = \"{}\"\n", "k".repeat(65))),
            2,
            "kiosk.id",
            "1 to 64 characters",
        );
        assert_at(
            &err("[kiosk]\nlanguages = []\n"),
            2,
            "kiosk.languages",
            "at least one",
        );
        assert_at(
            &err("[kiosk]\nlanguages = [\"en\", \"en\"]\n"),
            2,
            "kiosk.languages[1]",
            "listed twice",
        );
        assert_at(
            &err("[kiosk]\ninactivity_timeout_secs = 30\ninactivity_warning_secs = 30\n"),
            3,
            "kiosk.inactivity_warning_secs",
            "must be less than inactivity_timeout_secs (30), found 30",
        );
        let c = parse("[kiosk]\nlanguages = [\"en\", \"zh-CN\"]\n");
        assert_eq!(c.kiosk.default_language(), Lang::En);
    }

    #[test]
    fn other_semantic_checks() {
        assert_at(
            &err("[policy]\ncurrency = \"cny\"\n"),
            2,
            "policy.currency",
            "3 upper-case letters",
        );
        assert_at(
            &err("[sync]\nnightly = \"30 2 * *\"\n"),
            2,
            "sync.nightly",
            "5 or 6 fields",
        );
        parse("[sync]\nnightly = \"30 2 * * mon-fri\"\n");
        assert_at(
            &err("[staff]\npin_hash = \"1234\"\n"),
            2,
            "staff.pin_hash",
            "argon2 PHC string",
        );
        parse(
            "[staff]\npin_hash = \"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo\"\n",
        );
    }

    #[test]
    fn the_export_folder_is_absolute_or_off() {
        assert_eq!(parse("").staff.export_dir, "");
        let c = parse("[staff]\nexport_dir = \"/media/kiosk/USB\"\n");
        assert_eq!(c.staff.export_dir, "/media/kiosk/USB");
        assert_at(
            &err("[staff]\ncards = []\nexport_dir = \"usb\"\n"),
            3,
            "staff.export_dir",
            "expected an absolute folder",
        );
        assert_at(&err("[staff]\nexport_dir = 3\n"), 2, "staff.export_dir", "");
    }

    #[test]
    fn staff_cards_are_checked_matched_and_never_shown() {
        let c = parse("[staff]\ncards = [\"STAFF-0042\", \" A123456B \"]\n");
        assert!(c.staff.is_staff_card("STAFF-0042"));
        assert!(
            c.staff.is_staff_card("staff-0042"),
            "Caps Lock on the wedge"
        );
        // Written as the card prints (Codabar guards, spaces): matched as scanned.
        assert!(c.staff.is_staff_card("123456"));
        assert!(!c.staff.is_staff_card("STAFF-004"));
        assert!(!c.staff.is_staff_card(""));
        assert!(!format!("{:?}", c.staff).contains("0042"));
        assert_at(
            &err("[staff]\ncards = [\"ok\", \"  \"]\n"),
            2,
            "staff.cards[1]",
            "must not be empty",
        );
        let e = err("[staff]\ncards = [\"S-1\", 777777]\n");
        assert!(!e.to_string().contains("777777"), "{e}");
    }

    #[test]
    fn email_receipts_need_a_server_and_a_sender_and_hide_the_password() {
        assert_at(
            &err("[receipt]\nemail = true\nfrom = \"k@lib.example\"\n"),
            2,
            "receipt.smtp_url",
            "required when email = true",
        );
        let e = err("[receipt]\nsmtp_url = \"mail.lan:25\"\n");
        assert_at(&e, 2, "receipt.smtp_url", "smtp://");
        assert_at(
            &err("[receipt]\nemail = true\nsmtp_url = \"smtp://mail.lan\"\n"),
            2,
            "receipt.from",
            "e-mail address",
        );
        let c = parse(
            "[receipt]\nemail = true\nsmtp_url = \"smtps://k:s3cret@mail.lan\"\nfrom = \"k@lib.example\"\n",
        );
        assert!(c.receipt.email);
        assert!(!format!("{c:?}").contains("s3cret"));
        let e = err("[receipt]\nsmtp_url = 42\n");
        assert!(!e.to_string().contains("42"), "{e}");
    }
}
