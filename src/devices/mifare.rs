//! MIFARE patron cards: a card's UID becomes the patron barcode the
//! library uses (`[[devices]] card_map`, `card_prefix`), and, with the
//! `mifare` cargo feature on Linux, an MFRC522 on SPI (`mfrc522` crate)
//! reports cards as they are presented. Only the UID is read: the kiosk
//! never reads or writes card memory.

use crate::config::CardMap;
use std::time::{Duration, Instant};

/// The patron barcode for a card UID.
pub fn map_uid(uid: &[u8], map: CardMap, prefix: &str) -> String {
    let hex = |bytes: &mut dyn Iterator<Item = &u8>| -> String {
        bytes.map(|b| format!("{b:02X}")).collect()
    };
    // Up to 10-byte UIDs (triple size) fit in a u128.
    let number = |bytes: &mut dyn Iterator<Item = &u8>| -> String {
        bytes.fold(0u128, |n, &b| (n << 8) | b as u128).to_string()
    };
    let mapped = match map {
        CardMap::Hex => hex(&mut uid.iter()),
        CardMap::HexReversed => hex(&mut uid.iter().rev()),
        CardMap::Decimal => number(&mut uid.iter().rev()),
        CardMap::DecimalBigEndian => number(&mut uid.iter()),
    };
    format!("{prefix}{mapped}")
}

/// Reports a card once when it is presented, not again while it stays on
/// the reader; a card counts as gone after `gone_after` without a read.
#[derive(Debug)]
pub struct CardPresence {
    current: Option<(Vec<u8>, Instant)>,
    gone_after: Duration,
}

impl CardPresence {
    pub fn new(gone_after: Duration) -> CardPresence {
        CardPresence {
            current: None,
            gone_after,
        }
    }

    /// A read at `at`: `Some(uid)` when `uid` is newly presented.
    pub fn seen(&mut self, uid: &[u8], at: Instant) -> bool {
        let new = match &self.current {
            Some((u, last)) => u != uid || at.duration_since(*last) > self.gone_after,
            None => true,
        };
        self.current = Some((uid.to_vec(), at));
        new
    }

    /// A poll with no card at `at`.
    pub fn empty(&mut self, at: Instant) {
        if let Some((_, last)) = &self.current {
            if at.duration_since(*last) > self.gone_after {
                self.current = None;
            }
        }
    }
}

/// The MFRC522 over Linux spidev.
#[cfg(all(feature = "mifare", target_os = "linux"))]
pub mod mfrc522_spi {
    use linux_embedded_hal::SpidevDevice;
    use mfrc522::comm::blocking::spi::{DummyDelay, SpiInterface};
    use mfrc522::{Initialized, Mfrc522};

    pub struct CardReader {
        chip: Mfrc522<SpiInterface<SpidevDevice, DummyDelay>, Initialized>,
    }

    impl CardReader {
        /// Opens `/dev/spidevB.C`, initialises the chip and returns it with
        /// its version byte (0x91 or 0x92 on genuine parts).
        pub fn open(path: &str) -> Result<(CardReader, u8), String> {
            let mut spi = SpidevDevice::open(path).map_err(|e| format!("{path}: {e}"))?;
            let options = linux_embedded_hal::spidev::SpidevOptions::new()
                .max_speed_hz(1_000_000)
                .mode(linux_embedded_hal::spidev::SpiModeFlags::SPI_MODE_0)
                .build();
            spi.configure(&options)
                .map_err(|e| format!("{path}: {e}"))?;
            let chip = Mfrc522::new(SpiInterface::new(spi))
                .init()
                .map_err(|e| format!("{path}: MFRC522 init: {e:?}"))?;
            let mut reader = CardReader { chip };
            let version = reader
                .chip
                .version()
                .map_err(|e| format!("{path}: MFRC522 version: {e:?}"))?;
            Ok((reader, version))
        }

        /// The UID of a card on the reader, if any.
        pub fn poll(&mut self) -> Option<Vec<u8>> {
            let atqa = self.chip.reqa().ok()?;
            let uid = self.chip.select(&atqa).ok()?;
            let _ = self.chip.hlta();
            Some(uid.as_bytes().to_vec())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UID: [u8; 4] = [0x04, 0xA1, 0xB2, 0xC3];

    #[test]
    fn uid_maps_as_configured() {
        assert_eq!(map_uid(&UID, CardMap::Hex, ""), "04A1B2C3");
        assert_eq!(map_uid(&UID, CardMap::HexReversed, ""), "C3B2A104");
        // 0xC3B2A104 and 0x04A1B2C3 in decimal.
        assert_eq!(map_uid(&UID, CardMap::Decimal, ""), "3283263748");
        assert_eq!(map_uid(&UID, CardMap::DecimalBigEndian, ""), "77705923");
        assert_eq!(map_uid(&UID, CardMap::Hex, "M"), "M04A1B2C3");
        let seven = [0x04, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66];
        assert_eq!(map_uid(&seven, CardMap::Hex, ""), "04112233445566");
        assert_eq!(map_uid(&[], CardMap::Decimal, ""), "0");
    }

    #[test]
    fn a_card_left_on_the_reader_is_reported_once() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut p = CardPresence::new(Duration::from_millis(500));
        assert!(p.seen(&UID, ms(0)));
        assert!(!p.seen(&UID, ms(200)));
        assert!(!p.seen(&UID, ms(400)));
        // Taken away and presented again.
        p.empty(ms(1000));
        assert!(p.seen(&UID, ms(1100)));
        // Another card straight after.
        assert!(p.seen(&[1, 2, 3, 4], ms(1200)));
    }
}
