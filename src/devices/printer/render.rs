//! The receipt as ESC/POS bytes (Chinese as GB18030 in Chinese mode,
//! English as plain ASCII) through the escpos crate on an in-memory driver,
//! and as plain text. Also the ESC/POS control bytes the simulator and the
//! status request share. Sans-IO: the bytes are returned, never sent.

use std::cell::RefCell;
use std::rc::Rc;

use encoding_rs::GB18030;
use escpos::driver::Driver;
use escpos::printer::Printer;
use escpos::utils::{Encoder, JustifyMode, Protocol};

use crate::domain::Lang;

use super::layout::*;
use super::receipt::{Line, Receipt};
pub(super) const DLE: u8 = 0x10;
pub(super) const EOT: u8 = 0x04;
pub(super) const LF: u8 = 0x0A;
pub(super) const ESC: u8 = 0x1B;
pub(super) const FS: u8 = 0x1C;
pub(super) const GS: u8 = 0x1D;

/// FS & : Chinese mode on; from here bytes from 0x81 up start GB18030 characters.
pub(super) const CHINESE_ON: [u8; 2] = [FS, b'&'];
/// FS . : Chinese mode off; bytes from 0x80 up are single code-page characters.
pub(super) const CHINESE_OFF: [u8; 2] = [FS, b'.'];
/// GS V 1: partial cut where the paper stands (function A).
pub(super) const PARTIAL_CUT: [u8; 3] = [GS, b'V', 1];
/// Lines fed after the last text so that it clears the cutter.
pub(super) const FEED_BEFORE_CUT: u8 = 4;

// -------------------------------------------------------------- rendering

/// GS H / GS h / GS w / GS k 73 for a CODE128 symbol in code set B, or None
/// if the data cannot be one (empty, not printable ASCII, too long). The
/// escpos crate's barcode API sits behind its `barcodes` feature, which this
/// crate does not enable, so the bytes are written here.
fn code128(data: &str) -> Option<Vec<u8>> {
    if data.is_empty() || !data.bytes().all(|b| (0x20..0x7F).contains(&b)) {
        return None;
    }
    let mut symbol = b"{B".to_vec();
    for b in data.bytes() {
        // In GS k 73 data `{` starts a code-set switch; a literal one is `{{`.
        if b == b'{' {
            symbol.push(b'{');
        }
        symbol.push(b);
    }
    let n = u8::try_from(symbol.len()).ok()?;
    let mut cmd = vec![GS, b'H', 2, GS, b'h', 80, GS, b'w', 2, GS, b'k', 73, n];
    cmd.extend(symbol);
    Some(cmd)
}

/// An escpos driver that keeps the bytes in memory, so that `render` stays
/// free of IO and the result can be sent, simulated or compared.
#[derive(Clone, Default)]
struct Spool(Rc<RefCell<Vec<u8>>>);

impl Driver for Spool {
    fn name(&self) -> String {
        "memory".to_owned()
    }
    fn write(&self, data: &[u8]) -> escpos::errors::Result<()> {
        self.0.borrow_mut().extend_from_slice(data);
        Ok(())
    }
    fn read(&self, _buf: &mut [u8]) -> escpos::errors::Result<usize> {
        Ok(0)
    }
    fn flush(&self) -> escpos::errors::Result<()> {
        Ok(())
    }
}

/// A receipt as plain text (an e-mailed receipt): one line per element,
/// a label and its value joined by " — ", rules as dashes, barcodes as
/// their text.
pub fn plain_text(receipt: &Receipt) -> String {
    let mut out = String::new();
    for line in &receipt.lines {
        match line {
            Line::Heading(t) | Line::Text(t) | Line::Barcode(t) => out.push_str(t),
            Line::Pair(label, value) => {
                out.push_str(label);
                out.push_str(" — ");
                out.push_str(value);
            }
            Line::Rule => out.push_str(&"-".repeat(32)),
            Line::Blank => {}
        }
        out.push('\n');
    }
    out
}

/// The ESC/POS bytes for `receipt` on paper `width_chars` columns wide
/// (Font A: 48 on 80 mm paper, 32 on 58 mm): ESC @, Chinese mode on (zh) or
/// off (en, as many printers power up in it), the lines, a feed of four
/// lines and a partial cut.
pub fn render(receipt: &Receipt, lang: Lang, width_chars: usize) -> Vec<u8> {
    let spool = Spool::default();
    // Text goes through escpos's encoder as GB18030: in Chinese mode that is
    // what the printer reads, and in English `shape` has left only ASCII,
    // which GB18030 encodes as itself.
    let mut printer = Printer::new(spool.clone(), Protocol::new(Encoder::new(GB18030)), None);
    let composed = compose(&mut printer, receipt, lang, width_chars.max(1));
    // The spool only appends to memory and GB18030 encodes every character,
    // so there is nothing left for escpos to fail on.
    composed.expect("escpos failed to compose a receipt in memory");
    spool.0.take()
}

fn compose(
    p: &mut Printer<Spool>,
    receipt: &Receipt,
    lang: Lang,
    width: usize,
) -> escpos::errors::Result<()> {
    p.init()?;
    // escpos has no command for Chinese mode (FS & / FS .), so raw bytes.
    p.custom(match lang {
        Lang::ZhCn => &CHINESE_ON,
        Lang::En => &CHINESE_OFF,
    })?;
    for line in &receipt.lines {
        match line {
            Line::Heading(text) => {
                p.justify(JustifyMode::CENTER)?.bold(true)?.size(1, 2)?;
                for row in wrap(&shape(text, lang), width) {
                    p.writeln(&row)?;
                }
                p.reset_size()?.bold(false)?.justify(JustifyMode::LEFT)?;
            }
            Line::Text(text) => {
                for row in wrap(&shape(text, lang), width) {
                    p.writeln(&row)?;
                }
            }
            Line::Pair(left, right) => {
                let left = shape(left, lang).replace('\n', " ");
                let right = shape(right, lang).replace('\n', " ");
                for row in pair(&left, &right, width) {
                    p.writeln(&row)?;
                }
            }
            Line::Rule => {
                p.writeln(&"-".repeat(width))?;
            }
            Line::Blank => {
                p.feed()?;
            }
            Line::Barcode(data) => match code128(data) {
                Some(cmd) => {
                    p.justify(JustifyMode::CENTER)?
                        .custom(&cmd)?
                        .justify(JustifyMode::LEFT)?;
                }
                None => {
                    for row in wrap(&shape(data, lang), width) {
                        p.writeln(&row)?;
                    }
                }
            },
        }
    }
    p.feeds(FEED_BEFORE_CUT)?;
    // protocols.md §6 gives the cut as GS V 0/1 (function A); escpos's cut()
    // sends function B (GS V 'A' n) instead, so the cut is written raw, after
    // an explicit feed that brings the last line past the cutter.
    p.custom(&PARTIAL_CUT)?;
    p.print()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::printer::loan_receipt;
    use crate::devices::printer::test_support::*;
    use crate::devices::printer::{Align, Printed, SimPrinter};
    use proptest::prelude::*;

    #[test]
    fn plain_text_has_every_line_in_order() {
        let r = loan_receipt(
            "Demo Library",
            "2026-11-23 10:00",
            &[("三体".into(), "due 2026-12-07".into())],
            "Thank you!",
        );
        let t = plain_text(&r);
        assert_eq!(
            t.lines().collect::<Vec<_>>(),
            [
                "Demo Library",
                "2026-11-23 10:00",
                &"-".repeat(32),
                "三体 — due 2026-12-07",
                &"-".repeat(32),
                "Thank you!",
            ]
        );
    }

    #[test]
    fn golden_english_receipt() {
        let expected: Vec<u8> = [
            &[0x1B, 0x40][..],       // ESC @ init
            &[0x1C, 0x2E],           // FS . leave Chinese mode
            &[0x1B, 0x61, 0x01],     // ESC a 1 centre
            &[0x1B, 0x45, 0x01],     // ESC E 1 bold
            &[0x1D, 0x21, 0x01],     // GS ! 01 double height
            b"Loan receipt",         //
            &[0x1B, 0x64, 0x01],     // ESC d 1 print and feed
            &[0x1D, 0x21, 0x00],     // GS ! 00 normal size
            &[0x1B, 0x45, 0x00],     // ESC E 0 bold off
            &[0x1B, 0x61, 0x00],     // ESC a 0 left
            b"Due       2026-12-07", // 3 + 7 spaces + 10 = 20 columns
            &[0x1B, 0x64, 0x01],
            b"--------------------",
            &[0x1B, 0x64, 0x01],
            b"Thank you",
            &[0x1B, 0x64, 0x01],
            &[0x1B, 0x64, 0x04], // ESC d 4 feed past the cutter
            &[0x1D, 0x56, 0x01], // GS V 1 partial cut
        ]
        .concat();
        assert_eq!(render(&en_receipt(), Lang::En, 20), expected);
    }

    #[test]
    fn golden_chinese_receipt() {
        let expected: Vec<u8> = [
            &[0x1B, 0x40][..],                                       // ESC @
            &[0x1C, 0x26],                                           // FS & Chinese mode
            &[0x1B, 0x61, 0x01, 0x1B, 0x45, 0x01, 0x1D, 0x21, 0x01], // centre, bold, tall
            &[0xBD, 0xE8, 0xCA, 0xE9, 0xC6, 0xBE, 0xCC, 0xF5],       // 借书凭条 in GB18030
            &[0x1B, 0x64, 0x01],
            &[0x1D, 0x21, 0x00, 0x1B, 0x45, 0x00, 0x1B, 0x61, 0x00],
            &[0xB5, 0xBD, 0xC6, 0xDA, 0xC8, 0xD5], // 到期日: 6 columns
            b"    2026-12-07",                     // 4 spaces + 10 = 20
            &[0x1B, 0x64, 0x01],
            &[0x1B, 0x64, 0x04, 0x1D, 0x56, 0x01],
        ]
        .concat();
        assert_eq!(render(&zh_receipt(), Lang::ZhCn, 20), expected);
    }

    #[test]
    fn chinese_receipt_round_trips_through_gb18030() {
        let sim = print_on(SimPrinter::new(), &render(&zh_receipt(), Lang::ZhCn, 20));
        assert_eq!(non_empty(&sim), ["借书凭条", "到期日    2026-12-07"]);
        let heading = sim.lines().next().unwrap();
        assert!(heading.bold);
        assert_eq!(heading.size, (1, 2));
        assert_eq!(heading.align, Align::Center);
        let pair = sim.lines().nth(1).unwrap();
        assert!(!pair.bold);
        assert_eq!(pair.size, (1, 1));
        assert_eq!(pair.align, Align::Left);
        assert_eq!(sim.cuts(), 1);
        assert_eq!(sim.printed().last(), Some(&Printed::Cut { partial: true }));
        assert_eq!(sim.unknown_commands(), 0);
        // Two text lines, then the four lines fed before the cut.
        assert_eq!(sim.texts().len(), 6);
    }

    #[test]
    fn english_receipt_prints_on_printers_starting_in_either_mode() {
        let bytes = render(&en_receipt(), Lang::En, 20);
        for chinese in [true, false] {
            let sim = print_on(SimPrinter::new().chinese_at_power_on(chinese), &bytes);
            assert!(!sim.in_chinese_mode());
            assert_eq!(
                non_empty(&sim),
                [
                    "Loan receipt",
                    "Due       2026-12-07",
                    "--------------------",
                    "Thank you"
                ]
            );
            assert_eq!(sim.cuts(), 1);
            assert!(!sim.bold());
        }
    }

    #[test]
    fn loan_receipt_lays_out_items_with_due_dates() {
        let receipt = loan_receipt(
            "市图书馆",
            "2026-11-16 14:05",
            &[
                ("三体".to_owned(), "到期 2026-12-07".to_owned()),
                (
                    "The Very Hungry Caterpillar".to_owned(),
                    "到期 2026-12-07".to_owned(),
                ),
            ],
            "谢谢，欢迎再来",
        );
        assert_eq!(receipt.lines.len(), 7);
        let sim = print_on(SimPrinter::new(), &render(&receipt, Lang::ZhCn, 32));
        assert_eq!(
            non_empty(&sim),
            [
                "市图书馆",
                "2026-11-16 14:05",
                "--------------------------------",
                "三体             到期 2026-12-07",
                "The Very Hungry Caterpillar",
                "                 到期 2026-12-07",
                "--------------------------------",
                "谢谢，欢迎再来",
            ]
        );
        assert!(sim.lines().next().unwrap().bold);
        assert_eq!(sim.cuts(), 1);
    }

    #[test]
    fn barcodes_round_trip_and_fall_back_to_text() {
        let receipt = Receipt {
            lines: vec![
                Line::Barcode("31234{567".into()),
                Line::Barcode("书123".into()),
            ],
        };
        let bytes = render(&receipt, Lang::ZhCn, 32);
        let sim = print_on(SimPrinter::new(), &bytes);
        assert_eq!(sim.printed()[0], Printed::Barcode("31234{567".into()));
        assert_eq!(non_empty(&sim), ["书123"]);
        assert_eq!(sim.unknown_commands(), 0);
    }

    fn any_line() -> impl Strategy<Value = Line> {
        let text = || any::<String>();
        prop_oneof![
            text().prop_map(Line::Heading),
            text().prop_map(Line::Text),
            (text(), text()).prop_map(|(l, r)| Line::Pair(l, r)),
            Just(Line::Rule),
            Just(Line::Blank),
            text().prop_map(Line::Barcode),
        ]
    }

    proptest! {
        #[test]
        fn rendered_lines_fit_the_paper(
            lines in proptest::collection::vec(any_line(), 0..8),
            width in 2usize..64,
            chinese in any::<bool>(),
        ) {
            let lang = if chinese { Lang::ZhCn } else { Lang::En };
            let bytes = render(&Receipt { lines }, lang, width);
            let sim = print_on(SimPrinter::new(), &bytes);
            for text in sim.texts() {
                prop_assert!(width_of(&text) <= width, "{text:?} wider than {width}");
            }
            prop_assert_eq!(sim.cuts(), 1);
            prop_assert_eq!(sim.unknown_commands(), 0);
        }

        #[test]
        fn chinese_text_round_trips(text in "[a-zA-Z0-9一-龥，。：？！]{0,40}") {
            let bytes = render(&Receipt { lines: vec![Line::Text(text.clone())] }, Lang::ZhCn, 200);
            let sim = print_on(SimPrinter::new(), &bytes);
            prop_assert_eq!(&sim.texts()[0], &text);
        }
    }
}
