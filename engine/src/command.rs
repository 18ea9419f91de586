//! ZMTP commands: `name-len(1) | name | data`, and the bodies we care about
//! (READY metadata, ERROR, PING/PONG, SUBSCRIBE/CANCEL).
//!
//! Separate from the state machine so that all byte-level parsing of command
//! bodies sits in one place with strict, panic-free bounds checks, and the
//! engine only decides *when* a command is legal.

use bytes::{BufMut, Bytes, BytesMut};

use crate::frame::{put_header, FLAG_COMMAND, MAX_HEADER_LEN};
use crate::{EngineError, SocketType};

/// Property name carrying the socket type in READY.
pub(crate) const SOCKET_TYPE: &str = "Socket-Type";
/// Property name carrying the routing id in READY.
pub(crate) const IDENTITY: &str = "Identity";
/// Longest PING context a PONG echoes (libzmq truncates to 16 bytes).
pub(crate) const MAX_PING_CONTEXT: usize = 16;

/// Splits a command body into its name and its data (zero-copy).
pub(crate) fn split(body: &Bytes) -> Result<(&[u8], Bytes), EngineError> {
    let Some((&name_len, rest)) = body.split_first() else {
        return Err(EngineError::MalformedCommand("empty command frame"));
    };
    let name_len = usize::from(name_len);
    if name_len == 0 {
        return Err(EngineError::MalformedCommand("zero-length command name"));
    }
    if name_len > rest.len() {
        return Err(EngineError::MalformedCommand(
            "command name longer than the frame",
        ));
    }
    Ok((&rest[..name_len], body.slice(1 + name_len..)))
}

/// Appends a command frame: header, then `name-len | name | parts...`.
pub(crate) fn put_command(out: &mut BytesMut, name: &[u8], parts: &[&[u8]]) {
    debug_assert!(!name.is_empty() && name.len() <= 255);
    let body_len = 1 + name.len() + parts.iter().map(|p| p.len()).sum::<usize>();
    out.reserve(MAX_HEADER_LEN + body_len);
    put_header(out, FLAG_COMMAND, body_len);
    out.put_u8(name.len() as u8);
    out.put_slice(name);
    for part in parts {
        out.put_slice(part);
    }
}

/// Appends our READY: `Socket-Type` always, `Identity` iff `identity` is
/// `Some` (possibly empty). Identities longer than 255 bytes are truncated
/// (libzmq refuses to set longer ones).
pub(crate) fn put_ready(out: &mut BytesMut, socket_type: SocketType, identity: Option<&[u8]>) {
    let st = socket_type.name().as_bytes();
    let st_len = (st.len() as u32).to_be_bytes();
    let st_name = [SOCKET_TYPE.len() as u8];
    match identity {
        None => put_command(
            out,
            b"READY",
            &[&st_name, SOCKET_TYPE.as_bytes(), &st_len, st],
        ),
        Some(id) => {
            let id = &id[..id.len().min(255)];
            let id_len = (id.len() as u32).to_be_bytes();
            let id_name = [IDENTITY.len() as u8];
            put_command(
                out,
                b"READY",
                &[
                    &st_name,
                    SOCKET_TYPE.as_bytes(),
                    &st_len,
                    st,
                    &id_name,
                    IDENTITY.as_bytes(),
                    &id_len,
                    id,
                ],
            )
        }
    }
}

/// Parses READY metadata: zero or more `name-len(1, 1..255) | name |
/// value-len(u32 BE) | value`. Anything left over that doesn't form a whole
/// property is an error. Values are zero-copy slices of `data`; names are
/// converted lossily to UTF-8 (the grammar allows only ASCII).
pub(crate) fn parse_metadata(data: &Bytes) -> Result<Vec<(String, Bytes)>, EngineError> {
    let mut props = Vec::new();
    let mut rest: &[u8] = data;
    while let Some((&name_len, after)) = rest.split_first() {
        let name_len = usize::from(name_len);
        if name_len == 0 || after.len() < name_len + 4 {
            return Err(EngineError::MalformedMetadata);
        }
        let (name, after) = after.split_at(name_len);
        let (len_bytes, after) = after.split_at(4);
        let mut len = [0u8; 4];
        len.copy_from_slice(len_bytes);
        let value_len = u32::from_be_bytes(len) as usize;
        if after.len() < value_len {
            return Err(EngineError::MalformedMetadata);
        }
        let start = data.len() - after.len();
        props.push((
            String::from_utf8_lossy(name).into_owned(),
            data.slice(start..start + value_len),
        ));
        rest = &after[value_len..];
    }
    Ok(props)
}

/// Parses the data of an ERROR command: `reason-len(1) | reason`.
pub(crate) fn parse_error_reason(data: &[u8]) -> Result<String, EngineError> {
    let Some((&len, rest)) = data.split_first() else {
        return Err(EngineError::MalformedCommand(
            "ERROR without a reason length",
        ));
    };
    let Some(reason) = rest.get(..usize::from(len)) else {
        return Err(EngineError::MalformedCommand(
            "ERROR reason longer than the frame",
        ));
    };
    Ok(String::from_utf8_lossy(reason).into_owned())
}

/// The context of a PING (`ttl(u16 BE) | context`), truncated to 16 bytes.
/// A PING too short to hold its TTL has an empty context.
pub(crate) fn ping_context(data: &[u8]) -> &[u8] {
    let ctx = data.get(2..).unwrap_or_default();
    &ctx[..ctx.len().min(MAX_PING_CONTEXT)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).unwrap())
            .collect()
    }

    /// ZMTP.md section 11: DEALER's READY with an empty Identity.
    #[test]
    fn dealer_ready_bytes() {
        let mut out = BytesMut::new();
        put_ready(&mut out, SocketType::Dealer, Some(b""));
        let expected = hex("04 29 05 52 45 41 44 59 0b 53 6f 63 6b 65 74 2d 54 79 70 65
             00 00 00 06 44 45 41 4c 45 52 08 49 64 65 6e 74 69 74 79 00 00 00 00");
        assert_eq!(out[1], 41);
        assert_eq!(&out[..], &expected[..]);
    }

    #[test]
    fn ready_without_identity_and_long_form() {
        let mut out = BytesMut::new();
        put_ready(&mut out, SocketType::Pub, None);
        assert_eq!(out[0], 0x04);
        assert_eq!(usize::from(out[1]), out.len() - 2);
        let body = Bytes::copy_from_slice(&out[2..]);
        let (name, data) = split(&body).unwrap();
        assert_eq!(name, b"READY");
        let props = parse_metadata(&data).unwrap();
        assert_eq!(
            props,
            vec![("Socket-Type".into(), Bytes::from_static(b"PUB"))]
        );

        // A 255-byte identity pushes the body over 255 bytes: long form.
        let mut out = BytesMut::new();
        put_ready(&mut out, SocketType::Router, Some(&[7u8; 255]));
        assert_eq!(out[0], 0x06);
        assert_eq!(out.len(), 9 + 6 + 22 + 13 + 255);
    }

    #[test]
    fn split_rejects_bad_names() {
        assert!(split(&Bytes::new()).is_err());
        assert!(split(&Bytes::from_static(b"\x00")).is_err());
        assert!(split(&Bytes::from_static(b"\x05READ")).is_err());
        let ping = Bytes::from_static(b"\x04PING");
        let (name, data) = split(&ping).unwrap();
        assert_eq!((name, &data[..]), (&b"PING"[..], &b""[..]));
    }

    #[test]
    fn metadata_strictness() {
        let ok = |b: &'static [u8]| parse_metadata(&Bytes::from_static(b));
        assert_eq!(ok(b"").unwrap(), vec![]);
        assert_eq!(
            ok(b"\x01a\x00\x00\x00\x01b\x01c\x00\x00\x00\x00").unwrap(),
            vec![
                ("a".into(), Bytes::from_static(b"b")),
                ("c".into(), Bytes::new())
            ]
        );
        for bad in [
            &b"\x00\x00\x00\x00\x00"[..], // zero-length name
            b"\x01a\x00\x00\x00",         // truncated value length
            b"\x01a\x00\x00\x00\x02b",    // truncated value
            b"\x01a\x00\x00\x00\x00\x05", // leftover byte
            b"\x01a\xff\xff\xff\xff",     // absurd value length
            b"\x0bSocket-Type",           // name only
        ] {
            assert_eq!(
                parse_metadata(&Bytes::copy_from_slice(bad)),
                Err(EngineError::MalformedMetadata),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn error_reason() {
        assert_eq!(parse_error_reason(b"\x03400").unwrap(), "400");
        assert_eq!(parse_error_reason(b"\x00").unwrap(), "");
        assert!(parse_error_reason(b"").is_err());
        assert!(parse_error_reason(b"\x04400").is_err());
    }

    #[test]
    fn ping_contexts() {
        assert_eq!(ping_context(b""), b"");
        assert_eq!(ping_context(b"\x00"), b"");
        assert_eq!(ping_context(b"\x00\x0f"), b"");
        assert_eq!(ping_context(b"\x00\x0fabc"), b"abc");
        assert_eq!(
            ping_context(b"\x00\x0f0123456789abcdefXYZ"),
            b"0123456789abcdef"
        );
    }
}
