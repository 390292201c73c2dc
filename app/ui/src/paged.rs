//! The resident list model: rows come page by page from SQLite, never all at once.
//!
//! - Browsing (no query): the worker counts the residents and finds the row id that
//!   starts every page (one pass over the primary key); a page is then one indexed range
//!   read. The list knows its length at once and asks only for the rows it shows (a
//!   `ListView` instantiates the visible rows only); rows not yet read show as loading and
//!   are filled in when their page arrives.
//! - Searching: the store's Chinese search returns pages with a keyset cursor; the model
//!   fetches the next page when the list comes near its end.
//!
//! Pages are read on the store's worker thread; at most [`MAX_PAGES`] are kept.

use crate::exec::{Exec, Mode};
use crate::PersonRow;
use gridpad_core::search::PersonHit;
use slint::{Model, ModelNotify, ModelTracker, SharedString};
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::{Rc, Weak};

pub const PAGE: usize = 50;
pub const MAX_PAGES: usize = 40;

pub fn person_row(h: &PersonHit) -> PersonRow {
    PersonRow {
        id: h.id.as_str().into(),
        name: h.name.as_str().into(),
        sex: h.sex.as_str().into(),
        birth: h.birth_date.clone().unwrap_or_default().into(),
        id_masked: h.id_number.clone().unwrap_or_default().into(),
        phone_masked: h.phone.clone().unwrap_or_default().into(),
        address: h.address.clone().unwrap_or_default().into(),
        tags: h.tags.first().cloned().unwrap_or_default().into(),
        loaded: true,
    }
}

/// Count, still loading, maybe more (search).
pub type Listener = Box<dyn Fn(usize, bool, bool)>;

enum Source {
    All { starts: Vec<i64> },
    Search { query: String, next: Option<String> },
}

struct State {
    source: Source,
    count: usize,
    pages: HashMap<usize, Vec<PersonRow>>,
    pending: HashSet<usize>,
    ready: bool,
}

pub struct PeopleModel {
    exec: Rc<Exec>,
    state: RefCell<State>,
    notify: ModelNotify,
    me: Weak<PeopleModel>,
    listener: RefCell<Option<Listener>>,
    reads: Cell<usize>,
}

impl PeopleModel {
    /// All residents of the store, in list order.
    pub fn all(exec: Rc<Exec>, listener: Listener) -> Rc<PeopleModel> {
        let m = Self::new(exec, Source::All { starts: vec![] }, listener);
        let weak = m.me.clone();
        m.exec.run(
            |s| {
                let q = s.queries();
                Ok((q.person_count()?, q.person_page_starts(PAGE)?))
            },
            move |r| {
                let Some(m) = weak.upgrade() else { return };
                if let Ok((count, starts)) = r {
                    {
                        let mut st = m.state.borrow_mut();
                        st.count = count as usize;
                        st.source = Source::All { starts };
                        st.ready = true;
                    }
                    m.notify.reset();
                }
                m.tell();
            },
        );
        m
    }

    /// Residents matching `query` (the store's search), best matches first.
    pub fn search(exec: Rc<Exec>, query: &str, listener: Listener) -> Rc<PeopleModel> {
        let m = Self::new(
            exec,
            Source::Search {
                query: query.to_string(),
                next: None,
            },
            listener,
        );
        m.fetch_search(true);
        m
    }

    fn new(exec: Rc<Exec>, source: Source, listener: Listener) -> Rc<PeopleModel> {
        Rc::new_cyclic(|me| PeopleModel {
            exec,
            state: RefCell::new(State {
                source,
                count: 0,
                pages: HashMap::new(),
                pending: HashSet::new(),
                ready: false,
            }),
            notify: ModelNotify::default(),
            me: me.clone(),
            listener: RefCell::new(Some(listener)),
            reads: Cell::new(0),
        })
    }

    /// Pages read from the store so far (the measurement and tests look at it).
    pub fn page_reads(&self) -> usize {
        self.reads.get()
    }

    pub fn is_ready(&self) -> bool {
        self.state.borrow().ready
    }

    fn tell(&self) {
        let (count, loading, more) = {
            let st = self.state.borrow();
            let more = matches!(&st.source, Source::Search { next: Some(_), .. });
            (st.count, !st.ready || !st.pending.is_empty(), more)
        };
        if let Some(l) = self.listener.borrow().as_ref() {
            l(count, loading, more);
        }
    }

    fn fetch_search(&self, first: bool) {
        let (query, cursor) = {
            let mut st = self.state.borrow_mut();
            let (query, cursor) = match &st.source {
                Source::Search { query, next } => (query.clone(), next.clone()),
                Source::All { .. } => return,
            };
            if !first && cursor.is_none() {
                return;
            }
            let page_no = st.count / PAGE;
            if !st.pending.insert(page_no) {
                return;
            }
            (query, cursor)
        };
        self.reads.set(self.reads.get() + 1);
        let weak = self.me.clone();
        self.exec.run(
            move |s| s.search_people(&query, PAGE, cursor.as_deref()),
            move |r| {
                let Some(m) = weak.upgrade() else { return };
                let added = {
                    let mut st = m.state.borrow_mut();
                    st.pending.clear();
                    st.ready = true;
                    match r {
                        Ok(page) => {
                            let start = st.count;
                            let rows: Vec<PersonRow> = page.hits.iter().map(person_row).collect();
                            let n = rows.len();
                            for (i, row) in rows.into_iter().enumerate() {
                                let idx = start + i;
                                st.pages.entry(idx / PAGE).or_default().push(row);
                            }
                            st.count += n;
                            if let Source::Search { next, .. } = &mut st.source {
                                *next = page.next;
                            }
                            Some((start, n))
                        }
                        Err(_) => {
                            if let Source::Search { next, .. } = &mut st.source {
                                *next = None;
                            }
                            None
                        }
                    }
                };
                if let Some((start, n)) = added {
                    if n > 0 {
                        m.notify.row_added(start, n);
                    }
                }
                m.tell();
            },
        );
    }

    fn fetch_page(&self, page_no: usize) {
        let from = {
            let mut st = self.state.borrow_mut();
            let Source::All { starts } = &st.source else {
                return;
            };
            let Some(&from) = starts.get(page_no) else {
                return;
            };
            if !st.pending.insert(page_no) {
                return;
            }
            from
        };
        self.reads.set(self.reads.get() + 1);
        if self.exec.mode() == Mode::Inline {
            // Tests: read at once, no notification needed (the caller is asking now).
            let rows = self
                .exec
                .run_now(|s| s.queries().people_from(from, PAGE))
                .unwrap_or_default();
            let mut st = self.state.borrow_mut();
            st.pending.remove(&page_no);
            st.pages
                .insert(page_no, rows.iter().map(person_row).collect());
            return;
        }
        let weak = self.me.clone();
        self.exec.run(
            move |s| s.queries().people_from(from, PAGE),
            move |r| {
                let Some(m) = weak.upgrade() else { return };
                let count = {
                    let mut st = m.state.borrow_mut();
                    st.pending.remove(&page_no);
                    let rows: Vec<PersonRow> =
                        r.unwrap_or_default().iter().map(person_row).collect();
                    let n = rows.len();
                    st.pages.insert(page_no, rows);
                    if st.pages.len() > MAX_PAGES {
                        // Forget the page farthest from the one just read.
                        if let Some(&far) = st.pages.keys().max_by_key(|&&p| p.abs_diff(page_no)) {
                            st.pages.remove(&far);
                        }
                    }
                    n
                };
                for i in 0..count {
                    m.notify.row_changed(page_no * PAGE + i);
                }
            },
        );
    }
}

impl Model for PeopleModel {
    type Data = PersonRow;

    fn row_count(&self) -> usize {
        self.state.borrow().count
    }

    fn row_data(&self, row: usize) -> Option<PersonRow> {
        let page_no = row / PAGE;
        let (hit, is_search, count) = {
            let st = self.state.borrow();
            if row >= st.count {
                return None;
            }
            let hit = st
                .pages
                .get(&page_no)
                .and_then(|p| p.get(row % PAGE))
                .cloned();
            (hit, matches!(st.source, Source::Search { .. }), st.count)
        };
        if is_search {
            // Near the end of what was found: ask for the next page (not in tests, where
            // the list must not change while it is being read).
            if row + PAGE / 2 >= count && self.exec.mode() == Mode::Threaded {
                self.fetch_search(false);
            }
            return Some(hit.unwrap_or_else(loading_row));
        }
        if let Some(h) = hit {
            return Some(h);
        }
        self.fetch_page(page_no);
        let st = self.state.borrow();
        Some(
            st.pages
                .get(&page_no)
                .and_then(|p| p.get(row % PAGE))
                .cloned()
                .unwrap_or_else(loading_row),
        )
    }

    fn model_tracker(&self) -> &dyn ModelTracker {
        &self.notify
    }

    fn as_any(&self) -> &dyn core::any::Any {
        self
    }
}

fn loading_row() -> PersonRow {
    PersonRow {
        name: SharedString::from("…"),
        loaded: false,
        ..Default::default()
    }
}
