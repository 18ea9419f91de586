//! The command line: what clap parses, and the checks clap can't express.
//!
//! Kept apart from `run` so the whole interface (every option, its unit and default)
//! reads in one place, and so `--help` and the README can be checked against it.
//! Everything here is about the arguments alone; nothing opens a socket.

use std::time::Duration;

use clap::{Parser, ValueEnum};
use ferrozmq::SocketType;

use crate::format::Format;

const EXAMPLES: &str = "\
Examples:
  fzmq rep --echo -b tcp://*:5555                 an echo server
  fzmq req -c tcp://127.0.0.1:5555 hello world    two requests, replies printed
  fzmq pull -b tcp://*:5556 -n 3                  print 3 messages, then exit
  seq 3 | fzmq push -c tcp://127.0.0.1:5556       one message per input line
  fzmq sub -c tcp://127.0.0.1:5557 -s weather     print what matches the prefix
  fzmq pub -b tcp://*:5557 --delay 500 'weather sunny'
  fzmq dealer -c tcp://127.0.0.1:5555 -S '|' 'a|b' -n 1   two frames out, one reply in";

/// A command-line ZeroMQ socket: bind or connect one socket of any type, send
/// arguments or standard input line by line, print what arrives line by line.
#[derive(Parser, Debug)]
#[command(name = "fzmq", version, after_help = EXAMPLES)]
pub struct Args {
    /// Socket type (case-insensitive).
    #[arg(value_enum, ignore_case = true, value_name = "TYPE")]
    pub kind: Kind,

    /// Messages to send, in order. Without any, sending sockets read standard input,
    /// one message per line; a lone `-` reads standard input at that point (as cat).
    /// Put `--` before messages that start with a dash.
    #[arg(value_name = "MESSAGE")]
    pub messages: Vec<String>,

    /// Bind to an endpoint (tcp://host:port, tcp://*:port, ipc:///path); repeatable.
    #[arg(short, long, value_name = "ENDPOINT", help_heading = "Endpoints")]
    pub bind: Vec<String>,

    /// Connect to an endpoint; repeatable. The peer need not be up yet.
    #[arg(short, long, value_name = "ENDPOINT", help_heading = "Endpoints")]
    pub connect: Vec<String>,

    /// SUB/XSUB: subscribe to messages starting with PREFIX; repeatable. SUB
    /// subscribes to everything when none is given.
    #[arg(short, long, value_name = "PREFIX", help_heading = "Messages")]
    pub subscribe: Vec<String>,

    /// Split each outgoing line or argument into frames at SEP, and join received
    /// frames with SEP [default on output: one space; on input: no splitting].
    #[arg(short = 'S', long, value_name = "SEP", help_heading = "Messages")]
    pub separator: Option<String>,

    /// Send every received message straight back (REP, ROUTER, DEALER, PAIR). The
    /// messages are printed too, unless --quiet.
    #[arg(short, long, help_heading = "Messages")]
    pub echo: bool,

    /// How received frames are printed.
    #[arg(
        short,
        long,
        value_enum,
        ignore_case = true,
        default_value_t = Format::Auto,
        help_heading = "Output"
    )]
    pub format: Format,

    /// Print every frame in hex (same as --format hex).
    #[arg(short = 'x', long, conflicts_with = "format", help_heading = "Output")]
    pub hex: bool,

    /// Don't print received messages.
    #[arg(short, long, help_heading = "Output")]
    pub quiet: bool,

    /// Stop after N messages: received ones for sockets that receive, sent ones for
    /// PUB and PUSH. DEALER, ROUTER, PAIR, XPUB and XSUB also finish sending their
    /// input first; with -n 0 they stop once it is sent.
    #[arg(short = 'n', long, value_name = "N", help_heading = "Stopping")]
    pub count: Option<u64>,

    /// Limit on the whole run, in seconds (fractions allowed), lingering included.
    /// Exit status 1 if it cuts short a -n count, unsent MESSAGE arguments or a REQ
    /// waiting for its reply; 0 otherwise.
    #[arg(short, long, value_name = "SECS", value_parser = parse_seconds, help_heading = "Stopping")]
    pub timeout: Option<Duration>,

    /// Wait this long after binding/connecting before the first send (lets PUB
    /// subscribers join).
    #[arg(long, value_name = "MS", value_parser = parse_millis, help_heading = "Messages")]
    pub delay: Option<Duration>,

    /// SNDHWM: messages queued per peer before sending blocks (0 = no limit) [default: 1000].
    #[arg(long, value_name = "N", help_heading = "Socket options")]
    pub sndhwm: Option<u64>,

    /// RCVHWM: messages queued per peer before reading pauses (0 = no limit) [default: 1000].
    #[arg(long, value_name = "N", help_heading = "Socket options")]
    pub rcvhwm: Option<u64>,

    /// LINGER: how long queued messages may still go out when fzmq exits; -1 = until
    /// delivered, which hangs if the peer is gone [default: 1000, 0 for SUB/XSUB;
    /// always capped by --timeout].
    #[arg(
        long,
        value_name = "MS",
        allow_negative_numbers = true,
        value_parser = parse_millis_or_never,
        help_heading = "Socket options"
    )]
    pub linger: Option<MillisOrNever>,

    /// ROUTING_ID announced to peers (1 to 255 bytes); what a ROUTER sees as the
    /// first frame of our messages.
    #[arg(long, value_name = "ID", help_heading = "Socket options")]
    pub identity: Option<String>,

    /// RECONNECT_IVL: wait before redialling a lost or refused peer; -1 = never
    /// [default: 100].
    #[arg(
        long,
        value_name = "MS",
        allow_negative_numbers = true,
        value_parser = parse_millis_or_never,
        help_heading = "Socket options"
    )]
    pub reconnect_ivl: Option<MillisOrNever>,

    /// CONFLATE: keep only the newest received message (PUSH, PULL, PUB, SUB, DEALER).
    #[arg(long, help_heading = "Socket options")]
    pub conflate: bool,
}

/// A duration in milliseconds where `-1` means "never" / "forever" (`None`), as in
/// libzmq's LINGER and RECONNECT_IVL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MillisOrNever(pub Option<Duration>);

/// The socket types, by their command-line names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// Publisher: sends to all matching subscribers.
    Pub,
    /// Subscriber: receives what matches its -s prefixes.
    Sub,
    /// Publisher that also receives subscriptions (printed, first byte 01/00).
    Xpub,
    /// Subscriber that sends its input upstream as subscription messages.
    Xsub,
    /// Pipeline source: sends, load-balanced.
    Push,
    /// Pipeline sink: receives, fair-queued.
    Pull,
    /// Client: each message is a request; waits for and prints its reply.
    Req,
    /// Server: prints each request and replies with the next input line (or --echo).
    Rep,
    /// Asynchronous client: sends its input, prints what arrives.
    Dealer,
    /// Asynchronous server: received messages start with the sender's routing id.
    Router,
    /// Exclusive pair: sends its input, prints what arrives.
    Pair,
}

/// What a socket type does with its input and with what it receives, which decides the
/// main loop (`run`) and which options make sense.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Sends only (PUB, PUSH): the input, then exit.
    SendOnly,
    /// Receives only (SUB, PULL).
    RecvOnly,
    /// REQ: request, reply, request, ...
    Request,
    /// REP: receive a request, answer it.
    Reply,
    /// Sends and receives independently (DEALER, ROUTER, PAIR, XPUB, XSUB).
    Duplex,
}

impl Kind {
    /// The library's socket type.
    pub fn socket_type(self) -> SocketType {
        match self {
            Kind::Pub => SocketType::Pub,
            Kind::Sub => SocketType::Sub,
            Kind::Xpub => SocketType::XPub,
            Kind::Xsub => SocketType::XSub,
            Kind::Push => SocketType::Push,
            Kind::Pull => SocketType::Pull,
            Kind::Req => SocketType::Req,
            Kind::Rep => SocketType::Rep,
            Kind::Dealer => SocketType::Dealer,
            Kind::Router => SocketType::Router,
            Kind::Pair => SocketType::Pair,
        }
    }

    /// How this type behaves on the command line.
    pub fn role(self) -> Role {
        match self {
            Kind::Pub | Kind::Push => Role::SendOnly,
            Kind::Sub | Kind::Pull => Role::RecvOnly,
            Kind::Req => Role::Request,
            Kind::Rep => Role::Reply,
            Kind::Dealer | Kind::Router | Kind::Pair | Kind::Xpub | Kind::Xsub => Role::Duplex,
        }
    }
}

impl Args {
    /// The output format, with --hex folded in.
    pub fn output_format(&self) -> Format {
        if self.hex {
            Format::Hex
        } else {
            self.format
        }
    }

    /// The separator printed between received frames.
    pub fn output_separator(&self) -> &str {
        self.separator.as_deref().unwrap_or(" ")
    }

    /// Combinations clap can't check: a message of what is wrong, for a usage error.
    pub fn check(&self) -> Result<(), String> {
        let name = self.kind.socket_type().name();
        let role = self.kind.role();
        if self.bind.is_empty() && self.connect.is_empty() {
            return Err("give at least one --bind or --connect endpoint".into());
        }
        if !self.subscribe.is_empty() && !matches!(self.kind, Kind::Sub | Kind::Xsub) {
            return Err(format!(
                "--subscribe applies to SUB and XSUB sockets, not {name}"
            ));
        }
        if self.echo {
            if !matches!(
                self.kind,
                Kind::Rep | Kind::Router | Kind::Dealer | Kind::Pair
            ) {
                return Err(format!(
                    "--echo applies to REP, ROUTER, DEALER and PAIR sockets, not {name}"
                ));
            }
            if !self.messages.is_empty() {
                return Err("--echo sends back what it receives; it takes no MESSAGE".into());
            }
        }
        if role == Role::RecvOnly && !self.messages.is_empty() {
            return Err(format!(
                "{name} sockets cannot send; remove the MESSAGE arguments"
            ));
        }
        if self.separator.as_deref() == Some("") {
            return Err("--separator must not be empty".into());
        }
        if let Some(id) = &self.identity {
            if id.is_empty() || id.len() > 255 {
                return Err("--identity must be 1 to 255 bytes".into());
            }
        }
        Ok(())
    }
}

/// Seconds as a non-negative decimal number (`2`, `0.5`).
fn parse_seconds(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    Duration::try_from_secs_f64(secs)
        .map_err(|_| format!("{s:?} is not a non-negative, finite number of seconds"))
}

/// Whole milliseconds, 0 or more.
fn parse_millis(s: &str) -> Result<Duration, String> {
    let ms: u64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a whole number of milliseconds"))?;
    Ok(Duration::from_millis(ms))
}

/// Whole milliseconds, or -1 for never.
fn parse_millis_or_never(s: &str) -> Result<MillisOrNever, String> {
    if s.trim() == "-1" {
        return Ok(MillisOrNever(None));
    }
    parse_millis(s)
        .map(|d| MillisOrNever(Some(d)))
        .map_err(|e| format!("{e} (or -1)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(line: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("fzmq").chain(line.iter().copied()))
    }

    #[test]
    fn clap_definition_is_consistent() {
        Args::command().debug_assert();
    }

    #[test]
    fn socket_type_is_case_insensitive() {
        assert_eq!(
            parse(&["DEALER", "-c", "tcp://a:1"]).unwrap().kind,
            Kind::Dealer
        );
        assert_eq!(
            parse(&["XPub", "-b", "tcp://*:1"]).unwrap().kind,
            Kind::Xpub
        );
        assert!(parse(&["client", "-b", "tcp://*:1"]).is_err());
    }

    #[test]
    fn every_kind_maps_to_its_socket_type() {
        for kind in Kind::value_variants() {
            let name = kind.to_possible_value().unwrap().get_name().to_uppercase();
            assert_eq!(kind.socket_type().name(), name);
        }
    }

    #[test]
    fn repeatable_options_and_messages() {
        let a = parse(&[
            "sub",
            "-c",
            "tcp://a:1",
            "--connect",
            "tcp://b:2",
            "-s",
            "x",
            "-s",
            "y",
        ])
        .unwrap();
        assert_eq!(a.connect, ["tcp://a:1", "tcp://b:2"]);
        assert_eq!(a.subscribe, ["x", "y"]);
        let a = parse(&["req", "-c", "tcp://a:1", "one", "two", "--", "-three"]).unwrap();
        assert_eq!(a.messages, ["one", "two", "-three"]);
        let a = parse(&["push", "-c", "tcp://a:1", "-"]).unwrap();
        assert_eq!(a.messages, ["-"]);
    }

    #[test]
    fn durations() {
        let a = parse(&["pull", "-b", "tcp://*:1", "-t", "1.5", "--delay", "250"]).unwrap();
        assert_eq!(a.timeout, Some(Duration::from_millis(1500)));
        assert_eq!(a.delay, Some(Duration::from_millis(250)));
        assert!(parse(&["pull", "-b", "tcp://*:1", "-t", "-1"]).is_err());
        assert!(parse(&["pull", "-b", "tcp://*:1", "-t", "soon"]).is_err());
        let a = parse(&["push", "-b", "tcp://*:1", "--linger", "-1"]).unwrap();
        assert_eq!(a.linger, Some(MillisOrNever(None)));
        let a = parse(&["push", "-b", "tcp://*:1", "--reconnect-ivl", "20"]).unwrap();
        assert_eq!(
            a.reconnect_ivl,
            Some(MillisOrNever(Some(Duration::from_millis(20))))
        );
        assert!(parse(&["push", "-b", "tcp://*:1", "--linger", "-2"]).is_err());
    }

    #[test]
    fn formats() {
        let a = parse(&["pull", "-b", "tcp://*:1"]).unwrap();
        assert_eq!(a.output_format(), Format::Auto);
        assert_eq!(a.output_separator(), " ");
        let a = parse(&["pull", "-b", "tcp://*:1", "--hex", "-S", "|"]).unwrap();
        assert_eq!(a.output_format(), Format::Hex);
        assert_eq!(a.output_separator(), "|");
        let a = parse(&["pull", "-b", "tcp://*:1", "--format", "TEXT"]).unwrap();
        assert_eq!(a.output_format(), Format::Text);
        assert!(parse(&["pull", "-b", "tcp://*:1", "--hex", "--format", "text"]).is_err());
    }

    #[test]
    fn checks_beyond_clap() {
        let check = |line: &[&str]| parse(line).unwrap().check();
        assert!(check(&["pull"]).is_err(), "no endpoint");
        assert!(check(&["pub", "-b", "tcp://*:1", "-s", "x"]).is_err());
        assert!(check(&["xsub", "-c", "tcp://a:1", "-s", "x"]).is_ok());
        assert!(check(&["req", "-c", "tcp://a:1", "--echo"]).is_err());
        assert!(check(&["router", "-b", "tcp://*:1", "--echo"]).is_ok());
        assert!(check(&["rep", "-b", "tcp://*:1", "--echo", "hi"]).is_err());
        assert!(check(&["sub", "-c", "tcp://a:1", "hi"]).is_err());
        assert!(check(&["push", "-c", "tcp://a:1", "-S", ""]).is_err());
        assert!(check(&["dealer", "-c", "tcp://a:1", "--identity", ""]).is_err());
        let long_id = "x".repeat(256);
        assert!(check(&["dealer", "-c", "tcp://a:1", "--identity", &long_id]).is_err());
        assert!(check(&["dealer", "-c", "tcp://a:1", "--identity", "me", "hi"]).is_ok());
    }
}
