//! Under systemd (`Type=notify`, `WatchdogSec=`), `gridhub serve` says READY=1 once it
//! listens and then pings the watchdog. The real binary is started with `NOTIFY_SOCKET`
//! pointing at a datagram socket of the test, as systemd would.

use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::Duration;

struct Killed(std::process::Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn recv(sock: &UnixDatagram) -> String {
    let mut buf = [0u8; 512];
    let n = sock
        .recv(&mut buf)
        .expect("a notification before the timeout");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[test]
fn serve_notifies_ready_once_listening_then_feeds_the_watchdog() {
    let dir = tempfile::tempdir().unwrap();
    let sock_path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    let mut child = Killed(
        Command::new(env!("CARGO_BIN_EXE_gridhub"))
            .args(["--data-dir"])
            .arg(dir.path().join("hub"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("NOTIFY_SOCKET", &sock_path)
            .env("WATCHDOG_USEC", "200000")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let ready = recv(&sock);
    assert_eq!(ready, "READY=1\n");
    // READY comes after the socket is bound: the address is printed and answers now.
    let mut line = String::new();
    BufReader::new(child.0.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .rsplit("http://")
        .next()
        .expect("the listen address on stderr")
        .to_string();
    let stream = std::net::TcpStream::connect(&addr);
    assert!(stream.is_ok(), "{addr} accepts connections after READY=1");
    // WATCHDOG_USEC=200 ms: pings every 100 ms.
    for _ in 0..3 {
        assert_eq!(recv(&sock), "WATCHDOG=1\n");
    }
}

#[test]
fn serve_without_a_notify_socket_still_serves() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Killed(
        Command::new(env!("CARGO_BIN_EXE_gridhub"))
            .args(["--data-dir"])
            .arg(dir.path().join("hub"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env_remove("NOTIFY_SOCKET")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(child.0.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains("serving"), "{line}");
    assert!(child.0.try_wait().unwrap().is_none(), "still running");
}
