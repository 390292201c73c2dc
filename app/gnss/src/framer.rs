//! Byte-stream framer: turns an arbitrary byte stream (serial port, gpsd,
//! replay file) into checksum-valid NMEA 0183 sentences.
//!
//! Rules:
//! * a sentence starts at `$`; a `$` inside a sentence restarts framing
//!   (the interrupted text is dropped unless it already ended in a valid
//!   `*hh`, which happens when the receiver glues sentences together);
//! * only printable ASCII belongs to a sentence; any other byte ends it
//!   (binary frames from receivers that mix protocols are skipped);
//! * CR or LF ends a sentence; the checksum `*hh` is mandatory and enforced;
//! * sentences longer than [`MAX_SENTENCE_LEN`] are dropped.
//!
//! Every dropped candidate is counted by reason in [`FramerStats`].

use serde::{Deserialize, Serialize};

/// Longest sentence accepted, `$` to checksum inclusive (standard is 82 with
/// CR LF; vendors go up to ~110).
pub const MAX_SENTENCE_LEN: usize = 120;

/// Counters of what the framer saw and dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FramerStats {
    /// Checksum-valid sentences emitted.
    pub sentences: u64,
    /// Bytes outside any sentence (binary frames, line noise, comments).
    pub bytes_skipped: u64,
    /// Candidates whose `*hh` did not match.
    pub bad_checksum: u64,
    /// Candidates without a `*hh` checksum.
    pub missing_checksum: u64,
    /// Candidates longer than [`MAX_SENTENCE_LEN`].
    pub too_long: u64,
    /// Candidates cut by a non-printable byte.
    pub binary: u64,
    /// Candidates cut by a new `$` before they were complete.
    pub interrupted: u64,
    /// Candidates cut by a gap in the source (unplug, reconnect, end).
    pub truncated: u64,
}

impl FramerStats {
    /// Total dropped candidates.
    pub fn dropped(&self) -> u64 {
        self.bad_checksum
            + self.missing_checksum
            + self.too_long
            + self.binary
            + self.interrupted
            + self.truncated
    }
}

/// Why a candidate was rejected (internal).
enum Reject {
    BadChecksum,
    MissingChecksum,
}

/// Incremental NMEA framer.
#[derive(Debug, Clone, Default)]
pub struct Framer {
    buf: Vec<u8>,
    in_sentence: bool,
    stats: FramerStats,
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// XOR checksum of the bytes between `$` and `*`.
pub fn nmea_checksum(body: &[u8]) -> u8 {
    body.iter().fold(0u8, |acc, b| acc ^ b)
}

/// Checks a complete candidate `$body*hh`.
fn check(buf: &[u8]) -> Result<(), Reject> {
    let n = buf.len();
    if n < 4 || buf[n - 3] != b'*' {
        return Err(Reject::MissingChecksum);
    }
    let (Some(h), Some(l)) = (hex_val(buf[n - 2]), hex_val(buf[n - 1])) else {
        return Err(Reject::MissingChecksum);
    };
    if nmea_checksum(&buf[1..n - 3]) == (h << 4) | l {
        Ok(())
    } else {
        Err(Reject::BadChecksum)
    }
}

/// True when the buffer already ends with a well-formed `*hh`.
fn ends_with_checksum(buf: &[u8]) -> bool {
    let n = buf.len();
    n >= 4 && buf[n - 3] == b'*' && hex_val(buf[n - 2]).is_some() && hex_val(buf[n - 1]).is_some()
}

impl Framer {
    /// New framer with empty counters.
    pub fn new() -> Self {
        Self {
            buf: Vec::with_capacity(MAX_SENTENCE_LEN),
            ..Self::default()
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> &FramerStats {
        &self.stats
    }

    /// The source had a gap (unplug, reconnect, end of file): a partial
    /// sentence can never be completed and is dropped.
    pub fn reset(&mut self) {
        if self.in_sentence {
            self.stats.truncated += 1;
        }
        self.in_sentence = false;
        self.buf.clear();
    }

    /// Finishes the current candidate; returns true when it is valid (and
    /// left in `buf`), false when it was dropped.
    fn finish(&mut self) -> bool {
        self.in_sentence = false;
        match check(&self.buf) {
            Ok(()) => {
                self.stats.sentences += 1;
                true
            }
            Err(Reject::BadChecksum) => {
                self.stats.bad_checksum += 1;
                false
            }
            Err(Reject::MissingChecksum) => {
                self.stats.missing_checksum += 1;
                false
            }
        }
    }

    /// Feeds bytes; `sink` receives each valid sentence (without CR LF).
    pub fn feed(&mut self, data: &[u8], mut sink: impl FnMut(&str)) {
        for &b in data {
            self.push_byte(b, &mut sink);
        }
    }

    fn emit(&mut self, sink: &mut impl FnMut(&str)) {
        // Only printable ASCII is ever stored, so this cannot fail.
        if let Ok(s) = std::str::from_utf8(&self.buf) {
            sink(s);
        }
        self.buf.clear();
    }

    fn push_byte(&mut self, b: u8, sink: &mut impl FnMut(&str)) {
        match b {
            b'$' => {
                if self.in_sentence {
                    if ends_with_checksum(&self.buf) {
                        // Glued sentences: `...*hh$GP...`.
                        if self.finish() {
                            self.emit(sink);
                        }
                    } else {
                        self.stats.interrupted += 1;
                    }
                }
                self.buf.clear();
                self.buf.push(b'$');
                self.in_sentence = true;
            }
            b'\r' | b'\n' => {
                if self.in_sentence && self.finish() {
                    self.emit(sink);
                }
                self.buf.clear();
            }
            _ if !self.in_sentence => self.stats.bytes_skipped += 1,
            0x20..=0x7e => {
                if self.buf.len() >= MAX_SENTENCE_LEN {
                    self.stats.too_long += 1;
                    self.in_sentence = false;
                    self.buf.clear();
                } else {
                    self.buf.push(b);
                }
            }
            _ => {
                // Binary byte: a sentence already complete up to `*hh` is
                // kept (NMEA glued to a binary frame), anything else dropped.
                if ends_with_checksum(&self.buf) {
                    if self.finish() {
                        self.emit(sink);
                    }
                } else {
                    self.stats.binary += 1;
                    self.in_sentence = false;
                }
                self.buf.clear();
                self.stats.bytes_skipped += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(data: &[u8]) -> (Vec<String>, FramerStats) {
        let mut f = Framer::new();
        let mut out = Vec::new();
        f.feed(data, |s| out.push(s.to_string()));
        (out, f.stats().clone())
    }

    const GGA: &str = "$GPGGA,000343.03,4808.9993,N,01135.0798,E,1,04,01.4,00460.0,M,0046.2,M,,*56";

    #[test]
    fn valid_sentence_with_crlf() {
        let (out, st) = frames(format!("{GGA}\r\n").as_bytes());
        assert_eq!(out, vec![GGA.to_string()]);
        assert_eq!(st.sentences, 1);
        assert_eq!(st.dropped(), 0);
    }

    #[test]
    fn bad_checksum_dropped() {
        let bad = GGA.replace("*56", "*57");
        let (out, st) = frames(format!("{bad}\r\n").as_bytes());
        assert!(out.is_empty());
        assert_eq!(st.bad_checksum, 1);
    }

    #[test]
    fn missing_checksum_dropped() {
        let (out, st) = frames(b"$GPGSA,A,1,,,,\r\n");
        assert!(out.is_empty());
        assert_eq!(st.missing_checksum, 1);
    }

    #[test]
    fn restart_on_dollar() {
        let (out, st) = frames(format!("$GPRMC,000346.03,A,4808{GGA}\n").as_bytes());
        assert_eq!(out, vec![GGA.to_string()]);
        assert_eq!(st.interrupted, 1);
    }

    #[test]
    fn glued_after_checksum_kept() {
        let (out, _) = frames(format!("$GPGSA,A,1,,,,,,,,,,,,,,,*1E{GGA}\n").as_bytes());
        assert_eq!(
            out,
            vec!["$GPGSA,A,1,,,,,,,,,,,,,,,*1E".to_string(), GGA.to_string()]
        );
    }

    #[test]
    fn binary_garbage_skipped_and_glued_binary() {
        let mut data = vec![0xb5, 0x62, 0x01, 0x07, b'$', 0x00, 0xff];
        data.extend_from_slice(GGA.as_bytes());
        data.extend_from_slice(&[0xba, 0xce, 0x10, 0x00]);
        data.extend_from_slice(GGA.as_bytes());
        data.push(b'\n');
        let (out, st) = frames(&data);
        assert_eq!(out, vec![GGA.to_string(), GGA.to_string()]);
        assert_eq!(st.binary, 1);
        assert!(st.bytes_skipped >= 8);
    }

    #[test]
    fn too_long_dropped() {
        let long = format!("$GPTXT,{}*00\n", "A".repeat(200));
        let (out, st) = frames(long.as_bytes());
        assert!(out.is_empty());
        assert_eq!(st.too_long, 1);
    }

    #[test]
    fn reset_counts_truncated_and_resumes() {
        let mut f = Framer::new();
        let mut out = Vec::new();
        f.feed(&GGA.as_bytes()[..30], |s| out.push(s.to_string()));
        f.reset();
        f.feed(&GGA.as_bytes()[30..], |s| out.push(s.to_string()));
        f.feed(b"\n", |s| out.push(s.to_string()));
        f.feed(format!("{GGA}\n").as_bytes(), |s| out.push(s.to_string()));
        assert_eq!(out, vec![GGA.to_string()]);
        assert_eq!(f.stats().truncated, 1);
    }

    #[test]
    fn lowercase_hex_checksum_accepted() {
        let s = "$GPGSA,A,1,,,,,,,,,,,,,,,*1e";
        let (out, _) = frames(format!("{s}\n").as_bytes());
        assert_eq!(out.len(), 1);
    }
}
