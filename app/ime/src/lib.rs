//! Gridpad pinyin input, without any UI: the on-screen keyboard of `gridpad-ui` drives a
//! [`Composer`] with keystrokes and shows its preedit and candidate page.
//!
//! - [`Lexicon`]: ~96,000 simplified words and characters with frequencies (Debian's Rime
//!   data, see `assets/ime/README.md`) plus Gridpad's domain phrases, indexed by syllable
//!   count and first letters.
//! - [`segment`]: splits typed letters into syllables, initials (`zs`) and a trailing
//!   partial syllable, keeping ambiguous splits (`xian` / `xi an`).
//! - [`UserModel`]: what the user chose, most recent first; serialised by the app into its
//!   encrypted store.
//! - [`Composer`]: one composition: letters in, ranked candidates paged out, partial choices
//!   (`张` then `喆` for `zhangzhe`), committed text.

mod composer;
mod lexicon;
mod segment;
mod user;

pub use composer::{Candidate, Composer};
pub use lexicon::{EntryRef, Lexicon, LexiconError};
pub use segment::{segment, Segmentation, Token};
pub use user::UserModel;
