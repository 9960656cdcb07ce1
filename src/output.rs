//! What the commands print: standard output that a reader may close early
//! (`agora sdl content | head`), which ends the program quietly as it does other tools.

use std::fmt::Display;
use std::io::{ErrorKind, Write};

/// Writes `text` to standard output. If the reader has gone away the program exits
/// with success; any other failure to write exits with an error.
pub fn emit(text: impl Display) {
    let mut out = std::io::stdout().lock();
    if let Err(err) = write!(out, "{text}").and_then(|()| out.flush()) {
        if err.kind() == ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: writing the output: {err}");
        std::process::exit(1);
    }
}
