//! 水印相机: the stamp grid workers know from watermark camera apps — Beijing time (from the
//! GNSS-corrected clock), coordinates with their accuracy, the grid, the reporter — drawn
//! into the picture on a semi-transparent band along the bottom edge, in the bundled Noto
//! Sans CJK SC, scaled with the picture so it reads the same on a thumbnail-sized and on a
//! full-sized photo.
//!
//! The font is loaded from a file (not embedded: it is 16 MB). On a device it is Debian's:
//! the `gridpad` package depends on `fonts-noto-cjk` (which the GUI needs through
//! fontconfig anyway) and the stamp takes the "Noto Sans CJK SC" face of its collection
//! [`DEBIAN_FONT`] — the Simplified Chinese forms, not the collection's first (Japanese)
//! face. Developers' checkouts use the single-face `assets/fonts/NotoSansCJKsc-Regular.otf`.

use ab_glyph::{Font, FontVec, PxScale, ScaleFont};
use chrono::{DateTime, FixedOffset, Utc};
use image::RgbImage;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

pub const FONT_FILE: &str = "NotoSansCJKsc-Regular.otf";

/// Where Debian's `fonts-noto-cjk` (a dependency of the `gridpad` package) installs Noto
/// Sans CJK: one collection of the JP, KR, SC, TC and HK faces.
pub const DEBIAN_FONT: &str = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";

/// The face the stamp draws with (in a collection, found by its family name).
pub const FAMILY: &str = "Noto Sans CJK SC";

/// What the stamp says.
#[derive(Clone, Debug, PartialEq)]
pub struct Stamp {
    /// GNSS-corrected time (device time if there was no fix); shown in Beijing time.
    pub time: DateTime<Utc>,
    /// Whether `time` is GNSS-corrected (else the stamp says 设备时间).
    pub time_corrected: bool,
    /// WGS-84 latitude, longitude; `None` without a fix.
    pub position: Option<(f64, f64)>,
    /// 95 % horizontal accuracy, metres.
    pub accuracy_m: Option<f64>,
    pub grid: String,
    pub reporter: String,
}

impl Stamp {
    /// The lines of the stamp, largest first.
    pub fn lines(&self) -> Vec<String> {
        let bj = FixedOffset::east_opt(8 * 3600).expect("UTC+8");
        let t = self.time.with_timezone(&bj);
        let mut out = vec![format!(
            "{} {}",
            t.format("%Y-%m-%d %H:%M:%S"),
            if self.time_corrected {
                "北京时间"
            } else {
                "设备时间"
            }
        )];
        out.push(match self.position {
            Some((lat, lon)) => {
                let ns = if lat >= 0.0 { 'N' } else { 'S' };
                let ew = if lon >= 0.0 { 'E' } else { 'W' };
                let acc = self
                    .accuracy_m
                    .map(|a| format!(" ±{a:.0}m"))
                    .unwrap_or_default();
                format!("{:.6}°{ns} {:.6}°{ew}{acc}", lat.abs(), lon.abs())
            }
            None => "无定位".to_string(),
        });
        out.push(format!("网格 {}", self.grid));
        out.push(format!("上报人 {}", self.reporter));
        out
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FontError {
    #[error("the watermark font {0} cannot be read: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("the watermark font {0} is not a usable OpenType font")]
    Invalid(PathBuf),
    #[error("the watermark font {FONT_FILE} was not found (looked in {0}); install fonts-noto-cjk or set GRIDPAD_FONT")]
    NotFound(String),
    #[error("the font collection {0} has no {FAMILY} face")]
    NoFace(PathBuf),
}

/// Draws stamps. Cheap to clone (the font is shared).
#[derive(Clone)]
pub struct Watermarker {
    font: Arc<FontVec>,
}

impl std::fmt::Debug for Watermarker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Watermarker")
    }
}

/// Where the stamp looks for its font, in order: `$GRIDPAD_FONT`, `<exe dir>/assets/fonts`
/// (a portable demo), Debian's collection [`DEBIAN_FONT`] (a packaged device), the source
/// tree (a developer's checkout).
#[derive(Clone, Debug)]
pub struct FontSearch {
    pub env: Option<PathBuf>,
    pub exe_dir: Option<PathBuf>,
    pub debian: PathBuf,
    pub source_tree: Option<PathBuf>,
}

impl FontSearch {
    /// This process's search.
    pub fn system() -> FontSearch {
        FontSearch {
            env: std::env::var_os("GRIDPAD_FONT").map(PathBuf::from),
            exe_dir: std::env::current_exe()
                .ok()
                .and_then(|e| e.parent().map(Path::to_path_buf)),
            debian: DEBIAN_FONT.into(),
            source_tree: Some(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../../assets/fonts")
                    .join(FONT_FILE),
            ),
        }
    }

    pub fn candidates(&self) -> Vec<PathBuf> {
        let mut c = Vec::new();
        c.extend(self.env.clone());
        if let Some(dir) = &self.exe_dir {
            c.push(dir.join("assets/fonts").join(FONT_FILE));
        }
        c.push(self.debian.clone());
        c.extend(self.source_tree.clone());
        c
    }

    /// The first candidate that exists.
    pub fn find(&self) -> Result<PathBuf, FontError> {
        let tried = self.candidates();
        tried.iter().find(|p| p.is_file()).cloned().ok_or_else(|| {
            FontError::NotFound(
                tried
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        })
    }
}

/// The index of the [`FAMILY`] face in a font file: 0 for a single font, found by its
/// family name in a collection (`.ttc`).
pub fn face_index(data: &[u8]) -> Option<u32> {
    let Some(count) = ttf_parser::fonts_in_collection(data) else {
        return Some(0);
    };
    (0..count).find(|&i| {
        ttf_parser::Face::parse(data, i).is_ok_and(|face| {
            face.names().into_iter().any(|n| {
                (n.name_id == ttf_parser::name_id::FAMILY
                    || n.name_id == ttf_parser::name_id::TYPOGRAPHIC_FAMILY)
                    && n.to_string().as_deref() == Some(FAMILY)
            })
        })
    })
}

impl Watermarker {
    /// A font file, or the [`FAMILY`] face of a collection.
    pub fn from_path(path: &Path) -> Result<Self, FontError> {
        let data = std::fs::read(path).map_err(|e| FontError::Io(path.to_path_buf(), e))?;
        let index = face_index(&data).ok_or_else(|| FontError::NoFace(path.to_path_buf()))?;
        let font = FontVec::try_from_vec_and_index(data, index)
            .map_err(|_| FontError::Invalid(path.to_path_buf()))?;
        Ok(Watermarker {
            font: Arc::new(font),
        })
    }

    /// The font [`FontSearch::system`] finds; loaded once per process.
    pub fn bundled() -> Result<Self, FontError> {
        static CACHE: OnceLock<Watermarker> = OnceLock::new();
        if let Some(w) = CACHE.get() {
            return Ok(w.clone());
        }
        let w = Watermarker::from_path(&FontSearch::system().find()?)?;
        Ok(CACHE.get_or_init(|| w).clone())
    }

    /// Pixel size of the stamp's main text for a picture of this size.
    pub fn text_px(width: u32, height: u32) -> f32 {
        (width.min(height) as f32 / 34.0).max(11.0)
    }

    /// The band the stamp occupies: (top y, height).
    pub fn band(&self, img_w: u32, img_h: u32, stamp: &Stamp) -> (u32, u32) {
        let (px, _) = self.fit(img_w, img_h, stamp);
        let lines = stamp.lines().len() as f32;
        let line_h = (px * 1.3).ceil();
        let pad = (px * 0.5).ceil();
        let h = ((line_h * lines + 2.0 * pad) as u32).min(img_h);
        (img_h - h, h)
    }

    /// Text size that fits the widest line into the picture's width.
    fn fit(&self, img_w: u32, img_h: u32, stamp: &Stamp) -> (f32, f32) {
        let mut px = Self::text_px(img_w, img_h);
        let pad = (px * 0.5).ceil();
        let avail = img_w as f32 - 2.0 * pad;
        let widest = stamp
            .lines()
            .iter()
            .map(|l| self.line_width(l, px))
            .fold(0.0f32, f32::max);
        if widest > avail && widest > 0.0 {
            px = (px * avail / widest).max(6.0);
        }
        (px, pad)
    }

    fn line_width(&self, text: &str, px: f32) -> f32 {
        let f = self.font.as_scaled(PxScale::from(px));
        let mut w = 0.0;
        let mut prev = None;
        for c in text.chars() {
            let id = f.glyph_id(c);
            if let Some(p) = prev {
                w += f.kern(p, id);
            }
            w += f.h_advance(id);
            prev = Some(id);
        }
        w
    }

    /// Draw `stamp` into `img`.
    pub fn apply(&self, img: &mut RgbImage, stamp: &Stamp) {
        let (w, h) = img.dimensions();
        if w == 0 || h == 0 {
            return;
        }
        let (px, pad) = self.fit(w, h, stamp);
        let (top, _) = self.band(w, h, stamp);
        // Darken the band: 55 % black keeps the scene visible and white text readable
        // on a white wall in sunlight.
        for y in top..h {
            for x in 0..w {
                let p = img.get_pixel_mut(x, y);
                for c in p.0.iter_mut() {
                    *c = ((*c as u32 * 115) / 256) as u8;
                }
            }
        }
        let f = self.font.as_scaled(PxScale::from(px));
        let line_h = (px * 1.3).ceil();
        for (i, line) in stamp.lines().iter().enumerate() {
            let baseline = top as f32 + pad + line_h * i as f32 + f.ascent();
            let mut x = pad;
            let mut prev = None;
            for c in line.chars() {
                let id = f.glyph_id(c);
                if let Some(p) = prev {
                    x += f.kern(p, id);
                }
                let glyph = id.with_scale_and_position(px, ab_glyph::point(x, baseline));
                x += f.h_advance(id);
                prev = Some(id);
                let Some(outline) = self.font.outline_glyph(glyph) else {
                    continue;
                };
                let b = outline.px_bounds();
                outline.draw(|gx, gy, cov| {
                    let xx = b.min.x as i64 + gx as i64;
                    let yy = b.min.y as i64 + gy as i64;
                    if xx < 0 || yy < 0 || xx >= w as i64 || yy >= h as i64 {
                        return;
                    }
                    let p = img.get_pixel_mut(xx as u32, yy as u32);
                    let a = cov.clamp(0.0, 1.0);
                    for ch in p.0.iter_mut() {
                        *ch = (*ch as f32 * (1.0 - a) + 255.0 * a).round() as u8;
                    }
                });
            }
        }
    }
}
