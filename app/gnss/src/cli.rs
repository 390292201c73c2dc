//! `gridpad gnss …` subcommands (wired into the `gridpad` binary).

use crate::clock::format_beijing;
use crate::fix::Fix;
use crate::source::{
    gpsd_source, serial_source, ByteSource, GnssStream, Pacing, ReplaySource, SerialConfig,
};
use anyhow::Context;
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;

/// GNSS commands.
#[derive(Debug, Clone, PartialEq, clap::Subcommand)]
pub enum GnssCommand {
    /// Replay an NMEA capture and print one line per receiver cycle.
    Replay {
        /// Capture file (raw NMEA; `#` comment lines are skipped).
        file: PathBuf,
        /// One JSON object per cycle (gpsd TPV-like, for comparison).
        #[arg(long)]
        json: bool,
        /// Honour sentence timestamps at this multiple of real time.
        #[arg(long, conflicts_with = "realtime")]
        speed: Option<f64>,
        /// Honour sentence timestamps in real time.
        #[arg(long)]
        realtime: bool,
        /// Print counters (framer drops, parse errors…) at the end.
        #[arg(long)]
        stats: bool,
    },
    /// Show live fixes from a serial receiver or gpsd.
    #[command(group(clap::ArgGroup::new("src").required(true).args(["device", "gpsd"])))]
    Watch {
        /// Serial device, e.g. /dev/ttyS1.
        #[arg(long)]
        device: Option<PathBuf>,
        /// Baud rate (default: auto-detect 9600/115200/38400/4800).
        #[arg(long, requires = "device", conflicts_with = "gpsd")]
        baud: Option<u32>,
        /// gpsd address, e.g. 127.0.0.1:2947.
        #[arg(long)]
        gpsd: Option<String>,
        /// One JSON object per cycle.
        #[arg(long)]
        json: bool,
        /// Stop after this many cycles.
        #[arg(long)]
        count: Option<u64>,
    },
}

/// The `--json` line: what gpsd's TPV has, for side-by-side comparison.
#[derive(Debug, Serialize)]
pub struct FixLine<'a> {
    pub time: Option<String>,
    /// gpsd numbering: 1 no fix, 2, 3.
    pub mode: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lon: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alt: Option<f64>,
    pub quality: crate::fix::FixQuality,
    pub sats_used: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hdop: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accuracy: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invalid_reason: Option<&'a crate::fix::InvalidReason>,
}

impl<'a> FixLine<'a> {
    /// From a fix.
    pub fn new(f: &'a Fix) -> Self {
        let round = |v: Option<f64>, k: f64| v.map(|x| (x * k).round() / k);
        Self {
            time: Some(
                f.time
                    .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
                    .unwrap_or_else(|| f.time_of_day.format("%H:%M:%S%.3f").to_string()),
            ),
            mode: f.mode.gpsd_mode(),
            lat: f.lat,
            lon: f.lon,
            alt: f.alt_msl,
            quality: f.quality,
            sats_used: f.sats_used,
            hdop: round(f.hdop, 100.0),
            accuracy: round(f.accuracy_m, 10.0),
            invalid_reason: f.invalid_reason.as_ref(),
        }
    }
}

fn text_line(f: &Fix) -> String {
    let when = f
        .time
        .map(format_beijing)
        .unwrap_or_else(|| format!("{} UTC", f.time_of_day.format("%H:%M:%S%.3f")));
    let view: Vec<String> = f
        .constellations
        .iter()
        .map(|c| format!("{}:{}/{}", c.constellation, c.used, c.in_view))
        .collect();
    match f.position() {
        Some((lat, lon)) => format!(
            "{when}  {:?} {:?}  {lat:.7},{lon:.7}  alt {}  ±{}  sats {} [{}]",
            f.mode,
            f.quality,
            f.alt_msl
                .map(|a| format!("{a:.1} m"))
                .unwrap_or_else(|| "-".into()),
            f.accuracy_m
                .map(|a| format!("{a:.0} m"))
                .unwrap_or_else(|| "?".into()),
            f.sats_used,
            view.join(" ")
        ),
        None => format!(
            "{when}  no fix ({:?})  sats {} [{}]",
            f.invalid_reason
                .unwrap_or(crate::fix::InvalidReason::NoPosition),
            f.sats_used,
            view.join(" ")
        ),
    }
}

fn print_fixes<S: ByteSource>(
    mut stream: GnssStream<S>,
    json: bool,
    count: Option<u64>,
    out: &mut dyn Write,
) -> anyhow::Result<GnssStream<S>> {
    let mut n = 0u64;
    while count.is_none_or(|c| n < c) {
        let Some(fix) = stream.next() else { break };
        let fix = fix.context("reading GNSS source")?;
        if json {
            serde_json::to_writer(&mut *out, &FixLine::new(&fix))?;
            writeln!(out)?;
        } else {
            writeln!(out, "{}", text_line(&fix))?;
        }
        n += 1;
    }
    Ok(stream)
}

/// Runs a command, writing to `out`.
pub fn run(cmd: GnssCommand, out: &mut dyn Write) -> anyhow::Result<()> {
    match cmd {
        GnssCommand::Replay {
            file,
            json,
            speed,
            realtime,
            stats,
        } => {
            let pacing = match (speed, realtime) {
                (Some(s), _) => {
                    anyhow::ensure!(s.is_finite() && s > 0.0, "--speed must be positive");
                    Pacing::Speed(s)
                }
                (None, true) => Pacing::Speed(1.0),
                (None, false) => Pacing::AsFastAsPossible,
            };
            let src = ReplaySource::open(&file, pacing)
                .with_context(|| format!("opening {}", file.display()))?;
            let stream = print_fixes(GnssStream::new(src), json, None, out)?;
            if stats {
                writeln!(out, "{}", serde_json::to_string(&stream.stats())?)?;
            }
        }
        GnssCommand::Watch {
            device,
            baud,
            gpsd,
            json,
            count,
        } => {
            let src = match (device, gpsd) {
                (Some(d), _) => serial_source(SerialConfig::new(d.to_string_lossy(), baud)),
                (None, Some(g)) => gpsd_source(g),
                (None, None) => anyhow::bail!("give --device PATH or --gpsd HOST:PORT"),
            };
            print_fixes(GnssStream::new(src), json, count, out)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(subcommand)]
        cmd: GnssCommand,
    }

    #[test]
    fn parses_arguments() {
        let c = Cli::try_parse_from(["g", "replay", "x.log", "--json", "--speed", "10"]).unwrap();
        assert!(
            matches!(c.cmd, GnssCommand::Replay { json: true, speed: Some(s), .. } if s == 10.0)
        );
        let c = Cli::try_parse_from(["g", "watch", "--device", "/dev/ttyS1", "--baud", "9600"])
            .unwrap();
        assert!(matches!(
            c.cmd,
            GnssCommand::Watch {
                baud: Some(9600),
                ..
            }
        ));
        assert!(Cli::try_parse_from(["g", "watch"]).is_err());
        assert!(Cli::try_parse_from(["g", "watch", "--device", "a", "--gpsd", "b:1"]).is_err());
        assert!(Cli::try_parse_from(["g", "watch", "--gpsd", "h:2947", "--baud", "9600"]).is_err());
        assert!(Cli::try_parse_from(["g", "replay", "x", "--speed", "2", "--realtime"]).is_err());
    }
}
