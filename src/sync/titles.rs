//! The title a reader is shown when the upstream answers about an item:
//! the catalogue's when the answer has none (`enrich`), else the
//! upstream's, unless it is the kiosk's own catalogue title mangled by a charset that
//! cannot carry it (an ILS speaking cp850 sends 三体 as "??").
//!
//! The rule (docs/sync.md, "Titles from the ILS"): the upstream's title is
//! lossy when it contains U+FFFD (bytes the decoder could not read), or
//! when it is the catalogue title with one or more runs of non-ASCII
//! characters each replaced by a run of '?' — every other character the
//! same, in order. Then the catalogue's title (and author) is shown,
//! journaled and printed, and the upstream's is kept as `ils_title` for
//! staff. Any other difference (another edition, a corrected spelling) is
//! the upstream's to make: its title stands.

use crate::store::{Store, StoreError};
use serde_json::Value;

const REPLACEMENT: char = '\u{FFFD}';

fn replaced(c: char) -> bool {
    c == '?' || c == REPLACEMENT
}

/// Whether `ils` is `catalogue` as a charset that could not carry some of
/// its characters sent it.
pub(crate) fn is_lossy(ils: &str, catalogue: &str) -> bool {
    let (ils, catalogue) = (ils.trim(), catalogue.trim());
    if ils == catalogue || catalogue.is_empty() {
        return false;
    }
    if ils.contains(REPLACEMENT) {
        return true;
    }
    let a: Vec<char> = ils.chars().collect();
    let b: Vec<char> = catalogue.chars().collect();
    let (mut i, mut j, mut any) = (0, 0, false);
    while j < b.len() {
        if i < a.len() && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if !b[j].is_ascii() && i < a.len() && replaced(a[i]) {
            while j < b.len() && !b[j].is_ascii() {
                j += 1;
            }
            while i < a.len() && replaced(a[i]) {
                i += 1;
            }
            any = true;
        } else {
            return false;
        }
    }
    any && i == a.len()
}

/// The title to show for `item` when the upstream sent `ils`.
pub(crate) fn shown(store: &Store, item: &str, ils: &str) -> Result<String, StoreError> {
    Ok(match store.item_title(item)? {
        Some((title, _)) if is_lossy(ils, &title) => title,
        _ => ils.to_string(),
    })
}

/// An upstream's answer `detail` for `item`: a lossy `title` becomes the
/// catalogue's (with its author when the answer has none), the upstream's
/// kept as `ils_title`.
pub(crate) fn repair(
    store: &Store,
    item: Option<&str>,
    detail: &mut Value,
) -> Result<(), StoreError> {
    let (Some(item), Some(obj)) = (item, detail.as_object_mut()) else {
        return Ok(());
    };
    let Some(ils) = obj.get("title").and_then(Value::as_str).map(str::to_string) else {
        return Ok(());
    };
    if let Some((title, author)) = store.item_title(item)? {
        if is_lossy(&ils, &title) {
            tracing::info!(
                item,
                "the upstream's title lost characters to its charset; the catalogue's is shown"
            );
            obj.insert("title".into(), title.into());
            obj.insert("ils_title".into(), ils.into());
            let has_author = obj
                .get("author")
                .and_then(Value::as_str)
                .is_some_and(|a| !a.is_empty());
            if !has_author {
                obj.insert("author".into(), author.into());
            }
        }
    }
    Ok(())
}

/// What the kiosk knows of the item goes under what the upstream sent:
/// the barcode always, the title and author from the cache when the
/// answer has none (a SIP2 ILS may send only a code).
pub(crate) fn enrich(
    store: &Store,
    item: &str,
    detail: serde_json::Value,
) -> Result<serde_json::Value, StoreError> {
    let mut obj = match detail {
        serde_json::Value::Object(o) => o,
        serde_json::Value::Null => serde_json::Map::new(),
        other => {
            let mut o = serde_json::Map::new();
            o.insert("upstream".into(), other);
            o
        }
    };
    obj.entry("item")
        .or_insert_with(|| serde_json::Value::String(item.to_string()));
    if !obj.get("title").is_some_and(|t| t.is_string()) {
        if let Some((title, author)) = store.item_title(item)? {
            obj.insert("title".into(), title.into());
            obj.entry("author").or_insert(author.into());
        }
    }
    Ok(serde_json::Value::Object(obj))
}

#[cfg(test)]
mod tests {
    use super::is_lossy;

    #[test]
    fn lossy_titles_are_the_catalogue_s_with_question_marks() {
        assert!(is_lossy("??", "三体"));
        assert!(is_lossy("??????", "三体"), "one '?' per byte");
        assert!(is_lossy("?", "三体"));
        assert!(is_lossy("Les Mis?rables", "Les Misérables"));
        assert!(is_lossy("?? (Three-Body)", "三体 (Three-Body)"));
        assert!(is_lossy("?a?", "三a体"));
        assert!(is_lossy("\u{FFFD}\u{FFFD}", "三体"));
        assert!(is_lossy(" ?? ", "三体"), "padding");
        // Not lossy: the same, another title, '?' for an ASCII letter,
        // nothing to compare with.
        assert!(!is_lossy("三体", "三体"));
        assert!(!is_lossy("Moby Dick", "三体"));
        assert!(!is_lossy("Les Mis?rables", "Les Miserables"));
        assert!(!is_lossy("Who?", "Who?"));
        assert!(!is_lossy("?? 2", "三体"));
        assert!(!is_lossy("??", ""));
        assert!(!is_lossy("Les Misérables, 2nd ed.", "Les Misérables"));
    }
}
