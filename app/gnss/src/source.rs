//! Byte sources behind one interface: serial device (with baud
//! auto-detection and unplug/replug survival), gpsd over TCP, and NMEA
//! replay files. [`GnssStream`] turns any of them into fixes.
//!
//! gpsd is used with `?WATCH={"enable":true,"nmea":true}`: gpsd passes the
//! receiver's NMEA (or NMEA it synthesises for binary receivers) and we run
//! the same framer, merger, validity rules and accuracy model as for a
//! serial receiver, so a fix means the same thing whichever source it came
//! from. gpsd's own JSON lines are skipped by the framer.

use crate::decoder::{DecoderStats, NmeaDecoder};
use crate::fix::{Fix, SourceKind};
use crate::framer::Framer;
use crate::merger::MergerConfig;
use std::collections::VecDeque;
use std::io::{self, BufRead, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Result of one read from a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chunk {
    /// `n` bytes were written to the buffer.
    Data(usize),
    /// The link was lost (unplug, disconnect): any partial sentence is void.
    Gap,
    /// Nothing arrived in time (or reconnecting); call again.
    Idle,
    /// The source is finished (end of a replay file).
    End,
}

/// A stream of raw receiver bytes. Implementations may block briefly
/// (read timeouts, reconnect back-off) but report `Idle` rather than block
/// forever, so the caller can stop them.
pub trait ByteSource: Send {
    /// Reads the next chunk.
    fn read_chunk(&mut self, buf: &mut [u8]) -> io::Result<Chunk>;
    /// Stamped on every fix.
    fn kind(&self) -> SourceKind;
}

impl<T: ByteSource + ?Sized> ByteSource for Box<T> {
    fn read_chunk(&mut self, buf: &mut [u8]) -> io::Result<Chunk> {
        (**self).read_chunk(buf)
    }
    fn kind(&self) -> SourceKind {
        (**self).kind()
    }
}

/// Something that sleeps (injectable for tests).
pub type Sleeper = Box<dyn FnMut(Duration) + Send>;

fn real_sleep() -> Sleeper {
    Box::new(std::thread::sleep)
}

// ---------------------------------------------------------------- replay

/// Replay pacing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pacing {
    /// No delays.
    AsFastAsPossible,
    /// Sentence timestamps are honoured at `factor` × real time
    /// (1.0 = real time, 10.0 = ten times faster).
    Speed(f64),
}

/// Delay before a sentence stamped `cur_ms` when the previous stamp was
/// `prev_ms` (milliseconds of day). Negative steps and jumps over 10 s
/// (garbage times, restarts) do not delay.
pub fn pacing_delay(prev_ms: u32, cur_ms: u32, pacing: Pacing) -> Duration {
    let Pacing::Speed(f) = pacing else {
        return Duration::ZERO;
    };
    if !(f.is_finite() && f > 0.0) {
        return Duration::ZERO;
    }
    let mut d = i64::from(cur_ms) - i64::from(prev_ms);
    if d < -43_200_000 {
        d += 86_400_000; // midnight
    }
    if d <= 0 || d > 10_000 {
        return Duration::ZERO;
    }
    Duration::from_secs_f64(d as f64 / 1000.0 / f)
}

/// Milliseconds of day of a line's sentence time (RMC/GGA/GNS/ZDA/GLL/GST).
pub fn line_time_ms(line: &[u8]) -> Option<u32> {
    let s = std::str::from_utf8(line).ok()?;
    let start = s.find('$')?;
    let mut f = s[start + 1..].split(',');
    let addr = f.next()?;
    let kind = addr.get(2..5)?;
    let field = match kind {
        "RMC" | "GGA" | "GNS" | "ZDA" | "GST" => f.next()?,
        "GLL" => f.nth(4)?,
        _ => return None,
    };
    let b = field.as_bytes();
    if b.len() < 6 || !b[..6].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let h: u32 = field[0..2].parse().ok()?;
    let m: u32 = field[2..4].parse().ok()?;
    let sec: f64 = field[4..].split('*').next()?.parse().ok()?;
    if h > 23 || m > 59 || !(0.0..61.0).contains(&sec) {
        return None;
    }
    Some(h * 3_600_000 + m * 60_000 + (sec * 1000.0).round() as u32)
}

/// Replays an NMEA capture (gpsd regression log format: `#` comment lines
/// skipped, everything else passed through byte for byte).
pub struct ReplaySource<R: BufRead + Send> {
    reader: R,
    pacing: Pacing,
    sleeper: Sleeper,
    line: Vec<u8>,
    pos: usize,
    last_ms: Option<u32>,
    done: bool,
}

impl ReplaySource<io::BufReader<std::fs::File>> {
    /// Opens a capture file.
    pub fn open(path: impl Into<PathBuf>, pacing: Pacing) -> io::Result<Self> {
        let f = std::fs::File::open(path.into())?;
        Ok(Self::new(io::BufReader::new(f), pacing))
    }
}

impl<R: BufRead + Send> ReplaySource<R> {
    /// Replays from any buffered reader.
    pub fn new(reader: R, pacing: Pacing) -> Self {
        Self {
            reader,
            pacing,
            sleeper: real_sleep(),
            line: Vec::new(),
            pos: 0,
            last_ms: None,
            done: false,
        }
    }

    /// Replaces the sleep function (tests).
    pub fn with_sleeper(mut self, s: Sleeper) -> Self {
        self.sleeper = s;
        self
    }
}

impl<R: BufRead + Send> ByteSource for ReplaySource<R> {
    fn read_chunk(&mut self, buf: &mut [u8]) -> io::Result<Chunk> {
        if buf.is_empty() {
            return Ok(Chunk::Idle);
        }
        while self.pos >= self.line.len() {
            if self.done {
                return Ok(Chunk::End);
            }
            self.line.clear();
            self.pos = 0;
            if self.reader.read_until(b'\n', &mut self.line)? == 0 {
                self.done = true;
                return Ok(Chunk::End);
            }
            if self.line.first() == Some(&b'#') {
                self.line.clear();
                continue;
            }
            if let Some(ms) = line_time_ms(&self.line) {
                if let Some(prev) = self.last_ms {
                    let d = pacing_delay(prev, ms, self.pacing);
                    if !d.is_zero() {
                        (self.sleeper)(d);
                    }
                }
                self.last_ms = Some(ms);
            }
        }
        let n = (self.line.len() - self.pos).min(buf.len());
        buf[..n].copy_from_slice(&self.line[self.pos..self.pos + n]);
        self.pos += n;
        Ok(Chunk::Data(n))
    }

    fn kind(&self) -> SourceKind {
        SourceKind::Replay
    }
}

// ------------------------------------------------------------ reconnecting

/// Exponential back-off between reconnect attempts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
    current: Duration,
}

impl Backoff {
    /// Back-off from `initial` doubling up to `max`.
    pub fn new(initial: Duration, max: Duration) -> Self {
        Self {
            initial,
            max,
            current: initial,
        }
    }

    /// Next delay (and doubles the following one).
    pub fn next_delay(&mut self) -> Duration {
        let d = self.current;
        self.current = (self.current * 2).min(self.max);
        d
    }

    /// After a successful connection.
    pub fn reset(&mut self) {
        self.current = self.initial;
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new(Duration::from_millis(500), Duration::from_secs(10))
    }
}

/// Opens a byte stream (serial port, TCP connection…).
pub type Opener = Box<dyn FnMut() -> io::Result<Box<dyn Read + Send>> + Send>;

/// A source that (re)opens its stream on demand: when the device is
/// unplugged or the connection drops, it reports [`Chunk::Gap`], then keeps
/// trying to reopen with back-off, reporting [`Chunk::Idle`] meanwhile.
pub struct ReconnectingSource {
    open: Opener,
    stream: Option<Box<dyn Read + Send>>,
    backoff: Backoff,
    sleeper: Sleeper,
    kind: SourceKind,
    /// Successful (re)openings so far.
    pub connections: u64,
    /// Last open or read error, for display.
    pub last_error: Option<String>,
}

impl ReconnectingSource {
    /// New source using `open` to (re)open the stream.
    pub fn new(open: Opener, kind: SourceKind) -> Self {
        Self {
            open,
            stream: None,
            backoff: Backoff::default(),
            sleeper: real_sleep(),
            kind,
            connections: 0,
            last_error: None,
        }
    }

    /// Replaces the back-off.
    pub fn with_backoff(mut self, b: Backoff) -> Self {
        self.backoff = b;
        self
    }

    /// Replaces the sleep function (tests).
    pub fn with_sleeper(mut self, s: Sleeper) -> Self {
        self.sleeper = s;
        self
    }
}

impl ByteSource for ReconnectingSource {
    fn read_chunk(&mut self, buf: &mut [u8]) -> io::Result<Chunk> {
        let Some(stream) = self.stream.as_mut() else {
            match (self.open)() {
                Ok(s) => {
                    self.stream = Some(s);
                    self.connections += 1;
                    self.backoff.reset();
                }
                Err(e) => {
                    self.last_error = Some(e.to_string());
                    let d = self.backoff.next_delay();
                    (self.sleeper)(d);
                }
            }
            return Ok(Chunk::Idle);
        };
        match stream.read(buf) {
            Ok(0) => {
                self.stream = None;
                Ok(Chunk::Gap)
            }
            Ok(n) => Ok(Chunk::Data(n)),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut
                        | io::ErrorKind::WouldBlock
                        | io::ErrorKind::Interrupted
                ) =>
            {
                Ok(Chunk::Idle)
            }
            Err(e) => {
                self.last_error = Some(e.to_string());
                self.stream = None;
                Ok(Chunk::Gap)
            }
        }
    }

    fn kind(&self) -> SourceKind {
        self.kind
    }
}

// ---------------------------------------------------------------- serial

/// Baud rates tried by auto-detection, most likely first.
pub const AUTO_BAUDS: [u32; 4] = [9600, 115_200, 38_400, 4800];

/// How well a probe of bytes looks like NMEA at the right baud rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BaudScore {
    pub valid: u64,
    pub dropped: u64,
}

impl BaudScore {
    /// Share of checksum-valid candidates.
    pub fn ratio(&self) -> f64 {
        let total = self.valid + self.dropped;
        if total == 0 {
            0.0
        } else {
            self.valid as f64 / total as f64
        }
    }

    /// Good enough to lock on: at least 2 valid sentences, ≥ 50 % valid.
    pub fn acceptable(&self) -> bool {
        self.valid >= 2 && self.ratio() >= 0.5
    }
}

/// Scores a probe by framing it.
pub fn baud_score(bytes: &[u8]) -> BaudScore {
    let mut f = Framer::new();
    f.feed(bytes, |_| {});
    let s = f.stats();
    BaudScore {
        valid: s.sentences,
        dropped: s.dropped(),
    }
}

/// Picks a baud rate: `probe(baud)` returns the bytes read at that rate
/// (about 2 s). The first acceptable candidate wins; otherwise `None`.
pub fn detect_baud(
    candidates: &[u32],
    mut probe: impl FnMut(u32) -> io::Result<Vec<u8>>,
) -> Option<u32> {
    candidates.iter().copied().find(|&b| {
        probe(b)
            .map(|bytes| baud_score(&bytes).acceptable())
            .unwrap_or(false)
    })
}

/// Serial receiver settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SerialConfig {
    pub path: String,
    /// `None` = auto-detect among [`AUTO_BAUDS`].
    pub baud: Option<u32>,
    /// How long to listen at each candidate rate.
    pub probe: Duration,
}

impl SerialConfig {
    /// Device with a fixed or auto-detected rate.
    pub fn new(path: impl Into<String>, baud: Option<u32>) -> Self {
        Self {
            path: path.into(),
            baud,
            probe: Duration::from_secs(2),
        }
    }
}

fn open_port(path: &str, baud: u32) -> io::Result<Box<dyn serialport::SerialPort>> {
    serialport::new(path, baud)
        .timeout(Duration::from_millis(500))
        .open()
        .map_err(io::Error::other)
}

fn probe_port(path: &str, baud: u32, dur: Duration) -> io::Result<Vec<u8>> {
    let mut port = open_port(path, baud)?;
    let start = Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 512];
    while start.elapsed() < dur && out.len() < 4096 {
        match port.read(&mut buf) {
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::TimedOut => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// Serial receiver (`/dev/ttyS*`, `ttyUSB*`, `ttyACM*`), 8N1, reopened with
/// back-off after unplug; the detected baud rate is tried first on reopen.
pub fn serial_source(cfg: SerialConfig) -> ReconnectingSource {
    let mut known = cfg.baud;
    let fixed = cfg.baud.is_some();
    let open: Opener = Box::new(move || {
        let baud = match known {
            Some(b) if fixed => b,
            Some(b) if baud_score(&probe_port(&cfg.path, b, cfg.probe)?).acceptable() => b,
            _ => detect_baud(&AUTO_BAUDS, |b| probe_port(&cfg.path, b, cfg.probe)).ok_or_else(
                || {
                    io::Error::other(format!(
                        "{}: no NMEA at any of {AUTO_BAUDS:?} baud",
                        cfg.path
                    ))
                },
            )?,
        };
        known = Some(baud);
        Ok(Box::new(open_port(&cfg.path, baud)?) as Box<dyn Read + Send>)
    });
    ReconnectingSource::new(open, SourceKind::Serial)
}

// ------------------------------------------------------------------ gpsd

/// The watch command we send: NMEA pass-through, no JSON reports.
pub const GPSD_WATCH: &str = "?WATCH={\"enable\":true,\"nmea\":true};\n";

/// gpsd at `host:port` (usually `127.0.0.1:2947`), reconnected with
/// back-off when gpsd restarts.
pub fn gpsd_source(addr: impl Into<String>) -> ReconnectingSource {
    let addr = addr.into();
    let open: Opener = Box::new(move || {
        let sock = addr
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "gpsd address"))?;
        let mut s = TcpStream::connect_timeout(&sock, Duration::from_secs(3))?;
        s.set_read_timeout(Some(Duration::from_secs(1)))?;
        s.write_all(GPSD_WATCH.as_bytes())?;
        Ok(Box::new(s) as Box<dyn Read + Send>)
    });
    ReconnectingSource::new(open, SourceKind::Gpsd)
}

// ---------------------------------------------------------------- stream

/// Fixes from any [`ByteSource`]; blocking iterator (run it on its own
/// thread and publish to a [`crate::PositionTracker`]).
pub struct GnssStream<S: ByteSource> {
    source: S,
    decoder: NmeaDecoder,
    buf: Vec<u8>,
    queue: VecDeque<Fix>,
    ended: bool,
}

impl<S: ByteSource> GnssStream<S> {
    /// Stream with default merger settings.
    pub fn new(source: S) -> Self {
        let cfg = MergerConfig {
            source: source.kind(),
            ..MergerConfig::default()
        };
        Self::with_config(source, cfg)
    }

    /// Stream with explicit settings (`cfg.source` is taken from the source).
    pub fn with_config(source: S, mut cfg: MergerConfig) -> Self {
        cfg.source = source.kind();
        Self {
            source,
            decoder: NmeaDecoder::new(cfg),
            buf: vec![0; 1024],
            queue: VecDeque::new(),
            ended: false,
        }
    }

    /// Decoder counters.
    pub fn stats(&self) -> DecoderStats {
        self.decoder.stats()
    }

    /// Access to the source (e.g. its last error).
    pub fn source(&self) -> &S {
        &self.source
    }

    /// One step: reads once and returns what became available. `Ok(None)`
    /// with [`Self::is_ended`] false means "nothing yet".
    pub fn poll(&mut self) -> io::Result<Option<Fix>> {
        if let Some(f) = self.queue.pop_front() {
            return Ok(Some(f));
        }
        if self.ended {
            return Ok(None);
        }
        match self.source.read_chunk(&mut self.buf)? {
            Chunk::Data(n) => {
                let q = &mut self.queue;
                self.decoder.feed_with(&self.buf[..n], |f| q.push_back(f));
            }
            Chunk::Gap => self.queue.extend(self.decoder.gap()),
            Chunk::Idle => {}
            Chunk::End => {
                self.queue.extend(self.decoder.finish());
                self.ended = true;
            }
        }
        Ok(self.queue.pop_front())
    }

    /// True once the source ended and all fixes were returned.
    pub fn is_ended(&self) -> bool {
        self.ended && self.queue.is_empty()
    }
}

impl<S: ByteSource> Iterator for GnssStream<S> {
    type Item = io::Result<Fix>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.poll() {
                Ok(Some(f)) => return Some(Ok(f)),
                Ok(None) if self.is_ended() => return None,
                Ok(None) => {}
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacing() {
        let rt = Pacing::Speed(1.0);
        assert_eq!(pacing_delay(1000, 2000, rt), Duration::from_secs(1));
        assert_eq!(
            pacing_delay(1000, 2000, Pacing::Speed(4.0)),
            Duration::from_millis(250)
        );
        assert_eq!(pacing_delay(86_399_000, 0, rt), Duration::from_secs(1));
        assert_eq!(pacing_delay(2000, 1000, rt), Duration::ZERO);
        assert_eq!(pacing_delay(0, 60_000, rt), Duration::ZERO);
        assert_eq!(
            pacing_delay(1000, 2000, Pacing::AsFastAsPossible),
            Duration::ZERO
        );
    }

    #[test]
    fn line_times() {
        assert_eq!(
            line_time_ms(b"$GNGGA,055234.200,4739.71890,N,12219.58362,W,1,14*4A\r\n"),
            Some(21_154_200)
        );
        assert_eq!(
            line_time_ms(b"$GNGLL,4739.71890,N,12219.58362,W,055234.200,A,A*5F"),
            Some(21_154_200)
        );
        assert_eq!(line_time_ms(b"$GPGSA,A,1,,,*1E"), None);
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(350));
        let ds: Vec<_> = (0..4).map(|_| b.next_delay().as_millis()).collect();
        assert_eq!(ds, vec![100, 200, 350, 350]);
        b.reset();
        assert_eq!(b.next_delay().as_millis(), 100);
    }

    #[test]
    fn baud_detection_prefers_valid_nmea() {
        let good = b"$GPGSA,A,1,,,,,,,,,,,,,,,*1E\r\n$GPGSA,A,1,,,,,,,,,,,,,,,*1E\r\n$GPGSA,A,1,,,,,,,,,,,,,,,*1E\r\n".to_vec();
        // What a receiver at 9600 looks like read at 115200: noise with the
        // odd `$`.
        let noise: Vec<u8> = (0..600u32)
            .map(|i| {
                if i % 37 == 0 {
                    b'$'
                } else {
                    (i * 7 % 251) as u8
                }
            })
            .collect();
        assert!(!baud_score(&noise).acceptable());
        let picked = detect_baud(&AUTO_BAUDS, |b| {
            Ok(if b == 38_400 {
                good.clone()
            } else {
                noise.clone()
            })
        });
        assert_eq!(picked, Some(38_400));
        assert_eq!(detect_baud(&AUTO_BAUDS, |_| Ok(noise.clone())), None);
    }
}
