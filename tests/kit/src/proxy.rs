//! TCP proxies on loopback standing for a bad link between a device and its hub.
//!
//! - [`CuttingProxy`]: forwards to the hub, counts the device→hub bytes that crossed the
//!   link and, once armed, cuts the connection carrying them every `cut_every` bytes
//!   (varied ±25 %); it can also cut hub→device after some bytes, cut the link (bytes in
//!   either direction) every `min..=max` bytes drawn from a seed, cut inside the answer to
//!   a named request, slow each read, or have no signal at all (connections closed at
//!   once).
//! - [`FaultProxy`]: each connection cut after a pseudo-random number of bytes (either
//!   direction) or passed whole, with small delays.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A proxy to one target; stops accepting when dropped.
pub struct CuttingProxy {
    pub addr: SocketAddr,
    /// Device→hub bytes read from the device (what crossed the link).
    pub up: Arc<AtomicU64>,
    /// Connections cut (either direction).
    pub cuts: Arc<AtomicU64>,
    /// Hub→device bytes forwarded to the device.
    pub down: Arc<AtomicU64>,
    /// Connections the device opened through the proxy.
    pub connections: Arc<AtomicU64>,
    /// No signal: every new connection is closed at once.
    pub offline: Arc<AtomicBool>,
    /// A pause before forwarding each device→hub read (µs).
    pub delay_us: Arc<AtomicU64>,
    /// Device→hub bytes between cuts (0: never cut).
    cut_every: Arc<AtomicU64>,
    /// Hub→device bytes after which each connection is cut (`u64::MAX`: never).
    down_cut: Arc<AtomicU64>,
    /// Bytes left before the next cut, and the jitter generator's state.
    budget: Arc<Mutex<(u64, u64)>>,
    /// Cuts of the link whatever the direction ([`CuttingProxy::cut_link_every`]).
    link: Arc<Mutex<LinkCuts>>,
    /// Cuts inside the answer to a named request ([`CuttingProxy::cut_answer_to`]).
    answer: Arc<Mutex<AnswerCuts>>,
    stop: Arc<AtomicBool>,
}

/// The link's cuts: bytes (either direction) left before the next one, drawn from
/// `min..=max` by a seeded generator.
#[derive(Default)]
struct LinkCuts {
    on: bool,
    left: u64,
    min: u64,
    max: u64,
    rng: u64,
}

impl LinkCuts {
    fn draw(&mut self) {
        self.rng = self
            .rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.left = self.min + (self.rng >> 33) % (self.max - self.min + 1);
    }

    /// `n` bytes cross the link: `Some(k)` when the link is cut after `k` of them.
    fn cross(&mut self, n: u64) -> Option<u64> {
        if !self.on {
            return None;
        }
        if n < self.left {
            self.left -= n;
            return None;
        }
        let keep = self.left;
        self.draw();
        Some(keep)
    }
}

/// Answers to cut: requests whose first line starts with `prefix` get `body_bytes` of
/// their answer's body, then the connection is cut; `times` more of them.
#[derive(Default)]
struct AnswerCuts {
    prefix: Vec<u8>,
    body_bytes: usize,
    times: u64,
}

/// Where the answer on one connection is to be cut: once its head has passed, after
/// `body_bytes` more bytes.
struct AnswerCut {
    body_bytes: usize,
    /// The last bytes seen, to find the end of the head (`\r\n\r\n`) across reads.
    tail: Vec<u8>,
    in_body: Option<usize>,
}

impl AnswerCut {
    /// `Some(k)`: forward `k` bytes of this read, then cut.
    fn forward(&mut self, data: &[u8]) -> Option<usize> {
        let mut start = 0;
        if self.in_body.is_none() {
            let mut seen = std::mem::take(&mut self.tail);
            let before = seen.len();
            seen.extend_from_slice(data);
            match seen.windows(4).position(|w| w == b"\r\n\r\n") {
                Some(i) => {
                    start = i + 4 - before;
                    self.in_body = Some(0);
                }
                None => {
                    self.tail = seen[seen.len().saturating_sub(3)..].to_vec();
                    return None;
                }
            }
        }
        let got = self.in_body.as_mut().expect("in the body");
        let body = data.len() - start;
        if *got + body >= self.body_bytes {
            return Some(start + (self.body_bytes - *got));
        }
        *got += body;
        None
    }
}

impl Drop for CuttingProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

impl CuttingProxy {
    /// A pass-through proxy to `target` on a free port of 127.0.0.1.
    pub fn start(target: SocketAddr) -> CuttingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let p = CuttingProxy {
            addr: listener.local_addr().unwrap(),
            up: Arc::new(AtomicU64::new(0)),
            down: Arc::new(AtomicU64::new(0)),
            connections: Arc::new(AtomicU64::new(0)),
            cuts: Arc::new(AtomicU64::new(0)),
            offline: Arc::new(AtomicBool::new(false)),
            delay_us: Arc::new(AtomicU64::new(0)),
            cut_every: Arc::new(AtomicU64::new(0)),
            down_cut: Arc::new(AtomicU64::new(u64::MAX)),
            budget: Arc::new(Mutex::new((u64::MAX, 12345u64))),
            link: Arc::new(Mutex::new(LinkCuts::default())),
            answer: Arc::new(Mutex::new(AnswerCuts::default())),
            stop: Arc::new(AtomicBool::new(false)),
        };
        let (up, cuts, offline, delay) = (
            p.up.clone(),
            p.cuts.clone(),
            p.offline.clone(),
            p.delay_us.clone(),
        );
        let (cut_every, down_cut, budget, stop) = (
            p.cut_every.clone(),
            p.down_cut.clone(),
            p.budget.clone(),
            p.stop.clone(),
        );
        let (down, connections, link, answer) = (
            p.down.clone(),
            p.connections.clone(),
            p.link.clone(),
            p.answer.clone(),
        );
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = conn else { continue };
                if offline.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(target) else {
                    continue;
                };
                connections.fetch_add(1, Ordering::SeqCst);
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                // The answer to cut on this connection, set by the device → hub side when
                // it forwards a request named by `cut_answer_to`.
                let cut_here: Arc<Mutex<Option<AnswerCut>>> = Arc::new(Mutex::new(None));
                // hub → device: free, or cut after `down_cut` bytes on this connection, by
                // the link's cuts, or inside a named answer.
                let (cuts_down, mut left) = (cuts.clone(), down_cut.load(Ordering::SeqCst));
                let (down, link_down, cut_answer) = (down.clone(), link.clone(), cut_here.clone());
                std::thread::spawn(move || {
                    let (mut s, mut c) = (s2, c2);
                    let mut buf = [0u8; 16 * 1024];
                    while let Ok(n) = s.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        let mut keep = (n as u64 >= left).then_some(left as usize);
                        if let Some(k) = link_down.lock().unwrap().cross(n as u64) {
                            keep = Some(keep.map_or(k as usize, |m| m.min(k as usize)));
                        }
                        if let Some(cut) = cut_answer.lock().unwrap().as_mut() {
                            if let Some(k) = cut.forward(&buf[..n]) {
                                keep = Some(keep.map_or(k, |m| m.min(k)));
                            }
                        }
                        if let Some(k) = keep {
                            let _ = c.write_all(&buf[..k]);
                            down.fetch_add(k as u64, Ordering::SeqCst);
                            cuts_down.fetch_add(1, Ordering::SeqCst);
                            let _ = s.shutdown(Shutdown::Both);
                            break;
                        }
                        left -= n as u64;
                        if c.write_all(&buf[..n]).is_err() {
                            break;
                        }
                        down.fetch_add(n as u64, Ordering::SeqCst);
                    }
                    let _ = c.shutdown(Shutdown::Both);
                });
                // device → hub: counted and cut.
                let (up, cuts, cut_every, delay, budget) = (
                    up.clone(),
                    cuts.clone(),
                    cut_every.clone(),
                    delay.clone(),
                    budget.clone(),
                );
                let (link, answer) = (link.clone(), answer.clone());
                std::thread::spawn(move || {
                    let (mut c, mut s) = (client, server);
                    let mut buf = [0u8; 4 * 1024];
                    loop {
                        let n = match c.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        up.fetch_add(n as u64, Ordering::SeqCst);
                        let d = delay.load(Ordering::SeqCst);
                        if d > 0 {
                            std::thread::sleep(Duration::from_micros(d));
                        }
                        {
                            // A named request: its answer is cut (marked before the hub
                            // sees the request, so before any byte of the answer).
                            let mut a = answer.lock().unwrap();
                            if a.times > 0 && buf[..n].starts_with(&a.prefix) {
                                a.times -= 1;
                                *cut_here.lock().unwrap() = Some(AnswerCut {
                                    body_bytes: a.body_bytes,
                                    tail: vec![],
                                    in_body: None,
                                });
                            }
                        }
                        if let Some(keep) = link.lock().unwrap().cross(n as u64) {
                            let _ = s.write_all(&buf[..keep as usize]);
                            cuts.fetch_add(1, Ordering::SeqCst);
                            let _ = s.shutdown(Shutdown::Both);
                            let _ = c.shutdown(Shutdown::Both);
                            break;
                        }
                        let every = cut_every.load(Ordering::SeqCst);
                        let mut b = budget.lock().unwrap();
                        if every == 0 || (n as u64) < b.0 {
                            if every > 0 {
                                b.0 -= n as u64;
                            }
                            drop(b);
                            if s.write_all(&buf[..n]).is_err() {
                                break;
                            }
                            continue;
                        }
                        // Cut: forward up to the cut point, then close both sides.
                        let keep = b.0 as usize;
                        b.1 =
                            b.1.wrapping_mul(6364136223846793005)
                                .wrapping_add(1442695040888963407);
                        b.0 = every * 3 / 4 + (b.1 >> 33) % (every / 2);
                        drop(b);
                        let _ = s.write_all(&buf[..keep]);
                        cuts.fetch_add(1, Ordering::SeqCst);
                        let _ = s.shutdown(Shutdown::Both);
                        let _ = c.shutdown(Shutdown::Both);
                        break;
                    }
                    let _ = s.shutdown(Shutdown::Write);
                });
            }
        });
        p
    }

    /// `http://` and the proxy's address: what the device is told the hub is.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Cut device→hub every `cut_every` bytes (±25 %) from now on; 0: pass everything.
    pub fn arm(&self, cut_every: u64) {
        self.budget.lock().unwrap().0 = cut_every;
        self.cut_every.store(cut_every, Ordering::SeqCst);
    }

    /// Cut the link every `min..=max` bytes (either direction, drawn anew after each cut
    /// by a generator seeded with `seed`): the connection carrying the byte where the
    /// budget runs out is closed there, as a link that keeps dropping closes it.
    pub fn cut_link_every(&self, min: u64, max: u64, seed: u64) {
        assert!(0 < min && min <= max, "a range of bytes between cuts");
        let mut l = self.link.lock().unwrap();
        *l = LinkCuts {
            on: true,
            left: 0,
            min,
            max,
            rng: seed,
        };
        l.draw();
    }

    /// The link stops cutting ([`CuttingProxy::cut_link_every`]).
    pub fn stop_cutting_link(&self) {
        self.link.lock().unwrap().on = false;
    }

    /// The next `times` requests whose first line starts with `request` (e.g. `"POST
    /// /v1/blobs/have "`) get their answer's head and `body_bytes` of its body, then
    /// their connection is cut.
    pub fn cut_answer_to(&self, request: &str, body_bytes: usize, times: u64) {
        *self.answer.lock().unwrap() = AnswerCuts {
            prefix: request.as_bytes().to_vec(),
            body_bytes,
            times,
        };
    }

    /// Cut each new connection after `bytes` hub→device bytes.
    pub fn cut_down_after(&self, bytes: u64) {
        self.down_cut.store(bytes, Ordering::SeqCst);
    }

    /// Pause `delay` before forwarding each device→hub read (at most 4 KB).
    pub fn delay_each_read(&self, delay: Duration) {
        self.delay_us
            .store(delay.as_micros() as u64, Ordering::SeqCst);
    }
}

/// Forwards 127.0.0.1:<port> → the target; each connection is cut after a pseudo-random
/// number of bytes (in either direction) or passes whole, with small delays.
pub struct FaultProxy {
    pub port: u16,
    /// Connections that were given a cut.
    pub cuts: Arc<AtomicU64>,
}

fn next(seed: &AtomicU64) -> u64 {
    let mut x = seed.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::SeqCst);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^ (x >> 29)
}

impl FaultProxy {
    /// A proxy to 127.0.0.1:`target` on a free port.
    pub fn start(target: u16) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let cuts = Arc::new(AtomicU64::new(0));
        let rng = Arc::new(AtomicU64::new(42));
        let c = cuts.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                    continue;
                };
                let r = next(&rng);
                // 40 % of connections are cut somewhere in the first 20 KB.
                let budget = if r % 10 < 4 { Some(r % 20_000) } else { None };
                let left = Arc::new(AtomicU64::new(budget.unwrap_or(u64::MAX)));
                if budget.is_some() {
                    c.fetch_add(1, Ordering::SeqCst);
                }
                let delay = Duration::from_millis(r % 7);
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server.try_clone().unwrap(), client.try_clone().unwrap()),
                ] {
                    let left = left.clone();
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 4096];
                        loop {
                            let n = match from.read(&mut buf) {
                                Ok(0) | Err(_) => break,
                                Ok(n) => n,
                            };
                            std::thread::sleep(delay);
                            let allowed = left.fetch_sub(
                                n.min(left.load(Ordering::SeqCst) as usize) as u64,
                                Ordering::SeqCst,
                            );
                            let send = (allowed as usize).min(n);
                            if to.write_all(&buf[..send]).is_err() || send < n {
                                break;
                            }
                        }
                        let _ = from.shutdown(Shutdown::Both);
                        let _ = to.shutdown(Shutdown::Both);
                    });
                }
            }
        });
        FaultProxy { port, cuts }
    }
}
