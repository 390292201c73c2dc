//! Framer + sentence parser + epoch merger in one incremental decoder.

use crate::fix::Fix;
use crate::framer::{Framer, FramerStats};
use crate::merger::{EpochMerger, MergerConfig, MergerStats};
use crate::sentence::{parse_sentence, DropReason};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Everything the decoder counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecoderStats {
    pub framer: FramerStats,
    /// Sentences parsed and merged.
    pub parsed: u64,
    /// Proprietary `$P…` sentences dropped.
    pub proprietary: u64,
    /// Frames with a malformed address.
    pub malformed: u64,
    /// `nmea` parse failures by sentence type.
    pub parse_errors: BTreeMap<String, u64>,
    /// Last few texts sent by the receiver (`TXT`, e.g. `ANTENNA OK`).
    pub last_txt: Option<String>,
    pub merger: MergerStats,
}

/// Incremental decoder: bytes in, fixes out.
#[derive(Debug, Default)]
pub struct NmeaDecoder {
    framer: Framer,
    merger: EpochMerger,
    stats: DecoderStats,
}

impl NmeaDecoder {
    /// Decoder with the given merger settings.
    pub fn new(cfg: MergerConfig) -> Self {
        Self {
            framer: Framer::new(),
            merger: EpochMerger::new(cfg),
            stats: DecoderStats::default(),
        }
    }

    /// Feeds bytes, calling `on_fix` for each completed epoch.
    pub fn feed_with(&mut self, data: &[u8], mut on_fix: impl FnMut(Fix)) {
        let Self {
            framer,
            merger,
            stats,
        } = self;
        framer.feed(data, |frame| match parse_sentence(frame) {
            Ok(s) => {
                stats.parsed += 1;
                if let crate::sentence::SentenceData::Txt(t) = &s.data {
                    stats.last_txt = Some(t.clone());
                }
                merger.push_with(s, &mut on_fix);
            }
            Err(DropReason::Proprietary) => stats.proprietary += 1,
            Err(DropReason::Malformed) => stats.malformed += 1,
            Err(DropReason::Parse { kind, .. }) => {
                if stats.parse_errors.len() < 64 || stats.parse_errors.contains_key(&kind) {
                    *stats.parse_errors.entry(kind).or_default() += 1;
                }
            }
        });
    }

    /// Feeds bytes, returning completed epochs.
    pub fn feed(&mut self, data: &[u8]) -> Vec<Fix> {
        let mut out = Vec::new();
        self.feed_with(data, |f| out.push(f));
        out
    }

    /// The source had a gap (unplug, reconnect): drops a partial sentence
    /// and emits the pending epoch.
    pub fn gap(&mut self) -> Option<Fix> {
        self.framer.reset();
        self.merger.flush()
    }

    /// End of stream: same as [`Self::gap`].
    pub fn finish(&mut self) -> Option<Fix> {
        self.gap()
    }

    /// Counters so far.
    pub fn stats(&self) -> DecoderStats {
        let mut s = self.stats.clone();
        s.framer = self.framer.stats().clone();
        s.merger = self.merger.stats().clone();
        s
    }
}

/// Decodes a whole capture in memory (tests, tools).
pub fn decode_all(data: &[u8], cfg: MergerConfig) -> (Vec<Fix>, DecoderStats) {
    let mut d = NmeaDecoder::new(cfg);
    let mut out = d.feed(data);
    out.extend(d.finish());
    (out, d.stats())
}
