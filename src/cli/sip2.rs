//! `kiosk sip2 …`: tools for looking at SIP2 traffic by hand. `checksum`
//! appends the `AY…AZ…` trailer to a message typed without one; `decode`
//! shows a captured line as JSON. Neither opens a connection.

use clap::Subcommand;
use serde_json::{json, Map, Value};

use crate::cli::CliError;
use crate::sync::sip2::charset::Charset;
use crate::sync::sip2::codec::{append_checksum, checksum, parse, Message};
use crate::sync::sip2::messages::{layout, AnyMessage};

#[derive(Subcommand, Debug)]
pub enum Sip2Cmd {
    /// Print MESSAGE with AY<seq>AZ<checksum> appended (only AZ for 96/97)
    Checksum {
        message: String,
        /// Sequence number 0-9 (the SC counts from 0 and wraps after 9)
        #[arg(long, default_value_t = 0)]
        seq: u8,
        /// Append only AZ<checksum>, no sequence number
        #[arg(long)]
        no_seq: bool,
        /// Character set the checksum is computed over: cp850, ascii or utf-8
        #[arg(long, default_value = "cp850")]
        charset: Charset,
    },
    /// Decode one message and print it as JSON (exit 1 on a bad checksum)
    Decode {
        line: String,
        /// LINE is hex bytes as captured (e.g. from a packet trace)
        #[arg(long)]
        hex: bool,
        /// Character set of the line: cp850, ascii or utf-8
        #[arg(long, default_value = "cp850")]
        charset: Charset,
    },
}

pub fn run(c: Sip2Cmd) -> Result<i32, CliError> {
    match c {
        Sip2Cmd::Checksum {
            message,
            seq,
            no_seq,
            charset,
        } => {
            let line = append_checksum(&message, (!no_seq).then_some(seq), charset)
                .map_err(|e| CliError::Usage(e.to_string()))?;
            println!("{line}");
            Ok(0)
        }
        Sip2Cmd::Decode { line, hex, charset } => {
            let bytes = if hex {
                parse_hex(&line).ok_or_else(|| CliError::Usage(format!("{line:?} is not hex")))?
            } else {
                charset
                    .encode(&line)
                    .map_err(|e| CliError::Usage(e.to_string()))?
            };
            let m = parse(&bytes, charset).map_err(|e| CliError::Usage(e.to_string()))?;
            let mut shown = describe(&m);
            if m.checksum_ok == Some(false) {
                // What the sender should have sent, for finding whose bug it is.
                let line = bytes.trim_ascii_end();
                let sum = checksum(&line[..line.len().saturating_sub(4)]);
                shown["checksum_expected"] = Value::from(format!("{sum:04X}"));
            }
            println!("{shown}");
            Ok(if m.checksum_ok == Some(false) { 1 } else { 0 })
        }
    }
}

/// A message as the `decode` tool shows it: code and name, fixed fields by
/// name, variable fields by id and name in wire order, trailer. When the
/// fixed fields cannot be typed, `error` says why.
pub fn describe(m: &Message) -> Value {
    let l = layout(&m.code);
    let fixed = match l.and_then(|l| l.split_fixed(&m.fixed)) {
        Some(pieces) => Value::Object(
            pieces
                .into_iter()
                .map(|(name, text)| (name.to_string(), Value::from(text)))
                .collect::<Map<_, _>>(),
        ),
        None => Value::from(m.fixed.as_str()),
    };
    let fields: Vec<Value> = m
        .fields
        .iter()
        .map(|f| json!({"id": f.id, "name": f.id.name(), "value": f.value}))
        .collect();
    let mut out = json!({
        "code": m.code,
        "name": l.map(|l| l.name),
        "fixed": fixed,
        "fields": fields,
        "seq": m.seq,
        "checksum_ok": m.checksum_ok,
    });
    if m.last_unterminated {
        out["last_unterminated"] = Value::Bool(true);
    }
    if let Err(e) = AnyMessage::from_message(m) {
        out["error"] = Value::from(e.to_string());
    }
    out
}

/// Hex digits, spaces allowed between bytes.
fn parse_hex(text: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if digits.len() % 2 != 0 {
        return None;
    }
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_input() {
        assert_eq!(parse_hex("39 34 31"), Some(b"941".to_vec()));
        assert_eq!(parse_hex("394"), None);
        assert_eq!(parse_hex("zz"), None);
    }

    #[test]
    fn describe_names_fixed_and_variable_fields() {
        let m = parse(b"941AY0AZFDFD", Charset::Ascii).unwrap();
        let v = describe(&m);
        assert_eq!(v["name"], "Login Response");
        assert_eq!(v["fixed"]["ok"], "1");
        assert_eq!(v["seq"], 0);
        assert_eq!(v["checksum_ok"], true);
    }
}
