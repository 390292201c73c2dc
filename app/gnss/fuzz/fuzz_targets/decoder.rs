//! Framer + parser + epoch merger on arbitrary bytes, fed in arbitrary
//! chunks with source gaps: must never panic, and every fix it reports must
//! satisfy the fix invariants.
#![no_main]

use gridpad_gnss::{FixMode, MergerConfig, NmeaDecoder};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut d = NmeaDecoder::new(MergerConfig::default());
    let mut fixes = Vec::new();
    // First byte chooses a chunk size so sentence boundaries vary; a
    // chunk starting with 0x00 simulates a source gap (unplug).
    let (chunk, rest) = match data.split_first() {
        Some((c, r)) => (usize::from(*c % 64) + 1, r),
        None => (1, data),
    };
    for part in rest.chunks(chunk) {
        if part.first() == Some(&0) && part.len() == chunk && chunk > 32 {
            fixes.extend(d.gap());
        }
        d.feed_with(part, |f| fixes.push(f));
    }
    fixes.extend(d.finish());
    for f in &fixes {
        if f.mode == FixMode::NoFix {
            assert!(f.lat.is_none() && f.lon.is_none());
            assert!(f.invalid_reason.is_some());
        } else {
            let (lat, lon) = f.position().expect("valid fix has a position");
            assert!(lat.abs() <= 90.0 && lon.abs() <= 180.0);
            assert!(!(lat == 0.0 && lon == 0.0));
            assert!(f.invalid_reason.is_none());
        }
        let _ = serde_json::to_string(f).expect("serialisable");
    }
    let _ = d.stats();
});
