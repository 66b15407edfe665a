//! Reader-facing text in zh-CN and English, through Fluent.
//!
//! The .ftl files under assets/i18n are compiled in, so the kiosk never
//! depends on files next to the binary. Every key must exist in both
//! languages (tested); a missing key shows the key itself rather than
//! panicking.
//!
//! May use: `domain` (languages, refusals).

use crate::domain::{Lang, Refusal};
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};
use std::sync::OnceLock;

/// (language, file name, contents) of every translation file.
pub const SOURCES: &[(Lang, &str, &str)] = &[
    (
        Lang::En,
        "refusals.ftl",
        include_str!("../assets/i18n/en/refusals.ftl"),
    ),
    (
        Lang::ZhCn,
        "refusals.ftl",
        include_str!("../assets/i18n/zh-CN/refusals.ftl"),
    ),
    (
        Lang::En,
        "cli.ftl",
        include_str!("../assets/i18n/en/cli.ftl"),
    ),
    (
        Lang::ZhCn,
        "cli.ftl",
        include_str!("../assets/i18n/zh-CN/cli.ftl"),
    ),
    (Lang::En, "ui.ftl", include_str!("../assets/i18n/en/ui.ftl")),
    (
        Lang::En,
        "reminders.ftl",
        include_str!("../assets/i18n/en/reminders.ftl"),
    ),
    (
        Lang::ZhCn,
        "reminders.ftl",
        include_str!("../assets/i18n/zh-CN/reminders.ftl"),
    ),
    (
        Lang::ZhCn,
        "ui.ftl",
        include_str!("../assets/i18n/zh-CN/ui.ftl"),
    ),
];

/// A plain count ("0", "7", "120"), not a code with leading zeros.
fn small_count(v: &str) -> Option<u32> {
    let plain = !v.is_empty() && v.len() <= 6 && v.bytes().all(|b| b.is_ascii_digit());
    if plain && (v == "0" || !v.starts_with('0')) {
        v.parse().ok()
    } else {
        None
    }
}

pub struct Texts {
    en: FluentBundle<FluentResource>,
    zh: FluentBundle<FluentResource>,
}

impl Texts {
    fn build() -> Texts {
        let bundle = |lang: Lang| {
            let id: unic_langid::LanguageIdentifier = lang.tag().parse().expect("valid tag");
            let mut b = FluentBundle::new_concurrent(vec![id]);
            // Isolation marks (U+2068/2069) show up as boxes in terminals and
            // some fonts; our texts have no right-to-left content.
            b.set_use_isolating(false);
            for (l, name, src) in SOURCES {
                if *l == lang {
                    let res = FluentResource::try_new(src.to_string())
                        .unwrap_or_else(|(_, e)| panic!("{} {name}: {e:?}", lang.tag()));
                    b.add_resource(res)
                        .unwrap_or_else(|e| panic!("{} {name}: {e:?}", lang.tag()));
                }
            }
            b
        };
        Texts {
            en: bundle(Lang::En),
            zh: bundle(Lang::ZhCn),
        }
    }

    /// The shared instance (the files are compiled in, so this cannot fail
    /// at run time once the tests pass).
    pub fn get() -> &'static Texts {
        static TEXTS: OnceLock<Texts> = OnceLock::new();
        TEXTS.get_or_init(Texts::build)
    }

    fn bundle(&self, lang: Lang) -> &FluentBundle<FluentResource> {
        match lang {
            Lang::En => &self.en,
            Lang::ZhCn => &self.zh,
        }
    }

    pub fn has(&self, lang: Lang, id: &str) -> bool {
        self.bundle(lang).has_message(id)
    }

    /// The text of `id` with named arguments; the id itself if missing.
    pub fn text(&self, lang: Lang, id: &str, args: &[(&str, String)]) -> String {
        let bundle = self.bundle(lang);
        let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) else {
            return id.to_string();
        };
        let mut fargs = FluentArgs::new();
        for (k, v) in args {
            // Small counts go in as numbers so English can pick "1 item" /
            // "2 items"; codes, dates and money stay text as given.
            match small_count(v) {
                Some(n) => fargs.set(*k, n),
                None => fargs.set(*k, v.clone()),
            }
        }
        let mut errors = vec![];
        bundle
            .format_pattern(pattern, Some(&fargs), &mut errors)
            .into_owned()
    }

    pub fn refusal(&self, lang: Lang, refusal: &Refusal) -> String {
        self.text(lang, &refusal.message_id(), &refusal.args())
    }
}

/// Message ids defined in one .ftl source (for the completeness test).
pub fn message_ids(src: &str) -> Vec<String> {
    src.lines()
        .filter(|l| !l.starts_with(['#', ' ', '\t', '.', '[', '*', '}']))
        .filter_map(|l| l.split_once(" =").map(|(k, _)| k.trim().to_string()))
        .filter(|k| !k.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_key_exists_in_both_languages() {
        let ids = |lang: Lang| -> BTreeSet<String> {
            SOURCES
                .iter()
                .filter(|(l, _, _)| *l == lang)
                .flat_map(|(_, _, src)| message_ids(src))
                .collect()
        };
        let en = ids(Lang::En);
        let zh = ids(Lang::ZhCn);
        assert!(en.len() > 20);
        let missing_zh: Vec<_> = en.difference(&zh).collect();
        let missing_en: Vec<_> = zh.difference(&en).collect();
        assert!(missing_zh.is_empty(), "missing in zh-CN: {missing_zh:?}");
        assert!(missing_en.is_empty(), "missing in en: {missing_en:?}");
    }

    #[test]
    fn every_refusal_has_a_text_with_its_arguments_filled_in() {
        let t = Texts::get();
        for r in Refusal::examples() {
            for lang in [Lang::En, Lang::ZhCn] {
                assert!(t.has(lang, &r.message_id()), "{} {}", lang.tag(), r.code());
                let text = t.refusal(lang, &r);
                assert!(!text.contains('{'), "{text}");
                for (_, v) in r.args() {
                    assert!(
                        text.contains(&v),
                        "{} {}: {text} lacks {v}",
                        lang.tag(),
                        r.code()
                    );
                }
            }
        }
    }

    #[test]
    fn english_counts_agree_and_codes_stay_verbatim() {
        let t = Texts::get();
        let one = Refusal::MaxLoansReached { max: 1 };
        assert!(t
            .refusal(Lang::En, &one)
            .starts_with("You already have 1 item on loan,"));
        let closed = |n: &str| t.text(Lang::En, "kiosk-session-closed", &[("count", n.into())]);
        assert_eq!(closed("1"), "Goodbye! You have 1 item on loan.");
        assert_eq!(closed("0"), "Goodbye! You have 0 items on loan.");
        assert_eq!(closed("12"), "Goodbye! You have 12 items on loan.");
        // A pickup code with a leading zero, money and long numbers pass
        // through as written.
        let shelf = |c: &str| t.text(Lang::En, "route-hold-shelf", &[("code", c.into())]);
        assert!(shelf("012345").contains("012345"));
        assert!(shelf("20001000000012").contains("20001000000012"));
        assert!(shelf("12.50").contains("12.50"));
        assert_eq!(small_count("007"), None);
        assert_eq!(small_count("7"), Some(7));
    }

    #[test]
    fn texts_differ_by_language() {
        let t = Texts::get();
        let r = Refusal::MaxLoansReached { max: 4 };
        assert_eq!(
            t.refusal(Lang::En, &r),
            "You already have 4 items on loan, the most your card allows. Return something first."
        );
        assert_eq!(
            t.refusal(Lang::ZhCn, &r),
            "您已借 4 册，已达上限，请先归还再借。"
        );
        assert_eq!(t.text(Lang::En, "no-such-key", &[]), "no-such-key");
    }
}
