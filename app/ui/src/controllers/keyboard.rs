//! The on-screen keyboard: keys and candidates from [`KeyboardAdapter`] drive a pinyin
//! [`Composer`]; finished text and editing keys go to the focused field as key events
//! (`Window::dispatch_event`), the way a system input method would deliver them.
//!
//! The lexicon loads on its own thread at start-up; the first keystroke waits for it only
//! if it comes within that first fraction of a second. The user model (learned choices —
//! personal data) lives in the encrypted store's `kv` table; it is read on the store's
//! thread after login and written after each finished choice.

use super::Ctx;
use crate::{AppWindow, KeyboardAdapter};
use gridpad_ime::{Composer, Lexicon, UserModel};
use slint::platform::{Key, WindowEvent};
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::{Arc, OnceLock};

/// Candidates on one page of the bar.
pub const PAGE_SIZE: usize = 5;
/// Where the learned choices live in the store.
pub const USER_MODEL_KEY: &str = "ime.user_model";

type LexSlot = Arc<OnceLock<Option<Arc<Lexicon>>>>;

struct Kb {
    ctx: Rc<Ctx>,
    lexicon: LexSlot,
    composer: RefCell<Option<Composer>>,
    /// The learned choices, read from the store after login (off the UI thread).
    stored_user: RefCell<Option<UserModel>>,
    /// Our own key events must not be taken back by the physical-key hook.
    dispatching: Cell<bool>,
}

/// Whether the keyboard shows by default: always on the device, with `GRIDPAD_OSK=1` on
/// desktops.
pub fn default_enabled() -> bool {
    cfg!(feature = "device") || std::env::var("GRIDPAD_OSK").is_ok_and(|v| v == "1" || v == "true")
}

/// Start loading the lexicon off the UI thread.
fn load_lexicon() -> LexSlot {
    let slot: LexSlot = Arc::new(OnceLock::new());
    let s = slot.clone();
    let spawned = std::thread::Builder::new()
        .name("ime-lexicon".into())
        .spawn(move || {
            let _ = s.set(Lexicon::bundled().ok().map(Arc::new));
        });
    if spawned.is_err() {
        let _ = slot.set(Lexicon::bundled().ok().map(Arc::new));
    }
    slot
}

impl Kb {
    fn ui(&self) -> Option<AppWindow> {
        self.ctx.ui()
    }

    /// The composer, created on first use (lexicon loaded, user model read from the store).
    fn with_composer<R>(&self, f: impl FnOnce(&mut Composer) -> R) -> Option<R> {
        let mut slot = self.composer.borrow_mut();
        if slot.is_none() {
            let lex = self.lexicon.wait().clone()?;
            let user = self.stored_user.borrow_mut().take().unwrap_or_default();
            *slot = Some(Composer::new(lex, user, PAGE_SIZE));
        }
        slot.as_mut().map(f)
    }

    fn send_key(&self, text: SharedString) {
        let Some(ui) = self.ui() else { return };
        self.dispatching.set(true);
        ui.window()
            .dispatch_event(WindowEvent::KeyPressed { text: text.clone() });
        ui.window()
            .dispatch_event(WindowEvent::KeyReleased { text });
        self.dispatching.set(false);
    }

    fn insert(&self, text: &str) {
        if !text.is_empty() {
            self.send_key(text.into());
        }
    }

    fn save_user_model(&self) {
        let json = self.with_composer(|c| c.take_user_changed().then(|| c.user().to_json()));
        if let Some(Some(json)) = json {
            self.ctx.exec.run(
                move |s| s.set_kv(USER_MODEL_KEY, &json),
                |r: Result<(), gridpad_core::Error>| {
                    if let Err(e) = r {
                        eprintln!("gridpad-ui: learned input choices not saved: {e}");
                    }
                },
            );
        }
    }

    /// Show the composition and this page of candidates.
    fn refresh(&self) {
        let Some(ui) = self.ui() else { return };
        let kb = ui.global::<KeyboardAdapter>();
        let state = self.composer.borrow().as_ref().map(|c| {
            (
                c.preedit(),
                c.page()
                    .iter()
                    .map(|x| SharedString::from(x.text.as_str()))
                    .collect::<Vec<_>>(),
                c.page_index() > 0,
                c.page_index() + 1 < c.page_count(),
            )
        });
        let (preedit, cands, prev, next) = state.unwrap_or_default();
        kb.set_preedit(preedit.into());
        kb.set_candidates(ModelRc::new(VecModel::from(cands)));
        kb.set_has_prev_page(prev);
        kb.set_has_next_page(next);
    }

    fn composing(&self) -> bool {
        self.composer
            .borrow()
            .as_ref()
            .is_some_and(|c| c.is_composing())
    }

    /// Finish the composition with its first candidate (before punctuation, a mode switch).
    fn finish(&self) {
        if self.composing() {
            let text = self.with_composer(|c| c.select_first().unwrap_or_else(|| c.commit_raw()));
            if let Some(t) = text {
                self.insert(&t);
            }
            self.save_user_model();
        }
    }

    fn key(&self, k: &str) {
        self.ctx.touch();
        let Some(ui) = self.ui() else { return };
        let kb = ui.global::<KeyboardAdapter>();
        let mode = kb.get_mode();
        match k {
            "backspace" => {
                if !(self.composing() && self.with_composer(|c| c.backspace()) == Some(true)) {
                    self.send_key(Key::Backspace.into());
                }
            }
            "space" => {
                if self.composing() {
                    self.finish();
                } else {
                    self.insert(" ");
                }
            }
            "enter" => {
                if self.composing() {
                    if let Some(t) = self.with_composer(|c| c.commit_raw()) {
                        self.insert(&t);
                    }
                } else {
                    self.send_key(Key::Return.into());
                }
            }
            "next" => {
                self.with_composer(|c| c.next_page());
            }
            "prev" => {
                self.with_composer(|c| c.prev_page());
            }
            "shift" => kb.set_shift(!kb.get_shift()),
            "mode-toggle" => {
                self.finish();
                kb.set_mode(
                    if mode == "pinyin" {
                        "english"
                    } else {
                        "pinyin"
                    }
                    .into(),
                );
            }
            "mode-symbols" => {
                self.finish();
                kb.set_mode("symbols".into());
            }
            "mode-letters" => kb.set_mode("pinyin".into()),
            _ => {
                let letter = k.len() == 1 && k.as_bytes()[0].is_ascii_alphabetic();
                if mode == "pinyin" && letter {
                    self.with_composer(|c| c.push(k.chars().next().unwrap_or('a')));
                } else {
                    self.finish();
                    self.insert(k);
                    if mode == "english" && kb.get_shift() {
                        kb.set_shift(false);
                    }
                }
            }
        }
        self.refresh();
    }

    fn choose(&self, i: usize) {
        self.ctx.touch();
        if let Some(Some(text)) = self.with_composer(|c| c.select(i)) {
            self.insert(&text);
            self.save_user_model();
        }
        self.refresh();
    }

    /// A key from a hardware keyboard while pinyin is on: letters (and, while composing,
    /// Backspace, space, Enter and digits 1–6 for the candidates) go to the composition.
    fn physical(&self, text: &str) -> bool {
        if self.dispatching.get() {
            return false;
        }
        let mut chars = text.chars();
        let (Some(c), None) = (chars.next(), chars.next()) else {
            return false;
        };
        let composing = self.composing();
        if c.is_ascii_alphabetic() {
            self.key(&c.to_ascii_lowercase().to_string());
            return true;
        }
        if !composing {
            return false;
        }
        let backspace: SharedString = Key::Backspace.into();
        let ret: SharedString = Key::Return.into();
        if text == backspace.as_str() {
            self.key("backspace");
        } else if text == ret.as_str() {
            self.key("enter");
        } else if c == ' ' {
            self.key("space");
        } else if let Some(d) = c
            .to_digit(10)
            .filter(|d| (1..=PAGE_SIZE as u32).contains(d))
        {
            self.choose(d as usize - 1);
        } else if c == '=' || c == ']' {
            self.key("next");
        } else if c == '-' || c == '[' {
            self.key("prev");
        } else if c == '\'' {
            self.with_composer(|x| x.push('\''));
            self.refresh();
        } else {
            return false;
        }
        true
    }
}

pub fn setup(ui: &AppWindow, ctx: &Rc<Ctx>) {
    let kb = ui.global::<KeyboardAdapter>();
    kb.set_enabled(default_enabled());
    let state = Rc::new(Kb {
        ctx: ctx.clone(),
        lexicon: load_lexicon(),
        composer: RefCell::new(None),
        stored_user: RefCell::new(None),
        dispatching: Cell::new(false),
    });
    let s = state.clone();
    kb.on_key(move |k| s.key(k.as_str()));
    let s = state.clone();
    kb.on_choose(move |i| s.choose(i.max(0) as usize));
    let s = state.clone();
    kb.on_next_page(move || s.key("next"));
    let s = state.clone();
    kb.on_prev_page(move || s.key("prev"));
    let s = state.clone();
    kb.on_set_mode(move |m| {
        s.finish();
        if let Some(ui) = s.ui() {
            ui.global::<KeyboardAdapter>().set_mode(m);
        }
        s.refresh();
    });
    let s = state.clone();
    kb.on_physical_key(move |t| s.physical(t.as_str()));
    let s = state.clone();
    kb.on_field_changed(move || {
        if let Ok(mut c) = s.composer.try_borrow_mut() {
            if let Some(c) = c.as_mut() {
                c.clear();
            }
        }
        s.refresh();
    });
    // A new login may be another user: forget the composer (and its user model) on lock.
    let s = state.clone();
    ctx.when_shown(crate::Screen::Login, move |_| {
        s.composer.borrow_mut().take();
        s.stored_user.borrow_mut().take();
    });
    // After login: read the learned choices on the store's thread.
    let s = state;
    ctx.when_shown(crate::Screen::Home, move |_| {
        if s.composer.borrow().is_some() {
            return;
        }
        let s = s.clone();
        s.ctx.clone().exec.run(
            |store| store.kv(USER_MODEL_KEY),
            move |r| {
                let user = match r {
                    Ok(Some(json)) => UserModel::from_json(&json).unwrap_or_else(|e| {
                        eprintln!(
                            "gridpad-ui: learned input choices unreadable, starting afresh: {e}"
                        );
                        UserModel::default()
                    }),
                    _ => UserModel::default(),
                };
                let mut composer = s.composer.borrow_mut();
                match composer.as_mut() {
                    Some(c) if !c.is_composing() => c.set_user(user),
                    Some(_) => {}
                    None => *s.stored_user.borrow_mut() = Some(user),
                }
            },
        );
    });
}
