//! The service manager's notification protocol (`sd_notify`): `READY=1` once the window
//! is up, `WATCHDOG=1` while the event loop turns. A datagram to `$NOTIFY_SOCKET` (a path,
//! or `@name` for an abstract socket); nothing happens when the variable is unset.

use std::io;
use std::os::unix::net::UnixDatagram;

/// Send `state` to the service manager. `Ok(false)`: not started by one.
pub fn notify(state: &str) -> io::Result<bool> {
    let Some(target) = std::env::var_os("NOTIFY_SOCKET") else {
        return Ok(false);
    };
    send_to(&target.to_string_lossy(), state)?;
    Ok(true)
}

fn send_to(target: &str, state: &str) -> io::Result<()> {
    let sock = UnixDatagram::unbound()?;
    if let Some(name) = target.strip_prefix('@') {
        use std::os::linux::net::SocketAddrExt;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
        sock.send_to_addr(state.as_bytes(), &addr)?;
    } else {
        sock.send_to(state.as_bytes(), target)?;
    }
    Ok(())
}

/// Watchdog pings from the UI thread: if the event loop hangs, they stop and the service
/// manager restarts the app. Interval: half of `$WATCHDOG_USEC`, else 10 s.
pub fn watchdog() -> Option<slint::Timer> {
    std::env::var_os("NOTIFY_SOCKET")?;
    let every = std::env::var("WATCHDOG_USEC")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map(|us| std::time::Duration::from_micros(us / 2))
        .unwrap_or(std::time::Duration::from_secs(10));
    let t = slint::Timer::default();
    t.start(slint::TimerMode::Repeated, every, || {
        let _ = notify("WATCHDOG=1");
    });
    Some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_reach_a_path_socket_and_an_abstract_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let rx = UnixDatagram::bind(&path).unwrap();
        send_to(path.to_str().unwrap(), "READY=1").unwrap();
        let mut buf = [0u8; 64];
        let n = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");

        use std::os::linux::net::SocketAddrExt;
        let name = format!("gridpad-ui-test-{}", std::process::id());
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let rx = UnixDatagram::bind_addr(&addr).unwrap();
        send_to(&format!("@{name}"), "WATCHDOG=1").unwrap();
        let n = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"WATCHDOG=1");
    }

    #[test]
    fn a_missing_socket_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nobody");
        assert!(send_to(path.to_str().unwrap(), "READY=1").is_err());
    }
}
