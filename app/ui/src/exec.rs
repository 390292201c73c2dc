//! Work off the UI thread. The store lives on one worker thread (behind a mutex only the
//! worker and tests touch); a job runs there and its result is handed back to the UI
//! thread through the event loop. Tests use the inline mode: jobs run at once, on the
//! calling thread, so a test sees the result as soon as its click returns.

use gridpad_core::{Error, Store};
use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::{mpsc, Arc, Mutex};

pub type StoreSlot = Arc<Mutex<Option<Store>>>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Jobs run on the caller's thread at once (tests, screenshots).
    Inline,
    /// Jobs run on a worker thread; results come back through the event loop.
    Threaded,
}

type Job = Box<dyn FnOnce(&mut Option<Store>) + Send>;
type Done = Box<dyn FnOnce(Box<dyn Any + Send>)>;

thread_local! {
    static PENDING: RefCell<HashMap<u64, Done>> = RefCell::new(HashMap::new());
}

pub struct Exec {
    mode: Mode,
    slot: StoreSlot,
    tx: Option<mpsc::Sender<Job>>,
    next: Cell<u64>,
}

impl Exec {
    pub fn new(mode: Mode) -> Exec {
        let slot: StoreSlot = Arc::new(Mutex::new(None));
        let tx = match mode {
            Mode::Inline => None,
            Mode::Threaded => {
                let (tx, rx) = mpsc::channel::<Job>();
                let slot = slot.clone();
                std::thread::Builder::new()
                    .name("gridpad-store".into())
                    .spawn(move || {
                        for job in rx {
                            let mut guard = slot.lock().unwrap_or_else(|p| p.into_inner());
                            job(&mut guard);
                        }
                    })
                    .expect("spawn the store thread");
                Some(tx)
            }
        };
        Exec {
            mode,
            slot,
            tx,
            next: Cell::new(1),
        }
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The store itself, for tests and for inline reads (never on the UI thread in
    /// threaded mode).
    pub fn slot(&self) -> &StoreSlot {
        &self.slot
    }

    /// Run `job` with the store slot (open or not) away from the UI thread, then `done`
    /// with its result on the UI thread.
    pub fn run_slot<R: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Option<Store>) -> R + Send + 'static,
        done: impl FnOnce(R) + 'static,
    ) {
        match &self.tx {
            None => {
                let r = {
                    let mut guard = self.slot.lock().unwrap_or_else(|p| p.into_inner());
                    job(&mut guard)
                };
                done(r);
            }
            Some(tx) => {
                let id = self.next.get();
                self.next.set(id + 1);
                PENDING.with(|p| {
                    p.borrow_mut().insert(
                        id,
                        Box::new(move |any: Box<dyn Any + Send>| {
                            if let Ok(r) = any.downcast::<R>() {
                                done(*r);
                            }
                        }),
                    )
                });
                let _ = tx.send(Box::new(move |slot: &mut Option<Store>| {
                    let r = job(slot);
                    let _ = slint::invoke_from_event_loop(move || {
                        if let Some(cb) = PENDING.with(|p| p.borrow_mut().remove(&id)) {
                            cb(Box::new(r));
                        }
                    });
                }));
            }
        }
    }

    /// Like [`Exec::run_slot`] with the open store; fails with "locked" when there is none.
    pub fn run<R: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Store) -> Result<R, Error> + Send + 'static,
        done: impl FnOnce(Result<R, Error>) + 'static,
    ) {
        self.run_slot(
            move |slot| match slot.as_mut() {
                Some(store) => job(store),
                None => Err(Error::NotAllowed("the store is locked".into())),
            },
            done,
        )
    }

    /// Run a read at once on the calling thread (inline mode only: the paged list model
    /// uses it in tests so that rows are there when the list asks for them).
    pub fn run_now<R>(&self, job: impl FnOnce(&Store) -> Result<R, Error>) -> Result<R, Error> {
        let guard = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        match guard.as_ref() {
            Some(s) => job(s),
            None => Err(Error::NotAllowed("the store is locked".into())),
        }
    }
}
