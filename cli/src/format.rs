//! Turning bytes into lines and lines into frames, with no I/O.
//!
//! This is the part of the tool with real rules (when a frame counts as printable
//! text, how multipart messages become one line and back), so it is kept pure and
//! unit-tested here, apart from the sockets and processes that `run` deals with.
//!
//! * Output: one line per message, frames joined by the separator (`-S`, else one
//!   space). Each frame is rendered on its own: in `auto` mode a frame that is valid
//!   UTF-8 without control characters (tab allowed) is printed as is, any other frame
//!   as lowercase hex; `text` always prints text (invalid UTF-8 replaced by U+FFFD),
//!   `hex` always prints hex.
//! * Input: a line (or argument) is one message; with a separator it is split into
//!   frames at every occurrence of it, so `a||b` with `-S '|'` is three frames, the
//!   middle one empty.

use std::borrow::Cow;
use std::fmt::Write as _;

use clap::ValueEnum;

/// How received frames are printed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Text when a frame is printable UTF-8, hex otherwise (decided frame by frame).
    #[default]
    Auto,
    /// Always text (invalid UTF-8 sequences become U+FFFD).
    Text,
    /// Always lowercase hex.
    Hex,
}

/// Lowercase hex digits of `bytes`, two per byte, nothing between them.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        // Writing to a String cannot fail.
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// True if `s` can be printed on one line as it is: no control characters except tab
/// (so no newlines, carriage returns, escapes or NULs).
pub fn is_printable(s: &str) -> bool {
    s.chars().all(|c| c == '\t' || !c.is_control())
}

/// One frame as it is printed.
pub fn render_frame(frame: &[u8], format: Format) -> Cow<'_, str> {
    match format {
        Format::Hex => Cow::Owned(hex(frame)),
        Format::Text => String::from_utf8_lossy(frame),
        Format::Auto => match std::str::from_utf8(frame) {
            Ok(s) if is_printable(s) => Cow::Borrowed(s),
            _ => Cow::Owned(hex(frame)),
        },
    }
}

/// A whole message as one output line (without the newline): its frames rendered and
/// joined by `separator`.
pub fn render_message<F: AsRef<[u8]>>(frames: &[F], format: Format, separator: &str) -> String {
    let mut line = String::new();
    for (i, frame) in frames.iter().enumerate() {
        if i > 0 {
            line.push_str(separator);
        }
        line.push_str(&render_frame(frame.as_ref(), format));
    }
    line
}

/// `line` without its line ending (`\n` or `\r\n`), if it has one.
pub fn trim_line_ending(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The frames of one input message: `line` split at each occurrence of `separator`,
/// or `line` whole when there is none. Always at least one frame (an empty line is one
/// empty frame). An empty separator splits nothing.
pub fn split_frames<'a>(line: &'a [u8], separator: Option<&[u8]>) -> Vec<&'a [u8]> {
    let sep = match separator {
        Some(sep) if !sep.is_empty() => sep,
        _ => return vec![line],
    };
    let mut frames = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + sep.len() <= line.len() {
        if &line[i..i + sep.len()] == sep {
            frames.push(&line[start..i]);
            i += sep.len();
            start = i;
        } else {
            i += 1;
        }
    }
    frames.push(&line[start..]);
    frames
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lowercase_pairs() {
        assert_eq!(hex(b""), "");
        assert_eq!(hex(&[0x00, 0x0f, 0xab, 0xff]), "000fabff");
        assert_eq!(hex(b"hi"), "6869");
    }

    #[test]
    fn printable_text() {
        assert!(is_printable("hello world"));
        assert!(is_printable(""));
        assert!(is_printable("tab\tseparated"));
        assert!(is_printable("héllo ☃ 日本"));
        assert!(!is_printable("two\nlines"));
        assert!(!is_printable("cr\r"));
        assert!(!is_printable("\x01topic"));
        assert!(!is_printable("nul\0"));
        assert!(!is_printable("del\x7f"));
        assert!(!is_printable("c1\u{85}"));
    }

    #[test]
    fn auto_picks_text_or_hex_per_frame() {
        assert_eq!(render_frame(b"hello", Format::Auto), "hello");
        assert_eq!(render_frame(b"\x01ab", Format::Auto), "016162");
        assert_eq!(render_frame(&[0xff, 0xfe], Format::Auto), "fffe");
        assert_eq!(render_frame(b"", Format::Auto), "");
        // A routing id next to a text body: each frame decides for itself.
        let msg: [&[u8]; 3] = [&[0x00, 0x80, 0x00, 0x00, 0x01], b"", b"ping"];
        assert_eq!(render_message(&msg, Format::Auto, " "), "0080000001  ping");
        assert_eq!(render_message(&msg, Format::Auto, "|"), "0080000001||ping");
    }

    #[test]
    fn forced_formats() {
        assert_eq!(render_frame(b"hi", Format::Hex), "6869");
        assert_eq!(render_frame(b"a\nb", Format::Text), "a\nb");
        assert_eq!(render_frame(&[b'a', 0xff], Format::Text), "a\u{fffd}");
        let msg = ["ab", "c"];
        assert_eq!(render_message(&msg, Format::Hex, ":"), "6162:63");
    }

    #[test]
    fn message_with_one_or_no_frames() {
        assert_eq!(render_message(&["only"], Format::Auto, "|"), "only");
        let none: [&[u8]; 0] = [];
        assert_eq!(render_message(&none, Format::Auto, "|"), "");
    }

    #[test]
    fn line_endings_are_trimmed_once() {
        assert_eq!(trim_line_ending(b"abc\n"), b"abc");
        assert_eq!(trim_line_ending(b"abc\r\n"), b"abc");
        assert_eq!(trim_line_ending(b"abc"), b"abc");
        assert_eq!(trim_line_ending(b"abc\n\n"), b"abc\n");
        assert_eq!(trim_line_ending(b"\n"), b"");
        assert_eq!(trim_line_ending(b"abc\r"), b"abc");
    }

    #[test]
    fn splitting_into_frames() {
        let split = |line: &'static str, sep: Option<&str>| -> Vec<&'static str> {
            split_frames(line.as_bytes(), sep.map(str::as_bytes))
                .into_iter()
                .map(|f| std::str::from_utf8(f).unwrap())
                .collect()
        };
        assert_eq!(split("a|b|c", None), ["a|b|c"]);
        assert_eq!(split("a|b|c", Some("|")), ["a", "b", "c"]);
        assert_eq!(split("a||b", Some("|")), ["a", "", "b"]);
        assert_eq!(split("|a|", Some("|")), ["", "a", ""]);
        assert_eq!(split("", Some("|")), [""]);
        assert_eq!(split("", None), [""]);
        assert_eq!(split("no separator", Some("|")), ["no separator"]);
        assert_eq!(split("a::b:c::", Some("::")), ["a", "b:c", ""]);
        assert_eq!(split(":::", Some("::")), ["", ":"]);
        assert_eq!(split("a|b", Some("")), ["a|b"]);
        assert_eq!(split("x → y → z", Some(" → ")), ["x", "y", "z"]);
    }

    #[test]
    fn split_then_render_round_trips_text() {
        let line = b"id|||body";
        let frames = split_frames(line, Some(b"|"));
        assert_eq!(frames.len(), 4);
        assert_eq!(render_message(&frames, Format::Auto, "|"), "id|||body");
    }
}
