//! The receipt model: lines of already-translated text, and the loan slip
//! built from them. No layout, no bytes.

use serde::{Deserialize, Serialize};

/// A receipt as lines of already-translated text; `render` lays it out for
/// one paper width and one language.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub lines: Vec<Line>,
}

/// One element of a receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Line {
    /// Centred, bold, double height.
    Heading(String),
    /// Wrapped to the paper width; `\n` starts a new line.
    Text(String),
    /// A label on the left and its value on the right edge ("Due" ...
    /// "2026-12-07"). A label too long for one line wraps, and the value goes
    /// right-aligned on its last line or, if there is no room, under it.
    Pair(String, String),
    /// A row of `-` across the paper.
    Rule,
    /// An empty line.
    Blank,
    /// A centred CODE128 barcode with its text under it. Printable ASCII
    /// only (anything else is printed as text instead); keep it under about
    /// 14 characters on 58 mm paper so that it fits.
    Barcode(String),
}

/// The slip for one borrowing (or return, or renewal) session: the library's
/// name, when, one line per item with its due date or status, and a footer.
/// Every string comes translated from the caller.
pub fn loan_receipt(
    library: &str,
    when: &str,
    items: &[(String, String)],
    footer: &str,
) -> Receipt {
    let mut lines = vec![Line::Heading(library.to_owned())];
    if !when.is_empty() {
        lines.push(Line::Text(when.to_owned()));
    }
    lines.push(Line::Rule);
    for (title, due) in items {
        lines.push(Line::Pair(title.clone(), due.clone()));
    }
    lines.push(Line::Rule);
    if !footer.is_empty() {
        lines.push(Line::Text(footer.to_owned()));
    }
    Receipt { lines }
}
