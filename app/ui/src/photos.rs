//! Photos on screen: list thumbnails read from the encrypted vault and decoded on the
//! store worker, turned into images on the UI thread (a `slint::Image` is not `Send`).

use gridpad_core::queries::PhotoItem;
use gridpad_core::Store;
use gridpad_photo::Vault;
use slint::{Image, Rgb8Pixel, SharedPixelBuffer};
use std::collections::HashMap;

/// A decoded thumbnail, RGB, ready for the UI thread.
pub struct Thumb {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<u8>,
}

/// Thumbnails of `photos` that are not in `have` yet, by photo SHA-256. A photo without a
/// thumbnail, or one that cannot be read (not on this device, vault damaged), has none:
/// the row shows an empty frame, the photo itself is not touched.
pub fn load_thumbs(store: &Store, photos: &[PhotoItem], have: &[String]) -> HashMap<String, Thumb> {
    let mut out = HashMap::new();
    let Ok(vault) = Vault::open(store.dir(), store.photo_key()) else {
        return out;
    };
    for p in photos {
        if have.contains(&p.sha256) {
            continue;
        }
        let Some(t) = &p.thumb_sha256 else { continue };
        let Ok(bytes) = vault.read(t) else { continue };
        let Ok(img) = image::load_from_memory(&bytes) else {
            continue;
        };
        let rgb = img.to_rgb8();
        out.insert(
            p.sha256.clone(),
            Thumb {
                width: rgb.width(),
                height: rgb.height(),
                rgb: rgb.into_raw(),
            },
        );
    }
    out
}

/// The image of a decoded thumbnail (UI thread).
pub fn image(t: &Thumb) -> Image {
    Image::from_rgb8(SharedPixelBuffer::<Rgb8Pixel>::clone_from_slice(
        &t.rgb, t.width, t.height,
    ))
}

/// Photos offered on a form: the form's own, then unused ones, newest first.
pub const OFFERED: usize = 6;

/// What a photo list load brings back from the worker.
pub type Loaded = (Vec<PhotoItem>, HashMap<String, Thumb>);

/// The photos a form offers (see [`gridpad_core::queries::Queries::draft_photos`]) with
/// the thumbnails not in `have` yet. Runs on the store worker.
pub fn load(
    s: &Store,
    attached: &[String],
    have: &[String],
) -> Result<Loaded, gridpad_core::Error> {
    let photos = s.queries().draft_photos(attached, OFFERED)?;
    let thumbs = load_thumbs(s, &photos, have);
    Ok((photos, thumbs))
}

/// The photo part of a form (a report, a task's feedback): what is offered, what is
/// attached, the thumbnails decoded so far. Lives on the UI thread.
#[derive(Default)]
pub struct PhotoForm {
    pub offered: Vec<PhotoItem>,
    pub thumbs: HashMap<String, Image>,
}

impl PhotoForm {
    /// SHA-256 of the thumbnails already decoded (the worker skips them).
    pub fn have(&self) -> Vec<String> {
        self.thumbs.keys().cloned().collect()
    }

    pub fn absorb(&mut self, (photos, thumbs): Loaded) {
        for (sha, t) in thumbs {
            self.thumbs.insert(sha, image(&t));
        }
        self.offered = photos;
    }

    /// The rows the screen shows.
    pub fn items(&self, attached: &[String]) -> slint::ModelRc<crate::PhotoItem> {
        let items: Vec<crate::PhotoItem> = self
            .offered
            .iter()
            .map(|p| {
                let mut label = crate::format::beijing_opt(p.taken_at.as_deref());
                if let (Some(w), Some(h)) = (p.width, p.height) {
                    label.push_str(&format!(" · {w}×{h}"));
                }
                crate::PhotoItem {
                    sha: p.sha256.as_str().into(),
                    label: label.into(),
                    attached: attached.contains(&p.sha256),
                    thumb: self.thumbs.get(&p.sha256).cloned().unwrap_or_default(),
                    waiting: matches!(p.state.as_str(), "local" | "uploading"),
                }
            })
            .collect();
        slint::ModelRc::new(slint::VecModel::from(items))
    }
}

/// Attach `sha` if it is not attached, detach it if it is.
pub fn toggle(attached: &mut Vec<String>, sha: &str) {
    match attached.iter().position(|p| p == sha) {
        Some(i) => {
            attached.remove(i);
        }
        None => attached.push(sha.to_string()),
    }
}

/// Why a photo could not be taken: a kind the screen words in the user's language
/// (no-new-picture / storage-full / bad-picture / camera / other) and the detail.
#[derive(Clone, Debug, PartialEq)]
pub struct NoPhoto {
    pub kind: &'static str,
    pub detail: String,
}

impl From<&gridpad_photo::PhotoError> for NoPhoto {
    fn from(e: &gridpad_photo::PhotoError) -> NoPhoto {
        use gridpad_photo::camera::CameraError;
        use gridpad_photo::PhotoError as P;
        let kind = match e {
            _ if e.is_storage_full() => "storage-full",
            P::Camera(CameraError::NoNewPicture(_)) => "no-new-picture",
            P::Camera(_) => "camera",
            P::Intake(_) => "bad-picture",
            _ => "other",
        };
        NoPhoto {
            kind,
            detail: e.to_string(),
        }
    }
}

/// Take a photo with the device's camera through the evidence intake (the category's
/// photo policy, the 水印 stamp with the current fix, the encrypted vault) on the store
/// worker; `done` gets its SHA-256 (or why there is none) and the form's photos with
/// it attached (none when the store could not be read).
pub fn take(
    ctx: &crate::controllers::Ctx,
    camera: std::sync::Arc<dyn gridpad_photo::camera::Camera>,
    category: String,
    attached: Vec<String>,
    have: Vec<String>,
    done: impl FnOnce(Result<String, NoPhoto>, Option<Loaded>) + 'static,
) {
    let position = ctx.services.gnss.status().position();
    let reporter = ctx.reporter();
    ctx.exec.run(
        move |s| {
            let taken = gridpad_photo::camera::take_evidence(
                s,
                camera.as_ref(),
                &category,
                Some(&position),
                &reporter,
            );
            let mut attached = attached;
            if let Ok(p) = &taken {
                if !attached.contains(&p.sha256) {
                    attached.push(p.sha256.clone());
                }
            }
            let photos = load(s, &attached, &have)?;
            Ok((
                taken.map(|p| p.sha256).map_err(|e| NoPhoto::from(&e)),
                photos,
            ))
        },
        move |r| match r {
            Ok((taken, photos)) => done(taken, Some(photos)),
            Err(e) => done(
                Err(NoPhoto {
                    kind: "other",
                    detail: e.to_string(),
                }),
                None,
            ),
        },
    );
}
