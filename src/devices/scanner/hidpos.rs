//! HID-POS scanners (HID usage page 0x8C): not keyboards, so their codes
//! never reach a window, and hidapi opens them on every OS. Each vendor lays
//! the code out in its input report differently; [`HidPosLayout`] says where
//! it is. Long codes split over several reports are not joined (the
//! library codes the kiosk reads fit in one 64-byte report).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{code_from_bytes, Noise, ScannerError};

/// The HID usage page of point-of-sale barcode scanners.
pub const HID_POS_USAGE_PAGE: u16 = 0x8C;

/// Where the code sits in a vendor's HID-POS input report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HidPosLayout {
    /// The first byte when the device numbers its reports; reports with
    /// another id (status, other interfaces) are noise.
    pub report_id: Option<u8>,
    /// Byte holding the code's length (counted from `data_offset`); without
    /// one the code runs to the end of the report or its first NUL.
    pub length_index: Option<usize>,
    /// First byte of the code.
    pub data_offset: usize,
    /// Longest code accepted, in bytes.
    pub max_len: usize,
}

impl HidPosLayout {
    /// The common layout: report id 0x02, length at byte 1, code from 2.
    pub const REPORT_2_LENGTH_1: HidPosLayout = HidPosLayout {
        report_id: Some(0x02),
        length_index: Some(1),
        data_offset: 2,
        max_len: 64,
    };

    /// Decodes one input report into a code, cleaned like every other
    /// scanner's (suffix CR/LF, Codabar start/stop). Never panics.
    pub fn decode(&self, report: &[u8]) -> Result<String, Noise> {
        let len = report.len();
        if let Some(expected) = self.report_id {
            let got = report.first().copied();
            if got != Some(expected) {
                return Err(Noise::WrongReportId { expected, got });
            }
        }
        let data = match self.length_index {
            Some(at) => {
                let Some(&n) = report.get(at) else {
                    return Err(Noise::ShortReport {
                        len,
                        needed: at.saturating_add(1),
                    });
                };
                let end = self.data_offset.saturating_add(usize::from(n));
                match report.get(self.data_offset..end) {
                    Some(data) => data,
                    None => return Err(Noise::ShortReport { len, needed: end }),
                }
            }
            None => {
                let Some(rest) = report.get(self.data_offset..) else {
                    return Err(Noise::ShortReport {
                        len,
                        needed: self.data_offset,
                    });
                };
                let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
                &rest[..end]
            }
        };
        // Some scanners keep their keyboard suffix in HID-POS mode too.
        let data = trim_line_end(data);
        if data.len() > self.max_len {
            return Err(Noise::TooLong {
                len: data.len(),
                max: self.max_len,
            });
        }
        code_from_bytes(data)
    }
}

fn trim_line_end(mut data: &[u8]) -> &[u8] {
    while let [rest @ .., b'\r' | b'\n'] = data {
        data = rest;
    }
    data
}

/// One HID device, as `kiosk doctor` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HidInfo {
    pub vid: u16,
    pub pid: u16,
    pub usage_page: u16,
    pub usage: u16,
    pub product: Option<String>,
    pub manufacturer: Option<String>,
    pub path: String,
}

impl HidInfo {
    /// Whether this is a HID-POS scanner interface.
    pub fn is_hid_pos(&self) -> bool {
        self.usage_page == HID_POS_USAGE_PAGE
    }
}

/// Every HID interface hidapi can see, HID-POS scanners first. Empty (and
/// a warning logged) if HID devices cannot be listed at all.
pub fn list_hid() -> Vec<HidInfo> {
    let api = match hidapi::HidApi::new() {
        Ok(api) => api,
        Err(e) => {
            tracing::warn!(error = %e, "cannot list HID devices");
            return Vec::new();
        }
    };
    let mut list: Vec<HidInfo> = api
        .device_list()
        .map(|d| HidInfo {
            vid: d.vendor_id(),
            pid: d.product_id(),
            usage_page: d.usage_page(),
            usage: d.usage(),
            product: d.product_string().map(str::to_string),
            manufacturer: d.manufacturer_string().map(str::to_string),
            path: d.path().to_string_lossy().into_owned(),
        })
        .collect();
    list.sort_by_key(|d| (!d.is_hid_pos(), d.vid, d.pid, d.path.clone()));
    list
}

/// Opens the HID-POS interface (usage page 0x8C) of scanner `vid:pid`; a
/// scanner also offering a keyboard interface is not opened by that one.
pub fn open_hidpos(vid: u16, pid: u16) -> Result<hidapi::HidDevice, ScannerError> {
    let api = hidapi::HidApi::new()?;
    let info = api
        .device_list()
        .find(|d| {
            d.vendor_id() == vid && d.product_id() == pid && d.usage_page() == HID_POS_USAGE_PAGE
        })
        .ok_or(ScannerError::HidPosNotFound { vid, pid })?;
    Ok(api.open_path(info.path())?)
}

/// A HID-POS scanner and its report layout.
pub struct HidPosScanner {
    device: hidapi::HidDevice,
    layout: HidPosLayout,
}

impl HidPosScanner {
    pub fn new(device: hidapi::HidDevice, layout: HidPosLayout) -> HidPosScanner {
        HidPosScanner { device, layout }
    }

    /// Waits up to `timeout` for one report; `None` if none came.
    pub fn poll(
        &mut self,
        timeout: Duration,
    ) -> Result<Option<Result<String, Noise>>, ScannerError> {
        // Full-speed reports are at most 64 bytes; room for larger ones.
        let mut buf = [0u8; 256];
        let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        let n = self.device.read_timeout(&mut buf, ms)?;
        if n == 0 {
            return Ok(None);
        }
        let result = self.layout.decode(&buf[..n.min(buf.len())]);
        if let Err(noise) = &result {
            tracing::debug!(device = "hidpos", noise = noise.code(), %noise, "scanner noise");
        }
        Ok(Some(result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PATRON: &str = "21234567890124";

    /// A 64-byte report: `head`, then `data`, zero padded.
    fn report(head: &[u8], data: &[u8]) -> Vec<u8> {
        let mut r = head.to_vec();
        r.extend_from_slice(data);
        r.resize(64, 0);
        r
    }

    #[test]
    fn common_layout_report_2_length_at_1() {
        let layout = HidPosLayout::REPORT_2_LENGTH_1;
        let r = report(&[0x02, 14], PATRON.as_bytes());
        assert_eq!(layout.decode(&r), Ok(PATRON.to_string()));
        // The length, not the padding, ends the code.
        let r = report(&[0x02, 4], b"3123XYZ");
        assert_eq!(layout.decode(&r), Ok("3123".to_string()));
        // Codabar start/stop and a CR suffix are cleaned off.
        let r = report(&[0x02, 17], b"A21234567890124B\r");
        assert_eq!(layout.decode(&r), Ok(PATRON.to_string()));
    }

    #[test]
    fn layout_with_aim_symbology_id_before_the_data() {
        // Report id 2, length at 1, a 3-byte AIM id (`]F0` Codabar), data.
        let layout = HidPosLayout {
            report_id: Some(0x02),
            length_index: Some(1),
            data_offset: 5,
            max_len: 56,
        };
        let r = report(&[0x02, 14, b']', b'F', b'0'], PATRON.as_bytes());
        assert_eq!(layout.decode(&r), Ok(PATRON.to_string()));
    }

    #[test]
    fn layout_without_report_id_or_length_runs_to_nul() {
        let layout = HidPosLayout {
            report_id: None,
            length_index: None,
            data_offset: 0,
            max_len: 64,
        };
        assert_eq!(
            layout.decode(&report(&[], b"9780306406157")),
            Ok("9780306406157".to_string())
        );
        // Or to the end of a short, unpadded report.
        assert_eq!(layout.decode(b"3123"), Ok("3123".to_string()));
        assert_eq!(layout.decode(&[0; 64]), Err(Noise::Empty));
    }

    #[test]
    fn layout_report_id_4_data_from_1() {
        let layout = HidPosLayout {
            report_id: Some(0x04),
            length_index: None,
            data_offset: 1,
            max_len: 64,
        };
        assert_eq!(
            layout.decode(&report(&[0x04], b"0-306-40615-2")),
            Ok("0306406152".to_string())
        );
    }

    #[test]
    fn bad_reports_are_noise() {
        let layout = HidPosLayout::REPORT_2_LENGTH_1;
        assert_eq!(
            layout.decode(&report(&[0x01, 2], b"12")),
            Err(Noise::WrongReportId {
                expected: 2,
                got: Some(1)
            })
        );
        assert_eq!(
            layout.decode(&[]),
            Err(Noise::WrongReportId {
                expected: 2,
                got: None
            })
        );
        assert_eq!(
            layout.decode(&[0x02]),
            Err(Noise::ShortReport { len: 1, needed: 2 })
        );
        assert_eq!(
            layout.decode(&[0x02, 10, b'1']),
            Err(Noise::ShortReport { len: 3, needed: 12 })
        );
        assert_eq!(
            layout.decode(&report(&[0x02, 3], b"1\x002")),
            Err(Noise::NonPrintable { byte: 0, at: 1 })
        );
        assert_eq!(layout.decode(&report(&[0x02, 0], b"")), Err(Noise::Empty));
        let short = HidPosLayout {
            max_len: 4,
            ..HidPosLayout::REPORT_2_LENGTH_1
        };
        assert_eq!(
            short.decode(&report(&[0x02, 5], b"12345")),
            Err(Noise::TooLong { len: 5, max: 4 })
        );
        let far = HidPosLayout {
            report_id: None,
            length_index: None,
            data_offset: 100,
            max_len: 4,
        };
        assert_eq!(
            far.decode(&[0; 64]),
            Err(Noise::ShortReport {
                len: 64,
                needed: 100
            })
        );
    }

    #[test]
    fn layout_reads_from_config() {
        let layout: HidPosLayout = serde_json::from_str(
            r#"{"report_id": 2, "length_index": 1, "data_offset": 2, "max_len": 64}"#,
        )
        .unwrap();
        assert_eq!(layout, HidPosLayout::REPORT_2_LENGTH_1);
    }

    proptest! {
        #[test]
        fn decode_never_panics(
            report in prop::collection::vec(any::<u8>(), 0..80),
            report_id in prop::option::of(any::<u8>()),
            length_index in prop::option::of(0usize..100),
            data_offset in prop_oneof![0usize..100, Just(usize::MAX)],
            max_len in 0usize..80,
        ) {
            let layout = HidPosLayout { report_id, length_index, data_offset, max_len };
            if let Ok(code) = layout.decode(&report) {
                prop_assert!(!code.is_empty() && code.len() <= max_len);
            }
        }

        #[test]
        fn common_layout_round_trips(code in "[0-9A-Z$./+-]{1,62}") {
            let r = report(&[0x02, code.len() as u8], code.as_bytes());
            prop_assert_eq!(
                HidPosLayout::REPORT_2_LENGTH_1.decode(&r),
                Ok(crate::domain::barcode::normalize(&code))
            );
        }
    }
}
