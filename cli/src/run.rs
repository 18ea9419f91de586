//! The run itself: one socket set up from the arguments, then the loop its role calls
//! for, until the count, the time limit or the end of input stops it.
//!
//! A socket is used from one thread, and input lines arrive through a channel from
//! the reader thread (which no `Poller` can watch), so a socket that both sends and
//! receives (DEALER, ROUTER, PAIR, XPUB, XSUB) takes turns: it prints what has
//! arrived, then waits briefly ([`POLL`]) for a line of input, and so on. Every other
//! role blocks in exactly one place at a time. All waits end at the `--timeout`
//! deadline, which also bounds the linger when the socket closes.
//!
//! When the limit ends a run, the exit status says whether something was cut short:
//! a `-n` count not reached, MESSAGE arguments not sent, a REQ left without its reply.

use std::io::{self, Write};
use std::time::{Duration, Instant};

use ferrozmq::{Context, Error, Message, Socket};

use crate::args::{Args, Kind, MillisOrNever, Role};
use crate::format::{render_frame, render_message, split_frames, Format};
use crate::input::{Input, Next};

/// How long a two-way socket waits for input before looking for messages again.
const POLL: Duration = Duration::from_millis(10);

/// The linger unless --linger says otherwise. libzmq's (and the library's) default,
/// until delivered, makes a tool that has sent to a peer that went away hang at exit;
/// a second is plenty for a peer that is still there to take the last messages.
const DEFAULT_LINGER: Duration = Duration::from_millis(1000);

/// Why a run did not succeed.
#[derive(Debug)]
pub enum Failure {
    /// Arguments that turned out invalid when applied (exit status 2).
    Usage(String),
    /// Something went wrong while running (exit status 1).
    Runtime(String),
    /// Standard output was closed (e.g. `| head -1`): a normal end.
    OutputClosed,
}

/// Runs the socket the arguments describe.
pub fn run(args: &Args) -> Result<(), Failure> {
    let deadline = args.timeout.map(|t| Instant::now() + t);
    let ctx = Context::new();
    let socket = ctx
        .socket(args.kind.socket_type())
        .map_err(|e| Failure::Runtime(format!("cannot create the socket: {e}")))?;
    configure(&socket, args)?;
    attach(&socket, args)?;

    let result = Session {
        socket: &socket,
        args,
        deadline,
        format: args.output_format(),
        separator: args.output_separator(),
        sent: 0,
        received: 0,
    }
    .run();

    // Closing waits for queued messages up to the linger period; the time limit
    // covers that wait too.
    if let Some(deadline) = deadline {
        let left = deadline.saturating_duration_since(Instant::now());
        let linger = socket.linger().map_or(left, |l| l.min(left));
        socket.set_linger(Some(linger));
    }
    drop(socket);
    drop(ctx);
    result
}

/// Applies the socket options; they must precede bind and connect to apply to them.
fn configure(socket: &Socket, args: &Args) -> Result<(), Failure> {
    if let Some(hwm) = args.sndhwm {
        socket.set_sndhwm(hwm);
    }
    if let Some(hwm) = args.rcvhwm {
        socket.set_rcvhwm(hwm);
    }
    match args.linger {
        Some(MillisOrNever(linger)) => socket.set_linger(linger),
        // The library's default is 0 for SUB and XSUB: keep that.
        None => socket.set_linger(Some(
            socket
                .linger()
                .map_or(DEFAULT_LINGER, |l| l.min(DEFAULT_LINGER)),
        )),
    }
    if let Some(MillisOrNever(ivl)) = args.reconnect_ivl {
        socket.set_reconnect_ivl(ivl);
    }
    if let Some(id) = &args.identity {
        socket
            .set_routing_id(id.clone())
            .map_err(|e| option_failure("--identity", e))?;
    }
    if args.kind == Kind::Router {
        // Block on a full peer instead of dropping (an echo server outpacing its
        // I/O thread would lose replies), and say so when an id names no peer.
        socket
            .set_router_mandatory(true)
            .map_err(|e| option_failure("ROUTER_MANDATORY", e))?;
    }
    if args.conflate {
        socket
            .set_conflate(true)
            .map_err(|e| option_failure("--conflate", e))?;
    }
    if args.kind == Kind::Sub && args.subscribe.is_empty() {
        socket
            .subscribe("")
            .map_err(|e| option_failure("--subscribe", e))?;
    }
    for prefix in &args.subscribe {
        socket
            .subscribe(prefix)
            .map_err(|e| option_failure("--subscribe", e))?;
    }
    Ok(())
}

/// Reports a ROUTER message whose first frame names no connected peer (dropped; the
/// run goes on, as a server's would).
fn unroutable(frames: &[Message]) {
    let id = frames.first().map_or_else(String::new, |id| {
        render_frame(id, Format::Auto).into_owned()
    });
    eprintln!("fzmq: no peer with routing id {id:?}; message dropped");
}

/// An option the library refused: a usage error if the value or socket type was wrong.
fn option_failure(option: &str, e: Error) -> Failure {
    match e {
        Error::InvalidOption(why) => Failure::Usage(format!("{option}: {why}")),
        other => Failure::Runtime(format!("{option}: {other}")),
    }
}

/// Binds, then connects. A bind to port `*` reports the port chosen on stderr.
fn attach(socket: &Socket, args: &Args) -> Result<(), Failure> {
    for endpoint in &args.bind {
        socket
            .bind(endpoint)
            .map_err(|e| endpoint_failure("bind to", endpoint, e))?;
        if endpoint.ends_with(":*") {
            eprintln!("fzmq: bound to {}", socket.last_endpoint());
        }
    }
    for endpoint in &args.connect {
        socket
            .connect(endpoint)
            .map_err(|e| endpoint_failure("connect to", endpoint, e))?;
    }
    Ok(())
}

fn endpoint_failure(verb: &str, endpoint: &str, e: Error) -> Failure {
    let message = format!("cannot {verb} {endpoint}: {e}");
    match e {
        Error::Endpoint(_) => Failure::Usage(message),
        _ => Failure::Runtime(message),
    }
}

/// A connected socket and what it has done so far.
struct Session<'a> {
    socket: &'a Socket,
    args: &'a Args,
    deadline: Option<Instant>,
    format: Format,
    separator: &'a str,
    sent: u64,
    received: u64,
}

impl Session<'_> {
    fn run(&mut self) -> Result<(), Failure> {
        let role = self.args.kind.role();
        if self.args.echo {
            return self.echo();
        }
        if role != Role::RecvOnly && role != Role::Reply {
            if let Some(delay) = self.args.delay {
                std::thread::sleep(self.capped(delay));
            }
        }
        let input = || Input::new(&self.args.messages, true);
        match role {
            Role::SendOnly => self.send_only(input()),
            Role::RecvOnly => self.recv_only(),
            Role::Request => self.request(input()),
            Role::Reply => self.reply(input()),
            Role::Duplex => self.duplex(input()),
        }
    }

    /// PUB, PUSH: send the input, stop at its end or after `-n` messages.
    fn send_only(&mut self, mut input: Input) -> Result<(), Failure> {
        loop {
            if self.reached(self.sent) {
                return Ok(());
            }
            if self.expired() {
                return self.timed_out(Some(&input), self.sent);
            }
            match self.next_input(&mut input, self.deadline)? {
                Next::Message(line) => self.send_line(&line)?,
                Next::End => return Ok(()),
                Next::Pending => return self.timed_out(Some(&input), self.sent),
            }
        }
    }

    /// SUB, PULL: print what arrives.
    fn recv_only(&mut self) -> Result<(), Failure> {
        loop {
            if self.reached(self.received) {
                return Ok(());
            }
            if self.expired() {
                return self.timed_out(None, self.received);
            }
            match self.recv(self.deadline)? {
                Some(msg) => self.take(&msg)?,
                None => return self.timed_out(None, self.received),
            }
        }
    }

    /// REQ: each input message is a request; print its reply before the next one.
    fn request(&mut self, mut input: Input) -> Result<(), Failure> {
        loop {
            if self.reached(self.received) {
                return Ok(());
            }
            if self.expired() {
                return self.timed_out(Some(&input), self.received);
            }
            match self.next_input(&mut input, self.deadline)? {
                Next::Message(line) => {
                    self.send_line(&line)?;
                    match self.recv(self.deadline)? {
                        Some(reply) => self.take(&reply)?,
                        None => {
                            return Err(Failure::Runtime(format!(
                                "timed out after {:?} waiting for a reply",
                                self.limit()
                            )))
                        }
                    }
                }
                Next::End => return Ok(()),
                Next::Pending => return self.timed_out(Some(&input), self.received),
            }
        }
    }

    /// REP without --echo: print each request and answer it with the next input
    /// message; stop when the input runs out.
    fn reply(&mut self, mut input: Input) -> Result<(), Failure> {
        loop {
            if self.reached(self.received) || input.is_exhausted() {
                return Ok(());
            }
            if self.expired() {
                return self.timed_out(None, self.received);
            }
            let Some(request) = self.recv(self.deadline)? else {
                return self.timed_out(None, self.received);
            };
            self.take(&request)?;
            match self.next_input(&mut input, self.deadline)? {
                Next::Message(line) => self.send_line(&line)?,
                Next::End => {
                    eprintln!("fzmq: input ended; the last request got no reply");
                    return Ok(());
                }
                Next::Pending => {
                    return Err(Failure::Runtime(format!(
                        "timed out after {:?} waiting for a reply on standard input",
                        self.limit()
                    )))
                }
            }
        }
    }

    /// --echo: send every message back as it came (a ROUTER's first frame, the
    /// sender's routing id, takes it back to the sender), and print it.
    fn echo(&mut self) -> Result<(), Failure> {
        loop {
            if self.reached(self.received) {
                return Ok(());
            }
            if self.expired() {
                return self.timed_out(None, self.received);
            }
            let Some(msg) = self.recv(self.deadline)? else {
                return self.timed_out(None, self.received);
            };
            self.received += 1;
            self.send(msg.clone())?;
            self.print(&msg)?;
        }
    }

    /// DEALER, ROUTER, PAIR, XPUB, XSUB: send the input as it comes and print what
    /// arrives meanwhile. Stops once the input is all sent and `-n` messages were
    /// received (never, without -n).
    ///
    /// While it still receives, it never blocks in a send: a message that finds no
    /// room is kept and retried after reading what has arrived. Two such sockets
    /// sending to each other faster than they read would otherwise both block in
    /// send with full queues, and neither would read again.
    fn duplex(&mut self, mut input: Input) -> Result<(), Failure> {
        let mut unsent: Option<Vec<Message>> = None;
        loop {
            if unsent.is_none() && input.is_exhausted() && self.reached(self.received) {
                return Ok(());
            }
            if self.expired() {
                if unsent.is_some() {
                    return Err(self.not_sent());
                }
                return self.timed_out(Some(&input), self.received);
            }
            while !self.reached(self.received) {
                match self.try_recv()? {
                    Some(msg) => self.take(&msg)?,
                    None => break,
                }
            }
            let receiving = !self.reached(self.received);
            if unsent.is_none() && !input.is_exhausted() {
                let until = if receiving {
                    self.soon(POLL)
                } else {
                    self.deadline
                };
                if let Next::Message(line) = self.next_input(&mut input, until)? {
                    unsent = Some(self.frames(&line));
                }
            }
            match unsent.take() {
                Some(msg) if receiving => {
                    unsent = self.try_send(msg)?;
                    // No room: wait a little for a message (or for room).
                    if unsent.is_some() {
                        if let Some(msg) = self.recv(self.soon(POLL))? {
                            self.take(&msg)?;
                        }
                    }
                }
                Some(msg) => self.send(msg)?,
                None if input.is_exhausted() && receiving => match self.recv(self.deadline)? {
                    Some(msg) => self.take(&msg)?,
                    None => return self.timed_out(Some(&input), self.received),
                },
                None => {}
            }
        }
    }

    // ----- steps -----

    fn next_input(&self, input: &mut Input, until: Option<Instant>) -> Result<Next, Failure> {
        input
            .next(until)
            .map_err(|e| Failure::Runtime(format!("cannot read standard input: {e}")))
    }

    /// An input line split into the frames of one message.
    fn frames(&self, line: &[u8]) -> Vec<Message> {
        let separator = self.args.separator.as_deref().map(str::as_bytes);
        split_frames(line, separator)
            .into_iter()
            .map(Message::from)
            .collect()
    }

    /// Sends an input line as one message.
    fn send_line(&mut self, line: &[u8]) -> Result<(), Failure> {
        let frames = self.frames(line);
        self.send(frames)
    }

    /// Sends one message, waiting for room until the deadline.
    fn send(&mut self, frames: Vec<Message>) -> Result<(), Failure> {
        self.socket.set_send_timeout(self.remaining());
        match self.socket.send_multipart(frames) {
            Ok(()) => {
                self.sent += 1;
                Ok(())
            }
            Err(e) if matches!(e.error, Error::TimedOut) => Err(self.not_sent()),
            Err(e) if matches!(e.error, Error::HostUnreachable) => {
                unroutable(&e.message);
                Ok(())
            }
            Err(e) => Err(Failure::Runtime(format!("cannot send: {}", e.error))),
        }
    }

    /// Sends one message if there is room now; hands it back if there is not.
    fn try_send(&mut self, frames: Vec<Message>) -> Result<Option<Vec<Message>>, Failure> {
        match self.socket.try_send_multipart(frames) {
            Ok(()) => {
                self.sent += 1;
                Ok(None)
            }
            Err(e) if matches!(e.error, Error::WouldBlock) => Ok(Some(e.message)),
            Err(e) if matches!(e.error, Error::HostUnreachable) => {
                unroutable(&e.message);
                Ok(None)
            }
            Err(e) => Err(Failure::Runtime(format!("cannot send: {}", e.error))),
        }
    }

    /// The time limit ran out with a message still waiting for room.
    fn not_sent(&self) -> Failure {
        Failure::Runtime(format!(
            "timed out after {:?} with a message not sent ({} sent)",
            self.limit(),
            self.sent
        ))
    }

    /// The next message, waiting until `until` (`None`: forever); `None` if none came.
    fn recv(&mut self, until: Option<Instant>) -> Result<Option<Vec<Message>>, Failure> {
        self.socket
            .set_recv_timeout(until.map(|t| t.saturating_duration_since(Instant::now())));
        Self::received(self.socket.recv_multipart())
    }

    /// A message that has already arrived, if any.
    fn try_recv(&mut self) -> Result<Option<Vec<Message>>, Failure> {
        Self::received(self.socket.try_recv_multipart())
    }

    fn received(result: ferrozmq::Result<Vec<Message>>) -> Result<Option<Vec<Message>>, Failure> {
        match result {
            Ok(msg) => Ok(Some(msg)),
            Err(Error::TimedOut | Error::WouldBlock) => Ok(None),
            Err(e) => Err(Failure::Runtime(format!("cannot receive: {e}"))),
        }
    }

    /// Counts and prints a received message.
    fn take(&mut self, msg: &[Message]) -> Result<(), Failure> {
        self.received += 1;
        self.print(msg)
    }

    /// Prints a message as one line, unless --quiet.
    fn print(&self, msg: &[Message]) -> Result<(), Failure> {
        if self.args.quiet {
            return Ok(());
        }
        let mut line = render_message(msg, self.format, self.separator);
        line.push('\n');
        let mut out = io::stdout().lock();
        match out.write_all(line.as_bytes()).and_then(|()| out.flush()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Err(Failure::OutputClosed),
            Err(e) => Err(Failure::Runtime(format!(
                "cannot write to standard output: {e}"
            ))),
        }
    }

    // ----- counting and time -----

    /// True once `done` messages reach `-n`.
    fn reached(&self, done: u64) -> bool {
        self.args.count.is_some_and(|n| done >= n)
    }

    /// The end of a run stopped by the time limit: an error if it cut something short.
    fn timed_out(&self, input: Option<&Input>, done: u64) -> Result<(), Failure> {
        if let Some(n) = self.args.count {
            if done < n {
                return Err(Failure::Runtime(format!(
                    "timed out after {:?} with {done} of {n} messages",
                    self.limit()
                )));
            }
        }
        let unsent = input.map_or(0, Input::pending_args);
        if unsent > 0 {
            return Err(Failure::Runtime(format!(
                "timed out after {:?} with {unsent} message(s) not sent",
                self.limit()
            )));
        }
        Ok(())
    }

    fn limit(&self) -> Duration {
        self.args.timeout.unwrap_or_default()
    }

    fn expired(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// Time left before the deadline (`None`: no limit).
    fn remaining(&self) -> Option<Duration> {
        self.deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
    }

    /// `wait`, but no further than the deadline.
    fn capped(&self, wait: Duration) -> Duration {
        self.remaining().map_or(wait, |left| left.min(wait))
    }

    /// The instant `wait` from now, or the deadline if sooner.
    fn soon(&self, wait: Duration) -> Option<Instant> {
        Some(Instant::now() + self.capped(wait))
    }
}
