//! Text shaping for the paper: what the printer can print in each mode,
//! display widths (CJK counts two columns), wrapping, right-aligned pairs,
//! and the CODE128 payload of a barcode. Pure functions, no bytes on a line.

use encoding_rs::GB18030;

use crate::domain::Lang;
// ----------------------------------------------------------- text shaping

/// The text as the printer will get it. In Chinese mode every character
/// GB18030 encodes in one or two bytes is kept (plus CJK Extension A, which
/// GB18030 printers carry although it takes four bytes); in English only
/// printable ASCII, with typographic quotes, dashes and spaces folded to
/// their ASCII look-alikes. Anything else becomes `?`. Control characters
/// never reach the printer, so a title cannot smuggle in a command.
pub(super) fn shape(text: &str, lang: Lang) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push('\n'),
            '\t' => out.push(' '),
            '\r' => {}
            // Invisible: soft hyphen, zero-width and format characters,
            // combining accents (the base letter is printed on its own).
            '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{2060}' | '\u{FEFF}' => {}
            '\u{0300}'..='\u{036F}' => {}
            c if c.is_control() => out.push('?'),
            c if c.is_ascii() => out.push(c),
            c => match lang {
                Lang::ZhCn if printable_in_chinese_mode(c) => out.push(c),
                Lang::ZhCn => out.push('?'),
                Lang::En => fold_to_ascii(c, &mut out),
            },
        }
    }
    out
}

pub(super) fn printable_in_chinese_mode(c: char) -> bool {
    let mut buf = [0u8; 4];
    let (bytes, _, _) = GB18030.encode(c.encode_utf8(&mut buf));
    bytes.len() <= 2 || ('\u{3400}'..='\u{4DBF}').contains(&c)
}

pub(super) fn fold_to_ascii(c: char, out: &mut String) {
    match c {
        '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' | '\u{00B4}' => {
            out.push('\'')
        }
        '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{2033}' | '\u{00AB}' | '\u{00BB}' => {
            out.push('"')
        }
        '\u{2010}'..='\u{2015}' | '\u{2212}' => out.push('-'),
        '\u{2026}' => out.push_str("..."),
        '\u{00A0}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}' => {
            out.push(' ')
        }
        '\u{00D7}' => out.push('x'),
        _ => out.push('?'),
    }
}

/// Columns a shaped character takes: after `shape`, anything outside ASCII
/// is a double-byte character in Chinese mode, which the printer draws in
/// its full-width (Kanji) font, two columns wide.
pub(super) fn columns(c: char) -> usize {
    if c.is_ascii() {
        1
    } else {
        2
    }
}

pub(super) fn width_of(text: &str) -> usize {
    text.chars().map(columns).sum()
}

enum Token<'a> {
    Spaces(usize),
    Word(&'a str),
}

/// Runs of ASCII non-spaces are words; each wide character is a word of its
/// own, since Chinese may break between any two characters.
fn tokens(text: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut word_start = None;
    for (i, c) in text.char_indices() {
        if c != ' ' && c.is_ascii() {
            word_start.get_or_insert(i);
            continue;
        }
        if let Some(start) = word_start.take() {
            out.push(Token::Word(&text[start..i]));
        }
        if c == ' ' {
            match out.last_mut() {
                Some(Token::Spaces(n)) => *n += 1,
                _ => out.push(Token::Spaces(1)),
            }
        } else {
            out.push(Token::Word(&text[i..i + c.len_utf8()]));
        }
    }
    if let Some(start) = word_start {
        out.push(Token::Word(&text[start..]));
    }
    out
}

/// Greedy word wrap by display columns. Spaces at a break are dropped (an
/// indent at the start of a paragraph is kept); a word wider than the paper
/// is split between characters. Always at least one row per paragraph.
pub(super) fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut rows = Vec::new();
    for paragraph in text.split('\n') {
        let mut row = String::new();
        let mut used = 0;
        let mut first_row = true;
        let mut spaces = 0;
        for token in tokens(paragraph) {
            let word = match token {
                Token::Spaces(n) => {
                    spaces += n;
                    continue;
                }
                Token::Word(word) => word,
            };
            let w = width_of(word);
            let gap = if row.is_empty() && !first_row {
                0
            } else {
                spaces
            };
            spaces = 0;
            if used + gap + w <= width {
                row.extend(std::iter::repeat_n(' ', gap));
                row.push_str(word);
                used += gap + w;
                continue;
            }
            if !row.is_empty() {
                rows.push(std::mem::take(&mut row));
                used = 0;
            }
            first_row = false;
            if w <= width {
                row.push_str(word);
                used = w;
                continue;
            }
            for c in word.chars() {
                let cw = columns(c);
                if used + cw > width && !row.is_empty() {
                    rows.push(std::mem::take(&mut row));
                    used = 0;
                }
                row.push(c);
                used += cw;
            }
        }
        rows.push(row);
    }
    rows
}

pub(super) fn right_aligned(text: &str, width: usize) -> Vec<String> {
    wrap(text, width)
        .into_iter()
        .map(|row| {
            let pad = width.saturating_sub(width_of(&row));
            format!("{}{row}", " ".repeat(pad))
        })
        .collect()
}

/// Rows for a `Line::Pair` (both sides already shaped, one line each).
pub(super) fn pair(left: &str, right: &str, width: usize) -> Vec<String> {
    if right.is_empty() {
        return wrap(left, width);
    }
    if left.is_empty() {
        return right_aligned(right, width);
    }
    let (lw, rw) = (width_of(left), width_of(right));
    if lw + 1 + rw <= width {
        return vec![format!("{left}{}{right}", " ".repeat(width - lw - rw))];
    }
    let mut rows = wrap(left, width);
    let last_w = rows.last().map_or(0, |r| width_of(r));
    match rows.last_mut() {
        Some(last) if last_w + 1 + rw <= width => {
            last.push_str(&" ".repeat(width - last_w - rw));
            last.push_str(right);
        }
        _ => rows.extend(right_aligned(right, width)),
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::printer::test_support::*;
    use crate::devices::printer::{render, Line, Receipt, SimPrinter};

    #[test]
    fn pair_padding_counts_cjk_as_two_columns() {
        assert_eq!(pair("到期日", "2026-12-07", 20), ["到期日    2026-12-07"]);
        assert_eq!(pair("Due", "2026-12-07", 20), ["Due       2026-12-07"]);
        // Mixed: "ISBN号" is 4 + 2 columns.
        assert_eq!(pair("ISBN号", "12", 10), ["ISBN号  12"]);
        for row in pair("三体：地球往事", "2026-12-07", 32) {
            assert_eq!(width_of(&row), 32, "{row}");
        }
    }

    #[test]
    fn long_pairs_wrap_and_keep_the_value_right_aligned() {
        // The title wraps; the due date fits on its last row.
        assert_eq!(
            pair("The Name of the Rose", "12-07", 16),
            ["The Name of the", "Rose       12-07"]
        );
        // No room on the last row: the date goes under it, right-aligned.
        assert_eq!(
            pair("三体地球往事三体", "2026-12-07", 16),
            ["三体地球往事三体", "      2026-12-07"]
        );
        assert_eq!(pair("", "right", 8), ["   right"]);
        assert_eq!(pair("left", "", 8), ["left"]);
    }

    #[test]
    fn text_wraps_at_spaces_and_between_chinese_characters() {
        assert_eq!(wrap("one two three", 7), ["one two", "three"]);
        assert_eq!(
            wrap("中文可以在任意字之间换行", 8),
            ["中文可以", "在任意字", "之间换行"]
        );
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("a\nb", 4), ["a", "b"]);
        assert_eq!(wrap("  indented", 20), ["  indented"]);
        assert_eq!(wrap("", 4), [""]);
        // A wide character on paper narrower than itself still prints.
        assert_eq!(wrap("中文", 1), ["中", "文"]);
    }

    #[test]
    fn text_is_made_safe_for_the_printer() {
        assert_eq!(
            shape("Philosopher’s Stone — “Vol. 1”…", Lang::En),
            "Philosopher's Stone - \"Vol. 1\"..."
        );
        assert_eq!(shape("Café 三体 😀", Lang::En), "Caf? ?? ?");
        // Decomposed accents lose the accent rather than gaining a '?'.
        assert_eq!(shape("Cafe\u{301}", Lang::En), "Cafe");
        assert_eq!(shape("三体 😀 㐀 é", Lang::ZhCn), "三体 ? 㐀 é");
        // A control character in a title cannot become a command.
        assert_eq!(shape("a\u{1B}@b\tc\r", Lang::En), "a?@b c");
        let bytes = render(
            &Receipt {
                lines: vec![Line::Text("x\u{1B}i\u{1D}V\u{0}y".into())],
            },
            Lang::En,
            32,
        );
        let sim = print_on(SimPrinter::new(), &bytes);
        assert_eq!(non_empty(&sim), ["x?i?V?y"]);
        assert_eq!(sim.cuts(), 1);
    }
}
