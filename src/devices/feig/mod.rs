//! FEIG ISC / OBID readers (ID ISC.MR101, MR102, LR200, … in host mode):
//! the sans-IO frame codec, the typed ISO 15693 host commands a library
//! kiosk needs, the `ReaderFeig` driver (any `Read + Write` port) and
//! `SimFeig`, a byte-exact simulator built on the same codec.
//!
//! This room must never decide anything about loans, never trust a frame
//! whose CRC fails, and never sleep longer than the protocol's 5 ms
//! inter-frame gap (plus 1 ms polls while waiting for an answer).
//!
//! # Wire format
//!
//! 38400 baud, 8 data bits, **even parity**, 1 stop bit (the port is opened
//! elsewhere; see [`BAUD_RATE`]).
//!
//! ```text
//! standard ("short") frame:  LEN | COM-ADR | CMD | DATA… | CRC-LSB | CRC-MSB      LEN = total length ≤ 255
//! advanced ("long") frame:   02 | ALEN-MSB | ALEN-LSB | COM-ADR | CMD | DATA… | CRC-LSB | CRC-MSB
//! answers:                   … | CMD | STATUS | DATA… | CRC
//! ```
//!
//! CRC-16/MCRF4XX (reflected polynomial 0x8408, init 0xFFFF, no final xor;
//! check value 0x6F91) over every byte before the CRC, sent LSB first.
//! Example: inventory request `07 FF B0 01 00 1C 56`; the same in the
//! advanced form `02 00 09 FF B0 01 00 18 43`. COM-ADR `FF` is answered by
//! any reader; a reader answers with its own bus address (default 0).
//!
//! Commands used here (byte numbers in the manuals count the standard frame
//! from 1: request data start at byte 4, answer data at byte 5):
//!
//! | request | request data | answer data (STATUS 0x00) |
//! |---|---|---|
//! | `[0x65]` software version | – | SW-REV (2) · D-REV · HW-TYPE · SW-TYPE · TR-TYPE (2) |
//! | `[0xB0]` `01` inventory | MODE (bit 7 = MORE) | DATA-SETS · n × (TR-TYPE · DSFID · UID 8) |
//! | `[0xB0]` `23` read multiple blocks | MODE · UID · DB-ADR · DB-N | DB-N · DB-SIZE · n × (SEC-STATUS · DB) |
//! | `[0xB0]` `24` write multiple blocks | MODE · UID · DB-ADR · DB-N · DB-SIZE · DB… | – (STATUS 0x03: DB-ADR-E) |
//! | `[0xB0]` `27` write AFI | MODE · UID · AFI | – |
//! | `[0xB0]` `28` lock AFI | MODE · UID | – |
//! | `[0xB0]` `2B` get system information | MODE · UID | DSFID · UID · AFI · MEM-SIZE (2) · IC-REF |
//! | `[0xB1]` `04` `A2`/`A3`/`A4`/`A5` NXP set / reset / lock EAS, EAS alarm | MFR · CMD · MODE · UID | – |
//!
//! MODE bits 2–0 select the addressing (`001` = addressed: the UID
//! follows); bit 3 of the read MODE asks for real SEC-STATUS bytes. STATUS
//! 0x95 carries one data byte, the ISO 15693 error code of the tag.
//!
//! # Sources (public), and what is uncertain
//!
//! Relied on:
//! - `docs/protocols.md` §3: line settings, frame, CRC, the example frame.
//! - FEIG "OBID i-scan System-Manual ID ISC.MR/PR/PRH101" (H60301-3e/4e-ID-B,
//!   public copies on easymanua.ls and manualshive.com), with the same
//!   layouts in the ID ISC.MR100/101-A, MR200, LR200, LR1002 and CPR30
//!   manuals: §6.1 the `[0xB0]` frame (answer data only with STATUS 0x00,
//!   0x83, 0x94, 0x95), §6.1.1 inventory (MODE bit MORE, status 0x94 = more
//!   data sets, ask again with MORE = 1), §6.1.4 read multiple blocks (SEC
//!   bit, SEC-STATUS before each block), §6.1.5 write multiple blocks
//!   (DB-ADR-E with STATUS 0x03; at most 128 data bytes per request),
//!   §6.1.8/6.1.9 write/lock AFI, §6.1.12 get system information, §5.4
//!   `[0x65]`, §8 `[0xB1]` with the manufacturer byte (0x04 = Philips/NXP),
//!   §8.3 I-Code SLI custom commands (A2 set EAS, A3 reset EAS, A4 lock EAS,
//!   A5 EAS alarm: "if the EAS bit is set the status will be 0x00", else the
//!   tag stays silent and the status is 0x01), Annex "Index of Status Bytes"
//!   (0x00–0x05 read there). The ID ISC.MR102 manual shows the advanced frame.
//! - FEIG's ID ISC.SDK for Linux V04.06.10 (FEDM class library; a public copy
//!   is in UC3MSocialRobots/maggie_drivers): an ISO 15693 inventory data set
//!   is TR-TYPE 0x03, DSFID and 8 UID bytes stored as they come, and the
//!   library reads the manufacturer code from UID byte 1, so **the UID travels
//!   most significant byte first (`E0 04 …`), the order [`Uid`] displays** —
//!   the reverse of the ISO 15693 air interface. Get system information puts
//!   the block-size byte of MEM-SIZE before the block count (again MSB first).
//!   The SDK swaps the bytes of every data block both ways for `[0x23]` and
//!   `[0x24]` ("swap of byte order (MSB <-> LSB)"); reader types by SW-TYPE.
//! - Amarok79/InlayTester.Drivers.FeigReader (MIT, C#): the names of the
//!   status codes not in the manual excerpts (0x08–0xF1); its ISO 15693
//!   identifiers are also taken unreversed from the inventory.
//! - Accada (Fosstrak) FEIG HAL: the advanced-form inventory request
//!   `02 00 09 FF B0 01 00 18 43` (CRC verified here).
//! - ISO/IEC 15693-3 error codes (0x01–0x14) behind STATUS 0x95.
//!
//! Uncertain (flagged again where it matters):
//! 1. **Block byte order.** Inferred from the SDK swapping each block: by
//!    default ([`BlockOrder::Reversed`]) each 4-byte block travels most
//!    significant byte first, i.e. reversed against tag memory, and the driver
//!    turns it back. If tags read through a real reader come out reversed, use
//!    [`BlockOrder::Memory`] (driver and simulator both take the option).
//! 2. Whether a reader ever answers a standard-frame request with an advanced
//!    frame. The simulator answers in the form of the request and, for a
//!    standard request, splits long inventories with STATUS 0x94 (the
//!    documented way); the driver handles both 0x94 and long frames.
//! 3. Status meanings 0x08–0xF1 come from a third-party driver; SW-TYPE → name
//!    from the SDK's reader-type list; MEM-SIZE values are taken as "n − 1"
//!    as in ISO 15693.
//! 4. EAS alarm cannot tell "EAS off" from "no tag" (both 0x01): the driver
//!    asks get system information to tell them apart. EAS commands are NXP
//!    custom commands; UIDs of other makers get `Unsupported` without a try.
//! 5. The simulator's answers to malformed requests (0x80 unknown command,
//!    0x81 length error, 0x11 parameter range), to blocks out of range
//!    (0x95 with ISO 0x10), to a locked AFI (0x95 with ISO 0x12) and to
//!    locking twice (0x95 with ISO 0x11) follow what an ISO 15693 tag
//!    answers; a real reader may differ. It ignores requests whose CRC fails
//!    (no answer).
//! 6. The line has no start byte: the decoder finds frames by length and CRC
//!    (and, while resynchronising, a known command byte). A false match costs
//!    about 2⁻¹⁶ per candidate; real readers use the ≥ 5 ms gap, which a
//!    sans-IO decoder cannot see.
//!
//! The driver waits `frame_gap` (5 ms, the protocol's minimum) between the
//! last byte on the line and its next request: only on a real line does a
//! reader need that silence to see a new frame. Tests set it to zero.
//!
//! # Layers
//!
//! - `codec`: CRC, [`Frame`] and the sans-IO [`FrameDecoder`];
//! - `commands`: typed [`Request`]s and [`Reply`]s, status codes;
//! - `reader`: the [`ReaderFeig`] driver, generic over `Read + Write`;
//! - `sim`: the byte-exact [`SimFeig`] on the same codec;
//! - `fuzz` (only with `cfg(fuzzing)` and in tests): the `cargo fuzz` entry.
//!
//! May import: `devices::rfid` (the reader-neutral types). Nothing above
//! `devices`.

mod codec;
mod commands;
#[cfg(any(fuzzing, test))]
mod fuzz;
mod reader;
mod sim;
#[cfg(test)]
mod test_support;

// The door: every layer's API, whether or not today's callers use all of it.
#[allow(unused_imports)]
pub use codec::*;
#[allow(unused_imports)]
pub use commands::*;
#[cfg(fuzzing)]
pub use fuzz::fuzz_frames;
pub use reader::*;
pub use sim::*;
