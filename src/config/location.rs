//! Where a key is: key paths such as `policy.rules[1].loan_days`, and the
//! 1-based line of a key in the TOML text it came from. Used by `kiosk.toml`
//! and by kiosk-central's `central.toml`, so both point at lines the same
//! way.
//!
//! May use: no other room; in this room, `error` (the syntax error it
//! reports).

use super::error::ConfigError;
use std::path::Path;

/// The text of a configuration file; a missing or unreadable file is an
/// error naming it.
pub(crate) fn read_text(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            ConfigError::NotFound {
                file: path.to_path_buf(),
            }
        } else {
            ConfigError::Io {
                file: path.to_path_buf(),
                source,
            }
        }
    })
}

/// A TOML syntax error at its line.
pub(crate) fn syntax_error(file: &Path, text: &str, e: &toml_edit::TomlError) -> ConfigError {
    ConfigError::Syntax {
        file: file.to_path_buf(),
        line: e.span().map_or(1, |s| line_of(text, s.start)),
        message: one_line(e.message()),
    }
}

/// Parser messages may span lines; ours must stay one line for logs.
pub(crate) fn one_line(message: &str) -> String {
    let lines: Vec<&str> = message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines.join("; ")
}

/// The 1-based line of a byte offset.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// One step of a key path: a table key or an entry number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

pub(crate) type KeyPath = Vec<Seg>;

/// Builds a path from internal literals such as `policy.rules[1].loan_days`
/// (all bare keys, so no quoting to handle).
pub(crate) fn keypath(text: &str) -> KeyPath {
    let mut path = Vec::new();
    for part in text.split('.') {
        let (name, rest) = part.split_once('[').unwrap_or((part, ""));
        path.push(Seg::Key(name.to_string()));
        for index in rest.split('[') {
            if let Ok(i) = index.trim_end_matches(']').parse() {
                path.push(Seg::Index(i));
            }
        }
    }
    path
}

/// A path as written in messages: `policy.rules[1].loan_days`, keys that
/// are not bare in quotes.
pub(crate) fn path_text(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                let bare = !k.is_empty()
                    && k.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                if bare {
                    out.push_str(k);
                } else {
                    out.push_str(&format!("{k:?}"));
                }
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// The path serde_path_to_error recorded, as ours.
pub(crate) fn from_serde_path(path: &serde_path_to_error::Path) -> KeyPath {
    use serde_path_to_error::Segment;
    path.iter()
        .filter_map(|seg| match seg {
            Segment::Seq { index } => Some(Seg::Index(*index)),
            Segment::Map { key } => Some(Seg::Key(key.clone())),
            Segment::Enum { variant } => Some(Seg::Key(variant.clone())),
            Segment::Unknown => None,
        })
        .collect()
}

/// A configuration file's text, parsed so that keys can be found in it.
pub(crate) struct Source<'a> {
    pub(crate) file: &'a Path,
    text: &'a str,
    doc: toml_edit::ImDocument<&'a str>,
}

impl<'a> Source<'a> {
    /// Parses `text`; a syntax error is reported with its line.
    pub(crate) fn parse(text: &'a str, file: &'a Path) -> Result<Source<'a>, ConfigError> {
        let doc = toml_edit::ImDocument::parse(text).map_err(|e| syntax_error(file, text, &e))?;
        Ok(Source { file, text, doc })
    }

    /// The line of `path`, or of the deepest part of it the file has.
    pub(crate) fn line(&self, path: &[Seg]) -> Option<usize> {
        self.locate(path).1
    }

    /// How many segments of `path` exist in the document, and the line of
    /// the deepest one found.
    pub(crate) fn locate(&self, path: &[Seg]) -> (usize, Option<usize>) {
        use toml_edit::{Item, Value};
        enum Node<'a> {
            Table(&'a toml_edit::Table),
            Inline(&'a toml_edit::InlineTable),
            Array(&'a toml_edit::Array),
            Tables(&'a toml_edit::ArrayOfTables),
            Leaf,
        }
        fn of_value(v: &Value) -> Node<'_> {
            match v {
                Value::InlineTable(t) => Node::Inline(t),
                Value::Array(a) => Node::Array(a),
                _ => Node::Leaf,
            }
        }
        fn of_item(item: &Item) -> Node<'_> {
            match item {
                Item::Table(t) => Node::Table(t),
                Item::ArrayOfTables(a) => Node::Tables(a),
                Item::Value(v) => of_value(v),
                Item::None => Node::Leaf,
            }
        }
        let mut node = Node::Table(self.doc.as_table());
        let mut line = None;
        for (depth, seg) in path.iter().enumerate() {
            let step = match (&node, seg) {
                (Node::Table(t), Seg::Key(k)) => t
                    .get_key_value(k)
                    .map(|(key, item)| (key.span().or_else(|| item.span()), of_item(item))),
                (Node::Inline(t), Seg::Key(k)) => t
                    .get_key_value(k)
                    .map(|(key, item)| (key.span().or_else(|| item.span()), of_item(item))),
                (Node::Tables(a), Seg::Index(i)) => a.get(*i).map(|t| (t.span(), Node::Table(t))),
                (Node::Array(a), Seg::Index(i)) => a.get(*i).map(|v| (v.span(), of_value(v))),
                _ => None,
            };
            match step {
                Some((span, next)) => {
                    if let Some(span) = span {
                        line = Some(line_of(self.text, span.start));
                    }
                    node = next;
                }
                None => return (depth, line),
            }
        }
        (path.len(), line)
    }
}
