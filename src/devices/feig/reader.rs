//! [`ReaderFeig`]: the FEIG host-mode driver, generic over any `Read + Write`
//! port (serial line, pty, pipe, `rfid::SimPort`). It keeps the inter-frame
//! gap, skips stray frames and echoes, and implements [`RfidReader`].

use std::collections::{BTreeSet, VecDeque};
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use crate::devices::rfid::{hex, DeviceError, RfidReader, Uid};

use super::codec::*;
use super::commands::*;
const MAX_INVENTORY_ROUNDS: usize = 64;
const POLL: Duration = Duration::from_millis(1);

/// A FEIG ISC reader in host mode on `port` (serial port, pty, pipe or
/// `rfid::SimPort`). The port should have a short read timeout; a read
/// that times out or would block means "nothing yet".
pub struct ReaderFeig<P: Read + Write> {
    port: P,
    dec: FrameDecoder,
    bus_address: u8,
    timeout: Duration,
    frame_gap: Duration,
    block_order: BlockOrder,
    long_frames: bool,
    last_traffic: Option<Instant>,
    unrelated: u64,
}

impl<P: Read + Write> ReaderFeig<P> {
    /// `bus_address` is the reader's COM-ADR (`0xFF` = whichever answers);
    /// `timeout` bounds each exchange. The inter-frame gap starts at 5 ms.
    pub fn new(port: P, bus_address: u8, timeout: Duration) -> Self {
        ReaderFeig {
            port,
            dec: FrameDecoder::new(),
            bus_address,
            timeout,
            frame_gap: FRAME_GAP,
            block_order: BlockOrder::default(),
            long_frames: false,
            last_traffic: None,
            unrelated: 0,
        }
    }

    /// Silence kept before each request (5 ms on a real line, 0 in tests).
    pub fn with_frame_gap(mut self, gap: Duration) -> Self {
        self.frame_gap = gap;
        self
    }

    /// Byte order of data blocks on the wire (see the module notes).
    pub fn with_block_order(mut self, order: BlockOrder) -> Self {
        self.block_order = order;
        self
    }

    /// Send requests in the advanced frame form (readers such as the
    /// ID ISC.MR102/LR2000 speak it).
    pub fn with_long_frames(mut self, long: bool) -> Self {
        self.long_frames = long;
        self
    }

    /// Frame counters of the answers read so far.
    pub fn decoder_stats(&self) -> DecoderStats {
        self.dec.stats()
    }

    /// Good frames that were not the awaited answer (other command or bus
    /// address, wrong shape, or left over after the answer).
    pub fn unrelated_frames(&self) -> u64 {
        self.unrelated
    }

    pub fn port_mut(&mut self) -> &mut P {
        &mut self.port
    }

    #[allow(dead_code)] // driver API, as Reader3m has it
    pub fn into_inner(self) -> P {
        self.port
    }

    fn keep_gap(&self) {
        if self.frame_gap.is_zero() {
            return;
        }
        if let Some(last) = self.last_traffic {
            let quiet = last.elapsed();
            if quiet < self.frame_gap {
                std::thread::sleep(self.frame_gap - quiet);
            }
        }
    }

    fn related(&self, frame: &Frame, request: &Request) -> bool {
        frame.command == request.command()
            && frame.status().is_some()
            && (self.bus_address == ANY_ADDRESS || frame.address == self.bus_address)
    }

    /// One request, one answer: sends `request` and waits up to the timeout
    /// for its answer, skipping stray and broken frames and the echo of the
    /// request itself (RS-485 adapters with local echo).
    ///
    /// FEIG answers carry no sequence number and `[0xB0]` answers do not
    /// repeat the sub-command: a late answer to an earlier, timed-out
    /// request can pass for this one if it has the right shape. Input still
    /// buffered is dropped before each request to make that rarer.
    pub fn transact(&mut self, request: &Request) -> Result<Reply, DeviceError> {
        let stale = self.dec.discard_partial();
        if stale > 0 {
            tracing::debug!(device = "feig", bytes = stale, "dropped stale input");
        }
        self.keep_gap();
        let mut sent = request.to_frame(self.bus_address, self.block_order);
        sent.long = self.long_frames;
        let bytes = sent.encode();
        tracing::trace!(device = "feig", tx = %hex(&bytes));
        self.port.write_all(&bytes)?;
        self.port.flush()?;
        self.last_traffic = Some(Instant::now());
        let deadline = Instant::now() + self.timeout;
        let mut problem: Option<DeviceError> = None;
        let mut pending: VecDeque<Result<Frame, FrameError>> = VecDeque::new();
        let mut buf = [0u8; 256];
        loop {
            while let Some(item) = pending.pop_front() {
                let frame = match item {
                    Ok(frame) => frame,
                    Err(e) => {
                        tracing::warn!(device = "feig", error = %e, "frame with a bad CRC");
                        problem = Some(DeviceError::BadCrc(e.to_string()));
                        continue;
                    }
                };
                if frame == sent || !self.related(&frame, request) {
                    self.unrelated += 1;
                    tracing::debug!(device = "feig", ?frame, "skipped a stray frame");
                    continue;
                }
                match Reply::parse(request, &frame, self.block_order) {
                    Err(DeviceError::Malformed(why)) => {
                        self.unrelated += 1;
                        tracing::debug!(device = "feig", %why, "skipped a frame of the wrong shape");
                        problem = Some(DeviceError::Malformed(why));
                    }
                    done => {
                        self.unrelated += pending.iter().filter(|f| f.is_ok()).count() as u64;
                        return done;
                    }
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(problem.unwrap_or(DeviceError::Timeout(self.timeout)));
            }
            match self.port.read(&mut buf) {
                Ok(0) => std::thread::sleep(POLL.min(deadline - now)),
                Ok(n) => {
                    self.last_traffic = Some(Instant::now());
                    tracing::trace!(device = "feig", rx = %hex(&buf[..n]));
                    pending.extend(self.dec.feed(&buf[..n]));
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                    ) =>
                {
                    std::thread::sleep(POLL.min(deadline - now));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(DeviceError::Io(e)),
            }
        }
    }

    /// `[0x65]`.
    pub fn software_version(&mut self) -> Result<SoftwareVersion, DeviceError> {
        let request = Request::SoftwareVersion;
        match self.transact(&request)? {
            Reply::SoftwareVersion(v) => Ok(v),
            other => Err(malformed(&request, format_args!("{other:?}"))),
        }
    }

    /// `[0xB0][0x2B]`: DSFID, AFI and memory size of one tag.
    pub fn system_info(&mut self, uid: &Uid) -> Result<SystemInfo, DeviceError> {
        let request = Request::SystemInfo { uid: *uid };
        match self.transact(&request)? {
            Reply::SystemInfo(info) => Ok(info),
            other => Err(malformed(&request, format_args!("{other:?}"))),
        }
    }

    /// `[0xB0][0x28]`: locks the tag's AFI for good.
    pub fn lock_afi(&mut self, uid: &Uid) -> Result<(), DeviceError> {
        self.expect_done(Request::LockAfi { uid: *uid })
    }

    fn expect_done(&mut self, request: Request) -> Result<(), DeviceError> {
        match self.transact(&request)? {
            Reply::Done => Ok(()),
            other => Err(malformed(&request, format_args!("{other:?}"))),
        }
    }
}

impl<P: Read + Write> RfidReader for ReaderFeig<P> {
    fn probe(&mut self) -> Result<String, DeviceError> {
        Ok(self.software_version()?.describe())
    }

    fn inventory(&mut self) -> Result<Vec<Uid>, DeviceError> {
        let mut seen = BTreeSet::new();
        let mut uids = Vec::new();
        let mut more = false;
        for _ in 0..MAX_INVENTORY_ROUNDS {
            let request = Request::Inventory { more };
            match self.transact(&request)? {
                Reply::Inventory { tags, more: again } => {
                    for t in tags {
                        if seen.insert(t.uid) {
                            uids.push(t.uid);
                        }
                    }
                    if !again {
                        return Ok(uids);
                    }
                    more = true;
                }
                other => return Err(malformed(&request, format_args!("{other:?}"))),
            }
        }
        Err(DeviceError::Malformed(format!(
            "the reader still had more data after {MAX_INVENTORY_ROUNDS} inventory answers"
        )))
    }

    fn read_blocks(
        &mut self,
        uid: &Uid,
        first: u8,
        count: u8,
    ) -> Result<Vec<[u8; 4]>, DeviceError> {
        let (first, count) = (usize::from(first), usize::from(count));
        if first + count > 256 {
            return Err(DeviceError::Unsupported("address blocks beyond 255"));
        }
        let mut out = Vec::with_capacity(count);
        let mut next = first;
        while next < first + count {
            let n = (first + count - next).min(usize::from(MAX_BLOCKS_PER_REQUEST));
            let request = Request::ReadBlocks {
                uid: *uid,
                first: next as u8,
                count: n as u8,
                security: false,
            };
            match self.transact(&request)? {
                Reply::Blocks(blocks) => out.extend(blocks.iter().map(|b| b.data)),
                other => return Err(malformed(&request, format_args!("{other:?}"))),
            }
            next += n;
        }
        Ok(out)
    }

    fn write_blocks(
        &mut self,
        uid: &Uid,
        first: u8,
        blocks: &[[u8; 4]],
    ) -> Result<(), DeviceError> {
        if usize::from(first) + blocks.len() > 256 {
            return Err(DeviceError::Unsupported("address blocks beyond 255"));
        }
        for (i, chunk) in blocks
            .chunks(usize::from(MAX_BLOCKS_PER_REQUEST))
            .enumerate()
        {
            let offset = i * usize::from(MAX_BLOCKS_PER_REQUEST);
            self.expect_done(Request::WriteBlocks {
                uid: *uid,
                first: (usize::from(first) + offset) as u8,
                blocks: chunk.to_vec(),
            })?;
        }
        Ok(())
    }

    fn get_afi(&mut self, uid: &Uid) -> Result<u8, DeviceError> {
        Ok(self.system_info(uid)?.afi)
    }

    fn write_afi(&mut self, uid: &Uid, afi: u8) -> Result<(), DeviceError> {
        self.expect_done(Request::WriteAfi { uid: *uid, afi })
    }

    fn eas(&mut self, uid: &Uid) -> Result<bool, DeviceError> {
        if uid[1] != MFR_NXP {
            return Err(DeviceError::Unsupported(
                "check EAS on tags not made by NXP",
            ));
        }
        let request = Request::Nxp {
            uid: *uid,
            command: NxpCommand::EasAlarm,
        };
        match self.transact(&request)? {
            Reply::EasAlarm(true) => Ok(true),
            // Silence means "EAS off" or "no tag": ask the tag itself.
            Reply::EasAlarm(false) => self.system_info(uid).map(|_| false),
            other => Err(malformed(&request, format_args!("{other:?}"))),
        }
    }

    fn set_eas(&mut self, uid: &Uid, on: bool) -> Result<(), DeviceError> {
        if uid[1] != MFR_NXP {
            return Err(DeviceError::Unsupported(
                "switch EAS on tags not made by NXP",
            ));
        }
        let command = if on {
            NxpCommand::SetEas
        } else {
            NxpCommand::ResetEas
        };
        self.expect_done(Request::Nxp { uid: *uid, command })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::feig::sim::system_info_of;
    use crate::devices::feig::test_support::*;
    use crate::devices::feig::SimFeig;
    use crate::devices::rfid::{set_afi_with_retries, uid_hex, Field, SimPort, SimTag, Simulator};
    // --- driver ↔ simulator ---------------------------------------------

    #[test]
    fn probe_reports_the_reader() {
        let mut r = rig(&Field::default());
        let text = r.probe().unwrap();
        assert!(text.contains("ID ISC.MR101"), "{text}");
        assert!(text.contains("03.05"), "{text}");
        assert_eq!(r.software_version().unwrap().transponders, 0x0008);
    }

    #[test]
    fn inventory_follows_the_field() {
        let field = Field::new([tag(1), tag(2)]);
        let mut r = rig(&field);
        assert_eq!(r.inventory().unwrap(), vec![uid(1), uid(2)]);
        field.take(&uid(1));
        field.put(tag(3));
        assert_eq!(r.inventory().unwrap(), vec![uid(2), uid(3)]);
        field.take(&uid(2));
        field.take(&uid(3));
        assert_eq!(r.inventory().unwrap(), Vec::<Uid>::new());
    }

    #[test]
    fn many_tags_come_in_more_data_answers() {
        let field = Field::new((0..60).map(tag));
        let mut r = rig(&field);
        let uids = r.inventory().unwrap();
        assert_eq!(uids, (0..60).map(uid).collect::<Vec<_>>());
        // 24 + 24 + 12 data sets in three standard frames.
        assert_eq!(r.decoder_stats().frames_ok, 3);
    }

    #[test]
    fn many_tags_in_one_long_frame() {
        let field = Field::new((0..60).map(tag));
        let sim = SimFeig::new(field.clone()).with_inventory_chunk(100);
        let mut r = rig_with(sim);
        assert_eq!(r.inventory().unwrap().len(), 60);
        assert_eq!(r.decoder_stats().frames_ok, 1);
        // The same answer on the codec level is an advanced frame.
        let mut sim = SimFeig::new(field).with_inventory_chunk(100);
        let out =
            sim.receive(&Request::Inventory { more: false }.encode(0xFF, BlockOrder::Reversed));
        assert_eq!(out[0], 0x02);
        assert_eq!(out.len(), 7 + 2 + 600);
    }

    #[test]
    fn advanced_frames_both_ways() {
        let field = Field::new((0..30).map(tag));
        let mut r = rig(&field).with_long_frames(true);
        assert_eq!(r.inventory().unwrap().len(), 30);
        assert_eq!(r.decoder_stats().frames_ok, 1, "one long answer, no 0x94");
        assert_eq!(r.get_afi(&uid(4)).unwrap(), 0x07);
        r.write_afi(&uid(4), 0xC2).unwrap();
        assert_eq!(field.get(&uid(4)).unwrap().afi, 0xC2);
        assert!(r.probe().is_ok());
    }

    #[test]
    fn read_and_write_blocks() {
        let mut big = SimTag::new(uid(1), &[0u8; 256], 0x07);
        big.dsfid = 0x06;
        let field = Field::new([tag(2), big]);
        let mut r = rig(&field);
        assert_eq!(
            r.read_blocks(&uid(2), 0, 28).unwrap(),
            field.get(&uid(2)).unwrap().blocks
        );
        assert_eq!(r.read_blocks(&uid(2), 3, 0).unwrap(), Vec::<[u8; 4]>::new());
        let blocks: Vec<[u8; 4]> = (0..40u8)
            .map(|i| [i, i ^ 0xFF, 0x10, i.wrapping_mul(3)])
            .collect();
        r.write_blocks(&uid(1), 10, &blocks).unwrap(); // 32 + 8 blocks
        assert_eq!(&field.get(&uid(1)).unwrap().blocks[10..50], &blocks[..]);
        assert_eq!(r.read_blocks(&uid(1), 10, 40).unwrap(), blocks);
        let e = r.read_blocks(&uid(2), 20, 10).unwrap_err();
        assert!(
            matches!(e, DeviceError::Reader { code: 0x95, meaning } if meaning.contains("0x10")),
            "{e}"
        );
        assert!(matches!(
            r.read_blocks(&uid(2), 250, 10),
            Err(DeviceError::Unsupported(_))
        ));
    }

    #[test]
    fn block_order_must_match_on_both_sides() {
        let field = Field::new([tag(2)]);
        let sim = SimFeig::new(field.clone()).with_block_order(BlockOrder::Memory);
        let mut same = rig_with(sim).with_block_order(BlockOrder::Memory);
        let want = field.get(&uid(2)).unwrap().blocks;
        assert_eq!(same.read_blocks(&uid(2), 0, 4).unwrap(), want[..4]);
        let mut mixed = rig(&field).with_block_order(BlockOrder::Memory);
        let got = mixed.read_blocks(&uid(2), 0, 1).unwrap();
        assert_eq!(got[0], [want[0][3], want[0][2], want[0][1], want[0][0]]);
    }

    #[test]
    fn afi_read_write_and_retries() {
        let field = Field::new([tag(1)]);
        let mut r = rig(&field);
        assert_eq!(r.get_afi(&uid(1)).unwrap(), 0x07);
        faults(&mut r).write_failures = 2;
        assert_eq!(set_afi_with_retries(&mut r, &uid(1), 0xC2, 3).unwrap(), 3);
        assert_eq!(field.get(&uid(1)).unwrap().afi, 0xC2);
        faults(&mut r).write_failures = 3;
        let e = set_afi_with_retries(&mut r, &uid(1), 0x07, 3).unwrap_err();
        assert!(
            matches!(e, DeviceError::WriteFailed { tries: 3, .. }),
            "{e}"
        );
        assert_eq!(field.get(&uid(1)).unwrap().afi, 0xC2);
        let e = r.write_afi(&uid(1), 0x07);
        assert!(e.is_ok(), "faults used up: {e:?}");
    }

    #[test]
    fn a_write_failure_on_blocks_is_a_write_error() {
        let field = Field::new([tag(1)]);
        let mut r = rig(&field);
        faults(&mut r).write_failures = 1;
        let e = r.write_blocks(&uid(1), 0, &[[1, 2, 3, 4]]).unwrap_err();
        assert!(matches!(e, DeviceError::Reader { code: 0x03, .. }), "{e}");
        assert_eq!(field.get(&uid(1)).unwrap().blocks[0], tag(1).blocks[0]);
        r.write_blocks(&uid(1), 0, &[[1, 2, 3, 4]]).unwrap();
        assert_eq!(field.get(&uid(1)).unwrap().blocks[0], [1, 2, 3, 4]);
    }

    #[test]
    fn locked_afi_cannot_be_written() {
        let field = Field::new([tag(1)]);
        let mut r = rig(&field);
        r.lock_afi(&uid(1)).unwrap();
        assert!(field.get(&uid(1)).unwrap().afi_locked);
        let e = r.write_afi(&uid(1), 0xC2).unwrap_err();
        assert!(
            matches!(e, DeviceError::Reader { code: 0x95, meaning } if meaning.contains("locked")),
            "{e}"
        );
        let e = set_afi_with_retries(&mut r, &uid(1), 0xC2, 2).unwrap_err();
        assert!(
            matches!(e, DeviceError::WriteFailed { tries: 2, .. }),
            "{e}"
        );
        let e = r.lock_afi(&uid(1)).unwrap_err();
        assert!(
            matches!(e, DeviceError::Reader { code: 0x95, meaning } if meaning.contains("0x11"))
        );
        assert_eq!(field.get(&uid(1)).unwrap().afi, 0x07);
    }

    #[test]
    fn no_transponder() {
        let field = Field::new([tag(1)]);
        let mut r = rig(&field);
        let e = r.get_afi(&uid(9)).unwrap_err();
        assert!(
            matches!(&e, DeviceError::NoTransponder(s) if s == &uid_hex(&uid(9))),
            "{e}"
        );
        faults(&mut r).no_transponder = 1;
        assert!(matches!(
            r.read_blocks(&uid(1), 0, 1),
            Err(DeviceError::NoTransponder(_))
        ));
        assert!(r.read_blocks(&uid(1), 0, 1).is_ok());
    }

    #[test]
    fn no_answer_times_out_then_recovers() {
        let field = Field::new([tag(1)]);
        let mut r = rig(&field);
        faults(&mut r).no_answer = 1;
        let e = r.inventory().unwrap_err();
        assert!(matches!(e, DeviceError::Timeout(_)), "{e}");
        assert_eq!(r.inventory().unwrap(), vec![uid(1)]);
    }

    #[test]
    fn bad_crc_answer_is_reported_then_recovers() {
        let field = Field::new([tag(1)]);
        let mut r = rig(&field);
        faults(&mut r).bad_crc = 1;
        let e = r.get_afi(&uid(1)).unwrap_err();
        assert!(matches!(e, DeviceError::BadCrc(_)), "{e}");
        assert_eq!(r.decoder_stats().bad_crc, 1);
        assert_eq!(r.get_afi(&uid(1)).unwrap(), 0x07);
    }

    #[test]
    fn noise_before_the_answer_is_skipped() {
        let field = Field::new([tag(1)]);
        for noise in [
            vec![0x00, 0x13, 0xFF, 0x37],
            vec![0xF0],
            vec![0x07, 0xFF, 0xB0],
            vec![0x02, 0x00],
        ] {
            let mut r = rig(&field);
            faults(&mut r).noise = noise.clone();
            assert_eq!(r.inventory().unwrap(), vec![uid(1)], "noise {noise:02X?}");
            assert!(r.decoder_stats().garbage_bytes > 0 || r.decoder_stats().bad_crc > 0);
            assert!(faults(&mut r).noise.is_empty());
        }
    }

    #[test]
    fn answers_split_into_single_bytes() {
        let field = Field::new((0..30).map(tag));
        let mut r = rig(&field);
        faults(&mut r).split = Some(1);
        assert_eq!(r.inventory().unwrap().len(), 30);
        assert_eq!(
            r.read_blocks(&uid(3), 0, 28).unwrap(),
            field.get(&uid(3)).unwrap().blocks
        );
    }

    #[test]
    fn stray_frames_are_skipped_and_counted() {
        let field = Field::new([tag(1), tag(2)]);
        let mut r = rig(&field);
        // A late version answer and a system-info answer for another tag
        // arrive before the awaited answer.
        let mut noise = Frame::response(0x00, 0x65, 0x00, &[3, 5, 0, 0, 76, 0, 8]).encode();
        let other = Reply::SystemInfo(system_info_of(&tag(2)));
        noise.extend(
            other
                .to_frame(0x00, CMD_ISO15693, BlockOrder::Reversed)
                .encode(),
        );
        faults(&mut r).noise = noise;
        assert_eq!(r.get_afi(&uid(1)).unwrap(), 0x07);
        assert_eq!(r.unrelated_frames(), 2);
    }

    #[test]
    fn the_echo_of_a_request_is_not_its_answer() {
        let field = Field::new([tag(1)]);
        let mut r = rig(&field);
        let echo = Request::Inventory { more: false }.encode(ANY_ADDRESS, BlockOrder::Reversed);
        faults(&mut r).noise = echo;
        assert_eq!(r.inventory().unwrap(), vec![uid(1)]);
        assert_eq!(r.unrelated_frames(), 1);
    }

    #[test]
    fn bus_addresses() {
        let field = Field::new([tag(1)]);
        let sim = || SimFeig::new(field.clone()).with_address(0x03);
        let mut exact = ReaderFeig::new(SimPort::new(sim()), 0x03, Duration::from_millis(20))
            .with_frame_gap(Duration::ZERO);
        assert_eq!(exact.inventory().unwrap(), vec![uid(1)]);
        let mut any = rig_with(sim());
        assert_eq!(any.inventory().unwrap(), vec![uid(1)]);
        let mut other = ReaderFeig::new(SimPort::new(sim()), 0x04, Duration::from_millis(20))
            .with_frame_gap(Duration::ZERO);
        assert!(matches!(other.inventory(), Err(DeviceError::Timeout(_))));
    }

    #[test]
    fn eas_via_nxp_custom_commands() {
        let mut other_maker = tag(5);
        other_maker.uid = [0xE0, 0x07, 0, 0, 0, 0, 0, 5];
        let field = Field::new([tag(1), other_maker]);
        let mut r = rig(&field);
        assert!(!r.eas(&uid(1)).unwrap());
        r.set_eas(&uid(1), true).unwrap();
        assert!(field.get(&uid(1)).unwrap().eas);
        assert!(r.eas(&uid(1)).unwrap());
        r.set_eas(&uid(1), false).unwrap();
        assert!(!r.eas(&uid(1)).unwrap());
        assert!(matches!(r.eas(&uid(8)), Err(DeviceError::NoTransponder(_))));
        assert!(matches!(
            r.set_eas(&uid(8), true),
            Err(DeviceError::NoTransponder(_))
        ));
        let ti = [0xE0, 0x07, 0, 0, 0, 0, 0, 5];
        assert!(matches!(r.eas(&ti), Err(DeviceError::Unsupported(_))));
        assert!(matches!(
            r.set_eas(&ti, true),
            Err(DeviceError::Unsupported(_))
        ));
    }

    #[test]
    fn simulator_keeps_partial_input_and_ignores_bad_requests() {
        let field = Field::new([tag(1)]);
        let mut sim = SimFeig::new(field);
        let req = Request::Inventory { more: false }.encode(0xFF, BlockOrder::Reversed);
        assert!(sim.receive(&req[..3]).is_empty());
        let out = sim.receive(&req[3..]);
        assert_eq!(out[..4], [0x11, 0x00, 0xB0, 0x00]);
        let mut bad = req.clone();
        bad[6] ^= 1;
        assert!(sim.receive(&bad).is_empty());
        assert_eq!(sim.decoder_stats().bad_crc, 1);
        // Two requests in one write get two answers.
        let twice = [req.clone(), req].concat();
        let answers = decode_all(&sim.receive(&twice));
        assert_eq!(answers.len(), 2);
        assert!(answers.iter().all(|a| a.is_ok()));
    }

    #[test]
    fn frame_gap_is_kept_only_when_asked() {
        let field = Field::new([tag(1)]);
        let mut r = ReaderFeig::new(
            SimPort::new(SimFeig::new(field)),
            ANY_ADDRESS,
            Duration::from_millis(30),
        );
        assert_eq!(r.frame_gap, FRAME_GAP);
        // Works with the real gap too (outcome only, no timing asserted).
        assert_eq!(r.inventory().unwrap(), vec![uid(1)]);
        assert_eq!(r.inventory().unwrap(), vec![uid(1)]);
    }
}
