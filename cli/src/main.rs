//! `fzmq`: a ZeroMQ socket on the command line, in the spirit of zmqc and zmqcat.
//!
//! It opens one socket of any type with ferrozmq, binds and/or connects it, sends
//! messages from its arguments or standard input (one per line, split into frames
//! at `--separator`) and prints what it receives (one line per message). It is the
//! quickest way to poke at a ZeroMQ service, libzmq-based or not, from a shell.
//!
//! * `args`: the command line (clap) and the checks across options;
//! * `format`: text/hex rendering and line splitting, pure and unit-tested;
//! * `input`: the messages to send, from arguments and a standard-input thread;
//! * `run`: the socket and the send/receive loop for each socket type.
//!
//! Exit status: 0 on success, 2 on usage errors, 1 on runtime errors (with a message
//! on stderr).

mod args;
mod format;
mod input;
mod run;

use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};

use crate::args::Args;
use crate::run::Failure;

fn main() -> ExitCode {
    let args = Args::parse();
    if let Err(message) = args.check() {
        usage_error(message);
    }
    match run::run(&args) {
        Ok(()) | Err(Failure::OutputClosed) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => usage_error(message),
        Err(Failure::Runtime(message)) => {
            eprintln!("fzmq: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Reports a usage error the way clap does (with the usage line) and exits with 2.
fn usage_error(message: String) -> ! {
    Args::command()
        .error(ErrorKind::ArgumentConflict, message)
        .exit()
}
