//! Prompt shutdown on SIGTERM/SIGINT.
//!
//! In a container mxd usually runs as PID 1, and the kernel applies no default
//! action to signals PID 1 has not installed a handler for: without this,
//! `docker stop` would wait its full timeout and then SIGKILL.

#[cfg(unix)]
mod imp {
    // libc is linked by std on every unix target anyway, so declaring the two
    // functions needed here avoids depending on the `libc` crate.
    extern "C" {
        fn signal(signum: i32, handler: extern "C" fn(i32)) -> usize;
        fn _exit(code: i32) -> !;
    }

    // Identical on Linux, the BSDs and macOS.
    const SIGINT: i32 = 2;
    const SIGTERM: i32 = 15;
    /// `SIG_ERR` is `(sighandler_t)-1`.
    const SIG_ERR: usize = usize::MAX;

    extern "C" fn on_terminate(_signum: i32) {
        // Only async-signal-safe calls are allowed here: `_exit` is, while
        // `std::process::exit` (atexit handlers, stdio locks) is not. Nothing
        // needs flushing: stdout is line-buffered and storage writes are
        // single appends that have already completed.
        unsafe { _exit(0) }
    }

    pub fn install() {
        for signum in [SIGINT, SIGTERM] {
            // SAFETY: `on_terminate` has the C handler signature and only
            // calls an async-signal-safe function.
            if unsafe { signal(signum, on_terminate) } == SIG_ERR {
                eprintln!("mxd: warning: cannot install handler for signal {signum}");
            }
        }
    }
}

#[cfg(unix)]
pub use imp::install;

/// Elsewhere the platform default (terminate on Ctrl-C) already suffices.
#[cfg(not(unix))]
pub fn install() {}
