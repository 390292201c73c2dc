//! End-to-end tests of Gridpad through real processes (`gridhub serve` on loopback and
//! the `gridpad` command line): the cases are in `tests/`, their set-up (the binaries,
//! the hub process, enrollment, the cutting proxy) is the test kit's
//! (`gridpad_testkit::process`, `gridpad_testkit::proxy`). The console's browser test
//! drives Chromium through [`webdriver`].

pub mod console;
pub mod webdriver;
