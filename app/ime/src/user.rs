//! What the user chose: learned words and the order of recent choices. Typed names are
//! personal data: the app keeps the serialised model in its encrypted store.

use serde::{Deserialize, Serialize};

/// Learned entries kept at most (the least recently used go first).
pub const USER_CAPACITY: usize = 2_000;

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct UserEntry {
    pub text: String,
    /// Syllables separated by spaces: `zhang zhe`.
    pub pinyin: String,
    /// Logical time of the last choice (higher = more recent).
    pub last: u64,
    pub count: u32,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct UserModel {
    clock: u64,
    entries: Vec<UserEntry>,
}

impl UserModel {
    pub fn new() -> UserModel {
        UserModel::default()
    }

    /// Record a choice of `text` read as `pinyin` (space-separated syllables).
    pub fn learn(&mut self, text: &str, pinyin: &str) {
        self.clock += 1;
        let now = self.clock;
        if let Some(e) = self
            .entries
            .iter_mut()
            .find(|e| e.text == text && e.pinyin == pinyin)
        {
            e.last = now;
            e.count = e.count.saturating_add(1);
            return;
        }
        if self.entries.len() >= USER_CAPACITY {
            if let Some(oldest) = self
                .entries
                .iter()
                .enumerate()
                .min_by_key(|(_, e)| e.last)
                .map(|(i, _)| i)
            {
                self.entries.swap_remove(oldest);
            }
        }
        self.entries.push(UserEntry {
            text: text.to_string(),
            pinyin: pinyin.to_string(),
            last: now,
            count: 1,
        });
    }

    /// Forget a learned entry (all its readings).
    pub fn forget(&mut self, text: &str) {
        self.entries.retain(|e| e.text != text);
    }

    pub fn entries(&self) -> &[UserEntry] {
        &self.entries
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    /// A stored model; a damaged one is an error (the caller starts afresh and says so).
    pub fn from_json(s: &str) -> Result<UserModel, serde_json::Error> {
        let mut m: UserModel = serde_json::from_str(s)?;
        m.entries.retain(|e| {
            !e.text.is_empty()
                && e.pinyin.split(' ').count() == e.text.chars().count()
                && e.pinyin
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b' ')
        });
        m.entries.truncate(USER_CAPACITY);
        m.clock = m
            .clock
            .max(m.entries.iter().map(|e| e.last).max().unwrap_or(0));
        Ok(m)
    }
}
