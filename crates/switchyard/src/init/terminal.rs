//! Echo off while keys are typed, restored on every way out: drop (return,
//! error, unwinding) and the signals that end the process (Ctrl-C, hang-up,
//! termination), whose handler restores the terminal before exiting.

#[cfg(unix)]
mod imp {
    use std::sync::OnceLock;

    /// The terminal settings found at start, for the signal handler.
    static SAVED: OnceLock<libc::termios> = OnceLock::new();
    const SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGHUP, libc::SIGTERM];

    extern "C" fn restore_and_exit(sig: libc::c_int) {
        // Only async-signal-safe calls: tcsetattr, write, _exit.
        if let Some(t) = SAVED.get() {
            // SAFETY: `t` is a valid termios; fd 0 is the terminal whose settings it holds.
            unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, t) };
        }
        let nl = b"\n";
        // SAFETY: writes a static buffer to stderr, then ends the process.
        unsafe {
            libc::write(libc::STDERR_FILENO, nl.as_ptr().cast(), nl.len());
            libc::_exit(128 + sig);
        }
    }

    pub struct EchoOff {
        saved: libc::termios,
        handlers: Vec<(libc::c_int, libc::sighandler_t)>,
    }

    impl EchoOff {
        pub fn stdin() -> Result<EchoOff, String> {
            // SAFETY: termios is plain data; tcgetattr fills it or fails.
            let mut saved: libc::termios = unsafe { std::mem::zeroed() };
            // SAFETY: fd 0 and a valid pointer to a termios.
            if unsafe { libc::tcgetattr(libc::STDIN_FILENO, &mut saved) } != 0 {
                return Err(format!(
                    "cannot read the terminal's settings: {}; run `switchyard init </dev/null` to write references to the keys' environment variables instead",
                    std::io::Error::last_os_error()
                ));
            }
            let _ = SAVED.set(saved);
            let handler = restore_and_exit as extern "C" fn(libc::c_int) as libc::sighandler_t;
            let handlers = SIGNALS
                .iter()
                // SAFETY: installs a handler that only makes async-signal-safe calls.
                .map(|&s| (s, unsafe { libc::signal(s, handler) }))
                .collect();
            let mut quiet = saved;
            quiet.c_lflag &= !(libc::ECHO | libc::ECHONL);
            let off = EchoOff { saved, handlers };
            // SAFETY: fd 0 and a valid termios.
            if unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSAFLUSH, &quiet) } != 0 {
                return Err(format!(
                    "cannot turn the terminal's echo off: {}; nothing was written",
                    std::io::Error::last_os_error()
                ));
            }
            Ok(off)
        }
    }

    impl Drop for EchoOff {
        fn drop(&mut self) {
            // SAFETY: fd 0 and the settings read from it.
            unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &self.saved) };
            for &(s, h) in &self.handlers {
                // SAFETY: puts back the handler found before.
                unsafe { libc::signal(s, h) };
            }
        }
    }
}

#[cfg(not(unix))]
mod imp {
    /// No termios here: keys are read as typed.
    pub struct EchoOff;

    impl EchoOff {
        pub fn stdin() -> Result<EchoOff, String> {
            Ok(EchoOff)
        }
    }
}

pub use imp::EchoOff;
