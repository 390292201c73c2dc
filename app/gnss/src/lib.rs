//! GNSS for Gridpad: positions, time and tracks from NMEA 0183 receivers
//! (serial, gpsd, replay files), with our own framer and epoch merger on
//! top of `nmea::parse_str`, validity rules, accuracy estimates, a clock
//! offset estimator, track filtering and encoding, geofences and China
//! datum conversions. See `README.md` beside this crate.

pub mod china;
pub mod cli;
pub mod clock;
pub mod decoder;
pub mod fix;
pub mod framer;
pub mod geodesy;
pub mod geofence;
pub mod gridtime;
pub mod merger;
pub mod position;
pub mod sentence;
pub mod source;
pub mod track;

pub use decoder::{decode_all, DecoderStats, NmeaDecoder};
pub use fix::{
    AccuracyModel, AccuracySource, ConstellationCount, Fix, FixMode, FixQuality, InvalidReason,
    SourceKind,
};
pub use merger::{EpochMerger, MergerConfig};
pub use position::{PositionEvidence, PositionTracker};

pub use sentence::Constellation;
