//! [`Reader3m`]: the 3M pad driver, generic over any `Read + Write` port
//! (serial line, pty, pipe, `rfid::SimPort`). It waits for answers against
//! an `Instant` deadline, skips stray frames and implements [`RfidReader`].

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use crate::devices::rfid::{hex, DeviceError, RfidReader, Uid};

use super::codec::*;
use super::commands::*;
/// Blocks asked for in one read (or written in one write) request. 8 is
/// what the reverse-engineered 810 software uses.
pub const DEFAULT_BLOCKS_PER_REQUEST: u8 = 8;

/// The driver's counters; `frames` are the decoder's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReaderStats {
    pub requests: u64,
    pub bytes_out: u64,
    /// Good frames that did not answer the request in flight.
    pub unrelated_frames: u64,
    pub timeouts: u64,
    /// Requests sent again after a garbled answer.
    pub resends: u64,
    /// Answers carrying a reader error code.
    pub reader_errors: u64,
    pub frames: FrameStats,
}

/// A 3M 210/810 pad on any byte stream (serial port, pty, `SimPort`).
pub struct Reader3m<P: Read + Write> {
    port: P,
    dec: FrameDecoder,
    timeout: Duration,
    inventory_afi: u8,
    blocks_per_request: u8,
    read_resends: u32,
    stats: ReaderStats,
}

impl<P: Read + Write> Reader3m<P> {
    /// `timeout` bounds the wait for each answer (an answer still arriving
    /// at that moment is let in, up to twice `timeout`). The port's own read
    /// timeout should be short (a few ms to tens of ms); `TimedOut` and
    /// `WouldBlock` from it mean "nothing yet".
    pub fn new(port: P, timeout: Duration) -> Reader3m<P> {
        Reader3m {
            port,
            dec: FrameDecoder::new(),
            timeout,
            inventory_afi: 0,
            blocks_per_request: DEFAULT_BLOCKS_PER_REQUEST,
            read_resends: 1,
            stats: ReaderStats::default(),
        }
    }

    /// AFI sent with inventories (0, the default, finds every tag).
    pub fn set_inventory_afi(&mut self, afi: u8) {
        self.inventory_afi = afi;
    }

    /// Blocks per read/write request (1..=255).
    pub fn set_blocks_per_request(&mut self, n: u8) {
        self.blocks_per_request = n.max(1);
    }

    /// How many times a read-only request is sent again after a garbled
    /// (bad CRC) answer; writes are never resent here. Default 1.
    pub fn set_read_resends(&mut self, n: u32) {
        self.read_resends = n;
    }

    pub fn stats(&self) -> ReaderStats {
        ReaderStats {
            frames: self.dec.stats(),
            ..self.stats
        }
    }

    pub fn port(&self) -> &P {
        &self.port
    }

    pub fn port_mut(&mut self) -> &mut P {
        &mut self.port
    }

    pub fn into_inner(self) -> P {
        self.port
    }

    /// Locks the tag's AFI for good (*inferred* command shape).
    pub fn lock_afi(&mut self, uid: &Uid) -> Result<(), DeviceError> {
        match self.exchange(&Request::LockAfi { uid: *uid })? {
            Response::AfiLocked { .. } => Ok(()),
            other => Err(unexpected(&other)),
        }
    }

    /// Inventory with an explicit AFI filter.
    pub fn inventory_afi(&mut self, afi: u8) -> Result<Vec<Uid>, DeviceError> {
        let req = Request::Inventory {
            afi,
            options: INVENTORY_OPTIONS,
        };
        match self.exchange(&req)? {
            Response::Inventory { uids, .. } => Ok(uids),
            other => Err(unexpected(&other)),
        }
    }

    /// Sends a request and waits for its answer. A reader error code comes
    /// back as `Err`; a garbled answer to a read-only request is asked for
    /// again (`set_read_resends`).
    pub fn exchange(&mut self, req: &Request) -> Result<Response, DeviceError> {
        let attempts = if req.is_write() {
            1
        } else {
            1 + self.read_resends
        };
        let mut last = String::new();
        for attempt in 0..attempts {
            if attempt > 0 {
                self.stats.resends += 1;
                tracing::debug!(
                    device = "3m",
                    cmd = req.cmd(),
                    attempt,
                    "resending after a garbled answer"
                );
            }
            match self.exchange_once(req) {
                Err(DeviceError::BadCrc(s)) => last = s,
                other => return other,
            }
        }
        Err(DeviceError::BadCrc(last))
    }

    fn exchange_once(&mut self, req: &Request) -> Result<Response, DeviceError> {
        let stale = self.dec.clear();
        if stale > 0 {
            tracing::debug!(
                device = "3m",
                bytes = stale,
                "dropped stale bytes before a request"
            );
        }
        let bytes = req.encode();
        self.port.write_all(&bytes)?;
        self.port.flush()?;
        self.stats.requests += 1;
        self.stats.bytes_out += bytes.len() as u64;

        let sent = Instant::now();
        let deadline = sent + self.timeout;
        // Bytes still flowing at the deadline are let in (an answer may be
        // arriving), but a line that never stops talking is cut off here.
        let hard_deadline = deadline + self.timeout;
        let mut garbled: Option<String> = None;
        let mut buf = [0u8; 256];
        loop {
            let n = match self.port.read(&mut buf) {
                Ok(n) => n,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::TimedOut
                            | io::ErrorKind::WouldBlock
                            | io::ErrorKind::Interrupted
                    ) =>
                {
                    0
                }
                Err(e) => return Err(DeviceError::Io(e)),
            };
            let mut items = if n > 0 {
                self.dec.feed(&buf[..n])
            } else {
                Vec::new()
            };
            let now = Instant::now();
            let expired = (n == 0 && now >= deadline) || now >= hard_deadline;
            if expired {
                // The line is quiet and the time is up: a candidate still
                // waiting for bytes was noise; look behind it.
                items.extend(self.dec.flush());
            }
            if let Some(answer) = self.pick(req, items, &mut garbled) {
                return answer;
            }
            if expired {
                self.stats.timeouts += 1;
                return Err(match garbled {
                    Some(s) => DeviceError::BadCrc(s),
                    None => DeviceError::Timeout(self.timeout),
                });
            }
            if n == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }

    /// The answer to `req` among decoded items, if there is one.
    fn pick(
        &mut self,
        req: &Request,
        items: Vec<Result<Frame, FrameError>>,
        garbled: &mut Option<String>,
    ) -> Option<Result<Response, DeviceError>> {
        let want_start = if matches!(req, Request::Version) {
            START_PROBE
        } else {
            START
        };
        let want_cmd = req.to_frame().cmd;
        for item in items {
            let frame = match item {
                Ok(f) => f,
                Err(e) => {
                    tracing::debug!(device = "3m", error = %e, "rejected bytes from the reader");
                    if let FrameError::BadCrc { .. } = e {
                        *garbled = Some(e.to_string());
                    }
                    continue;
                }
            };
            let ours = frame.start == want_start && frame.cmd == want_cmd;
            match Response::from_frame(&frame) {
                Ok(resp) if ours && answers(req, &resp) => {
                    return Some(match resp {
                        Response::Error { code, .. } => {
                            self.stats.reader_errors += 1;
                            Err(reader_error(code, req.uid()))
                        }
                        other => Ok(other),
                    });
                }
                Err(e) if ours => return Some(Err(DeviceError::Malformed(e.to_string()))),
                _ => {
                    self.stats.unrelated_frames += 1;
                    tracing::debug!(
                        device = "3m",
                        frame = %hex(&frame.encode()),
                        "ignored a frame that does not answer the request"
                    );
                }
            }
        }
        None
    }
}

/// Whether `resp` (same start and command byte) answers `req`: an answer
/// naming another tag does not.
fn answers(req: &Request, resp: &Response) -> bool {
    match (req.uid(), resp.uid()) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    }
}

fn unexpected(resp: &Response) -> DeviceError {
    DeviceError::Malformed(format!("unexpected answer {resp:?}"))
}

impl<P: Read + Write> RfidReader for Reader3m<P> {
    /// Returns e.g. "3M 810 10.5.0.2" (the four version bytes).
    fn probe(&mut self) -> Result<String, DeviceError> {
        match self.exchange(&Request::Version)? {
            Response::Version([a, b, c, d]) => Ok(format!("3M 810 {a}.{b}.{c}.{d}")),
            other => Err(unexpected(&other)),
        }
    }

    fn inventory(&mut self) -> Result<Vec<Uid>, DeviceError> {
        self.inventory_afi(self.inventory_afi)
    }

    /// Reads in requests of `blocks_per_request` blocks. If the tag ends
    /// before `first + count` (the reader returns fewer blocks than asked),
    /// the blocks up to the end are returned.
    fn read_blocks(
        &mut self,
        uid: &Uid,
        first: u8,
        count: u8,
    ) -> Result<Vec<[u8; 4]>, DeviceError> {
        let mut out = Vec::with_capacity(usize::from(count));
        let end = u16::from(first) + u16::from(count);
        if end > 256 {
            return Err(DeviceError::Unsupported("address blocks past 255"));
        }
        let mut at = u16::from(first);
        while at < end {
            let start = at as u8;
            let n = (end - at).min(u16::from(self.blocks_per_request)) as u8;
            let req = Request::ReadBlocks {
                uid: *uid,
                first: start,
                count: n,
            };
            let blocks = match self.exchange(&req)? {
                Response::Blocks { blocks, .. } => blocks,
                other => return Err(unexpected(&other)),
            };
            if blocks.len() > usize::from(n) {
                return Err(DeviceError::Malformed(format!(
                    "asked for {n} blocks from {start}, got {}",
                    blocks.len()
                )));
            }
            for (i, (no, data)) in blocks.iter().enumerate() {
                if *no != at + i as u16 {
                    return Err(DeviceError::Malformed(format!(
                        "expected block {}, got block {no}",
                        at + i as u16
                    )));
                }
                out.push(*data);
            }
            if blocks.len() < usize::from(n) {
                break;
            }
            at += u16::from(n);
        }
        Ok(out)
    }

    fn write_blocks(
        &mut self,
        uid: &Uid,
        first: u8,
        blocks: &[[u8; 4]],
    ) -> Result<(), DeviceError> {
        // Refuse before writing anything: half a write is worse than none.
        if usize::from(first) + blocks.len() > 256 {
            return Err(DeviceError::Unsupported("address blocks past 255"));
        }
        let per = usize::from(self.blocks_per_request);
        for (i, chunk) in blocks.chunks(per).enumerate() {
            let start = (usize::from(first) + i * per) as u8;
            let req = Request::WriteBlocks {
                uid: *uid,
                first: start,
                blocks: chunk.to_vec(),
            };
            match self.exchange(&req)? {
                Response::BlocksWritten { count, .. } if usize::from(count) == chunk.len() => {}
                other => return Err(unexpected(&other)),
            }
        }
        Ok(())
    }

    fn get_afi(&mut self, uid: &Uid) -> Result<u8, DeviceError> {
        match self.exchange(&Request::GetAfi { uid: *uid })? {
            Response::Afi { afi, .. } => Ok(afi),
            other => Err(unexpected(&other)),
        }
    }

    fn write_afi(&mut self, uid: &Uid, afi: u8) -> Result<(), DeviceError> {
        match self.exchange(&Request::WriteAfi { uid: *uid, afi })? {
            Response::AfiWritten { .. } => Ok(()),
            other => Err(unexpected(&other)),
        }
    }

    fn eas(&mut self, uid: &Uid) -> Result<bool, DeviceError> {
        match self.exchange(&Request::CheckEas { uid: *uid })? {
            Response::Eas { on, .. } => Ok(on),
            other => Err(unexpected(&other)),
        }
    }

    fn set_eas(&mut self, uid: &Uid, on: bool) -> Result<(), DeviceError> {
        match self.exchange(&Request::SetEas { uid: *uid, on })? {
            Response::EasSet { .. } => Ok(()),
            other => Err(unexpected(&other)),
        }
    }
}

// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::m3::test_support::*;
    use crate::devices::m3::Sim3m;
    use crate::devices::presence::PresenceTracker;
    use crate::devices::rfid::{set_afi_with_retries, uid_hex, Field, SimPort};
    use proptest::prelude::*;
    // --- driver ↔ simulator --------------------------------------------------

    #[test]
    fn every_operation_through_sim_port() {
        let (mut r, field) = rig(vec![tag(UID, 0x07), tag(UID2, 0xC2)]);
        assert_eq!(r.probe().unwrap(), "3M 810 10.5.0.2");
        assert_eq!(r.inventory().unwrap(), vec![UID, UID2]);
        r.set_inventory_afi(0xC2);
        assert_eq!(r.inventory().unwrap(), vec![UID2]);
        r.set_inventory_afi(0);

        let blocks = r.read_blocks(&UID, 0, 5).unwrap();
        assert_eq!(blocks, field.get(&UID).unwrap().blocks[..5].to_vec());
        assert_eq!(&blocks[1], b"0001");

        r.write_blocks(&UID, 2, &[*b"ABCD", *b"EFGH"]).unwrap();
        assert_eq!(
            &field.get(&UID).unwrap().blocks[2..4],
            &[*b"ABCD", *b"EFGH"]
        );
        assert_eq!(r.read_blocks(&UID, 2, 2).unwrap(), vec![*b"ABCD", *b"EFGH"]);

        assert_eq!(r.get_afi(&UID).unwrap(), 0x07);
        r.write_afi(&UID, 0xC2).unwrap();
        assert_eq!(r.get_afi(&UID).unwrap(), 0xC2);
        assert_eq!(field.get(&UID).unwrap().afi, 0xC2);

        assert!(!r.eas(&UID).unwrap());
        r.set_eas(&UID, true).unwrap();
        assert!(r.eas(&UID).unwrap());
        assert!(field.get(&UID).unwrap().eas);
        r.set_eas(&UID, false).unwrap();
        assert!(!r.eas(&UID).unwrap());

        r.lock_afi(&UID).unwrap();
        let e = r.write_afi(&UID, 0x07).unwrap_err();
        assert!(matches!(e, DeviceError::Reader { code: 0x12, .. }), "{e}");
        assert!(matches!(
            r.lock_afi(&UID),
            Err(DeviceError::Reader { code: 0x12, .. })
        ));
        assert_eq!(r.get_afi(&UID).unwrap(), 0xC2);

        let s = r.stats();
        assert_eq!(s.timeouts, 0);
        assert_eq!(s.frames.bad_crc, 0);
        assert_eq!(s.reader_errors, 2);
    }

    #[test]
    fn long_reads_and_writes_are_split_into_requests() {
        let (mut r, field) = rig(vec![tag(UID, 0x07)]);
        let data: Vec<[u8; 4]> = (0..20u8).map(|i| [i, i, i, i]).collect();
        r.write_blocks(&UID, 4, &data).unwrap();
        assert_eq!(r.stats().requests, 3);
        assert_eq!(&field.get(&UID).unwrap().blocks[4..24], &data[..]);
        assert_eq!(r.read_blocks(&UID, 4, 20).unwrap(), data);
        assert_eq!(r.stats().requests, 6);
        r.set_blocks_per_request(28);
        assert_eq!(r.read_blocks(&UID, 0, 28).unwrap().len(), 28);
        assert_eq!(r.stats().requests, 7);
        // Past the end of a 28-block tag: what exists comes back.
        assert_eq!(r.read_blocks(&UID, 24, 10).unwrap().len(), 4);
        assert_eq!(r.read_blocks(&UID, 0, 0).unwrap(), Vec::<[u8; 4]>::new());
        assert!(r.write_blocks(&UID, 27, &[[0; 4], [0; 4]]).is_err());
    }

    #[test]
    fn blocks_past_255_are_refused() {
        let (mut r, _) = rig(vec![tag(UID, 0x07)]);
        r.set_blocks_per_request(1);
        let e = r.write_blocks(&UID, 255, &[[0; 4], [0; 4]]).unwrap_err();
        assert!(matches!(e, DeviceError::Unsupported(_)), "{e}");
        let e = r.read_blocks(&UID, 250, 7).unwrap_err();
        assert!(matches!(e, DeviceError::Unsupported(_)), "{e}");
        assert_eq!(r.stats().requests, 0);
    }

    #[test]
    fn bad_crc_on_a_read_is_asked_again() {
        let (mut r, _) = rig(vec![tag(UID, 0x07)]);
        faults(&mut r).bad_crc = 1;
        assert_eq!(r.inventory().unwrap(), vec![UID]);
        let s = r.stats();
        assert_eq!((s.resends, s.frames.bad_crc), (1, 1));

        faults(&mut r).bad_crc = 2;
        let e = r.get_afi(&UID).unwrap_err();
        assert!(matches!(e, DeviceError::BadCrc(_)), "{e}");
        assert_eq!(r.get_afi(&UID).unwrap(), 0x07);
    }

    #[test]
    fn bad_crc_on_a_write_is_an_error_and_the_caller_retries() {
        let (mut r, field) = rig(vec![tag(UID, 0x07)]);
        faults(&mut r).bad_crc = 1;
        assert!(matches!(
            r.write_afi(&UID, 0xC2),
            Err(DeviceError::BadCrc(_))
        ));
        assert_eq!(r.stats().resends, 0);
        faults(&mut r).bad_crc = 1;
        assert_eq!(set_afi_with_retries(&mut r, &UID, 0xDA, 3).unwrap(), 2);
        assert_eq!(field.get(&UID).unwrap().afi, 0xDA);
    }

    #[test]
    fn no_answer_times_out_and_the_next_request_works() {
        let (mut r, _) = rig(vec![tag(UID, 0x07)]);
        faults(&mut r).no_answer = 1;
        let e = r.inventory().unwrap_err();
        assert!(matches!(e, DeviceError::Timeout(_)), "{e}");
        assert_eq!(r.stats().timeouts, 1);
        assert_eq!(r.inventory().unwrap(), vec![UID]);
    }

    #[test]
    fn write_failures_then_success_through_retries() {
        let (mut r, field) = rig(vec![tag(UID, 0x07)]);
        faults(&mut r).write_failures = 2;
        assert_eq!(set_afi_with_retries(&mut r, &UID, 0xC2, 3).unwrap(), 3);
        assert_eq!(field.get(&UID).unwrap().afi, 0xC2);

        faults(&mut r).write_failures = 3;
        let e = set_afi_with_retries(&mut r, &UID, 0x07, 3).unwrap_err();
        assert!(
            matches!(e, DeviceError::WriteFailed { tries: 3, .. }),
            "{e}"
        );
        assert_eq!(field.get(&UID).unwrap().afi, 0xC2);

        faults(&mut r).write_failures = 1;
        let e = r.write_blocks(&UID, 0, &[[1; 4]]).unwrap_err();
        assert!(matches!(e, DeviceError::Reader { code: 0x16, .. }), "{e}");
        r.write_blocks(&UID, 0, &[[1; 4]]).unwrap();
    }

    #[test]
    fn no_transponder() {
        let (mut r, field) = rig(vec![tag(UID, 0x07)]);
        let e = r.get_afi(&UID2).unwrap_err();
        assert!(
            matches!(&e, DeviceError::NoTransponder(u) if *u == uid_hex(&UID2)),
            "{e}"
        );
        faults(&mut r).no_transponder = 1;
        assert!(matches!(
            r.read_blocks(&UID, 0, 4),
            Err(DeviceError::NoTransponder(_))
        ));
        assert_eq!(r.read_blocks(&UID, 0, 4).unwrap().len(), 4);
        field.take(&UID);
        assert!(matches!(r.eas(&UID), Err(DeviceError::NoTransponder(_))));
        assert!(matches!(
            r.write_afi(&UID, 1),
            Err(DeviceError::NoTransponder(_))
        ));
    }

    #[test]
    fn noise_before_answers_is_skipped_and_counted() {
        let (mut r, _) = rig(vec![tag(UID, 0x07)]);
        faults(&mut r).noise = vec![0x00, 0x11, 0xFF];
        assert_eq!(r.get_afi(&UID).unwrap(), 0x07);
        assert_eq!(r.stats().frames.garbage_bytes, 3);

        // A false start byte whose LEN would swallow the answer: found at
        // the deadline, once the line has gone quiet.
        faults(&mut r).noise = vec![0x42, START, 0x01, 0x00];
        assert_eq!(r.get_afi(&UID).unwrap(), 0x07);
        assert_eq!(r.stats().frames.truncated, 1);

        // A false start whose LEN ends inside the answer: bad CRC, resync.
        faults(&mut r).noise = vec![START, 0x00, 0x06, 0x0A];
        assert_eq!(r.inventory().unwrap(), vec![UID]);
        assert_eq!(r.stats().timeouts, 0);
    }

    #[test]
    fn unrelated_frames_are_ignored() {
        let (mut r, _) = rig(vec![tag(UID, 0x07), tag(UID2, 0x07)]);
        // A stray inventory answer and an AFI answer for another tag arrive
        // before the real answer.
        let mut noise = Response::Inventory {
            afi: 0,
            options: 5,
            uids: vec![UID2],
        }
        .encode();
        noise.extend(
            Response::Afi {
                uid: UID2,
                afi: 0x99,
            }
            .encode(),
        );
        faults(&mut r).noise = noise;
        assert_eq!(r.get_afi(&UID).unwrap(), 0x07);
        assert_eq!(r.stats().unrelated_frames, 2);
    }

    #[test]
    fn split_answers_arrive_whole() {
        let (mut r, _) = rig(vec![tag(UID, 0x07), tag(UID2, 0x07)]);
        faults(&mut r).split = Some(1);
        assert_eq!(r.probe().unwrap(), "3M 810 10.5.0.2");
        assert_eq!(r.inventory().unwrap().len(), 2);
        assert_eq!(r.read_blocks(&UID, 0, 12).unwrap().len(), 12);
        faults(&mut r).split = Some(5);
        faults(&mut r).noise = vec![0xD6, 0x00];
        r.write_afi(&UID, 0xC2).unwrap();
        assert_eq!(r.get_afi(&UID).unwrap(), 0xC2);
        assert_eq!(r.stats().timeouts, 0);
    }

    #[test]
    fn field_changes_show_between_inventories() {
        let (mut r, field) = rig(vec![tag(UID, 0x07)]);
        let mut presence = PresenceTracker::new(1);
        let c = presence.update(r.inventory().unwrap());
        assert_eq!(c.arrived, vec![UID]);
        field.put(tag(UID2, 0x07));
        let c = presence.update(r.inventory().unwrap());
        assert_eq!((c.arrived, c.left), (vec![UID2], vec![]));
        field.take(&UID);
        let c = presence.update(r.inventory().unwrap());
        assert_eq!((c.arrived, c.left), (vec![], vec![UID]));
        field.take(&UID2);
        assert_eq!(r.inventory().unwrap(), Vec::<Uid>::new());
    }

    #[test]
    fn io_errors_are_not_timeouts() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::new(io::ErrorKind::BrokenPipe, "unplugged"))
            }
        }
        impl Write for Broken {
            fn write(&mut self, b: &[u8]) -> io::Result<usize> {
                Ok(b.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut r = Reader3m::new(Broken, T);
        assert!(matches!(r.inventory(), Err(DeviceError::Io(_))));
    }

    #[test]
    fn a_line_that_never_stops_talking_times_out() {
        struct Chatter;
        impl Read for Chatter {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                buf.fill(0x55);
                Ok(buf.len())
            }
        }
        impl Write for Chatter {
            fn write(&mut self, b: &[u8]) -> io::Result<usize> {
                Ok(b.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut r = Reader3m::new(Chatter, T);
        assert!(matches!(r.get_afi(&UID), Err(DeviceError::Timeout(_))));
        assert!(r.stats().frames.garbage_bytes > 0);
    }

    // --- wire budget ---------------------------------------------------------

    struct Counting<P> {
        inner: P,
        out: usize,
        writes: usize,
        inb: usize,
    }
    impl<P: Read> Read for Counting<P> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.inner.read(buf)?;
            self.inb += n;
            Ok(n)
        }
    }
    impl<P: Write> Write for Counting<P> {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.writes += 1;
            let n = self.inner.write(buf)?;
            self.out += n;
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            self.inner.flush()
        }
    }

    #[test]
    fn wire_cost_matches_the_bytes_sent() {
        for (tags, blocks) in [(10usize, 8usize), (10, 28), (3, 1), (0, 8)] {
            let uids: Vec<Uid> = (0..tags as u8)
                .map(|i| [0xE0, 4, 1, 0, 0, 0, 0, i])
                .collect();
            let field = Field::new(uids.iter().map(|u| tag(*u, 7)));
            let port = Counting {
                inner: SimPort::new(Sim3m::new(field)),
                out: 0,
                writes: 0,
                inb: 0,
            };
            let mut r = Reader3m::new(port, T);
            let found = r.inventory().unwrap();
            for u in &found {
                assert_eq!(r.read_blocks(u, 0, blocks as u8).unwrap().len(), blocks);
            }
            let want = inventory_and_read_cost(tags, blocks, 8);
            let s = r.stats();
            let p = r.port();
            assert_eq!(p.writes, want.frames_to_reader, "{tags}×{blocks}");
            assert_eq!(p.out, want.bytes_to_reader, "{tags}×{blocks}");
            assert_eq!(s.frames.frames_ok as usize, want.frames_from_reader);
            assert_eq!(p.inb, want.bytes_from_reader, "{tags}×{blocks}");
        }
        let ten_by_eight = inventory_and_read_cost(10, 8, 8);
        assert_eq!(ten_by_eight.bytes_to_reader, 168);
        assert_eq!(ten_by_eight.bytes_from_reader, 730);
    }

    proptest! {

        #[test]
        fn requests_survive_the_simulator_round_trip(afi in any::<u8>(), first in 0u8..20, count in 0u8..12) {
            let field = Field::new([tag(UID, afi)]);
            let mut r = Reader3m::new(SimPort::new(Sim3m::new(field.clone())), T);
            prop_assert_eq!(r.get_afi(&UID).unwrap(), afi);
            let blocks = field.get(&UID).unwrap().blocks;
            let want: Vec<[u8; 4]> =
                blocks.iter().skip(first.into()).take(count.into()).copied().collect();
            prop_assert_eq!(r.read_blocks(&UID, first, count).unwrap(), want);
        }
    }
}
