//! Where outgoing messages come from: the MESSAGE arguments, and standard input.
//!
//! Standard input is read on a thread of its own and handed over through a small
//! bounded channel, because the main loop must never sit in a blocking `read`: it also
//! has to receive (DEALER, ROUTER, ...) and to honour `--timeout`. The bound keeps
//! the reader from running ahead of a socket that is blocked at its high-water mark.
//! The thread is not joined: it may be stuck in `read` on a terminal when fzmq is
//! done, and it ends with the process.
//!
//! Lines are bytes (no UTF-8 required); a line ending (`\n` or `\r\n`) is removed.

use std::collections::VecDeque;
use std::io::{self, BufRead};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Instant;

use crate::format::trim_line_ending;

/// Lines read ahead of the socket at most.
const READ_AHEAD: usize = 16;

/// What [`Input::next`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// The next message (one line or argument, not yet split into frames).
    Message(Vec<u8>),
    /// No more input, ever.
    End,
    /// Nothing arrived on standard input before the given instant.
    Pending,
}

enum Item {
    Arg(String),
    Stdin,
}

/// The outgoing messages, in order.
pub struct Input {
    items: VecDeque<Item>,
    stdin: Option<Receiver<io::Result<Vec<u8>>>>,
    stdin_opened: bool,
}

impl Input {
    /// The arguments in order, each `-` standing for all of standard input; with no
    /// arguments, standard input alone if `stdin_by_default`, else nothing.
    pub fn new(args: &[String], stdin_by_default: bool) -> Input {
        let mut items: VecDeque<Item> = args
            .iter()
            .map(|a| match a.as_str() {
                "-" => Item::Stdin,
                _ => Item::Arg(a.clone()),
            })
            .collect();
        if items.is_empty() && stdin_by_default {
            items.push_back(Item::Stdin);
        }
        Input {
            items,
            stdin: None,
            stdin_opened: false,
        }
    }

    /// True once everything has been taken (standard input only counts as done when
    /// it has been read to its end).
    pub fn is_exhausted(&self) -> bool {
        self.stdin.is_none() && self.items.is_empty()
    }

    /// MESSAGE arguments not taken yet.
    pub fn pending_args(&self) -> usize {
        self.items
            .iter()
            .filter(|i| matches!(i, Item::Arg(_)))
            .count()
    }

    /// The next message, waiting for standard input until `until` at most (`None`:
    /// as long as it takes).
    pub fn next(&mut self, until: Option<Instant>) -> io::Result<Next> {
        loop {
            if let Some(lines) = &self.stdin {
                let got = match until {
                    None => lines.recv().map_err(|_| RecvTimeoutError::Disconnected),
                    Some(t) => lines.recv_timeout(t.saturating_duration_since(Instant::now())),
                };
                match got {
                    Ok(Ok(line)) => return Ok(Next::Message(line)),
                    Ok(Err(e)) => {
                        self.stdin = None;
                        return Err(e);
                    }
                    Err(RecvTimeoutError::Timeout) => return Ok(Next::Pending),
                    Err(RecvTimeoutError::Disconnected) => self.stdin = None,
                }
                continue;
            }
            match self.items.pop_front() {
                None => return Ok(Next::End),
                Some(Item::Arg(a)) => return Ok(Next::Message(a.into_bytes())),
                // Like cat, a second `-` finds standard input already at its end.
                Some(Item::Stdin) if self.stdin_opened => {}
                Some(Item::Stdin) => {
                    self.stdin_opened = true;
                    self.stdin = Some(read_stdin()?);
                }
            }
        }
    }
}

/// Starts the thread that reads standard input line by line.
fn read_stdin() -> io::Result<Receiver<io::Result<Vec<u8>>>> {
    let (tx, rx) = mpsc::sync_channel(READ_AHEAD);
    std::thread::Builder::new()
        .name("fzmq-stdin".into())
        .spawn(move || {
            let mut stdin = io::stdin().lock();
            loop {
                let mut line = Vec::new();
                match stdin.read_until(b'\n', &mut line) {
                    Ok(0) => break,
                    Ok(_) => {
                        let len = trim_line_ending(&line).len();
                        line.truncate(len);
                        if tx.send(Ok(line)).is_err() {
                            break;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        break;
                    }
                }
            }
        })?;
    Ok(rx)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn arguments_in_order_then_end() {
        let mut input = Input::new(&strings(&["a", "", "c"]), true);
        assert_eq!(input.pending_args(), 3);
        assert!(!input.is_exhausted());
        assert_eq!(input.next(None).unwrap(), Next::Message(b"a".to_vec()));
        assert_eq!(input.next(None).unwrap(), Next::Message(b"".to_vec()));
        assert_eq!(input.pending_args(), 1);
        assert_eq!(input.next(None).unwrap(), Next::Message(b"c".to_vec()));
        assert!(input.is_exhausted());
        assert_eq!(input.next(None).unwrap(), Next::End);
    }

    #[test]
    fn no_arguments_and_no_stdin_is_empty() {
        let mut input = Input::new(&[], false);
        assert!(input.is_exhausted());
        assert_eq!(input.next(None).unwrap(), Next::End);
    }

    #[test]
    fn no_arguments_means_stdin_when_sending() {
        let input = Input::new(&[], true);
        assert!(!input.is_exhausted());
        assert_eq!(input.pending_args(), 0);
    }
}
