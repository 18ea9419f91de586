//! The 64-byte ZMTP 3.x greeting: what we send and how we judge the peer's.
//!
//! Kept apart from the state machine because the greeting is the one part of
//! the protocol that is not framed: it is validated incrementally, prefix by
//! prefix, so that garbage (an HTTP client, a ZMTP 1.0 peer) is rejected as
//! soon as the telling byte arrives instead of after 64 bytes that may never
//! come. Each check only looks at bytes before a fixed offset and checks run
//! in offset order, so the verdict doesn't depend on how input is chunked.

use crate::EngineError;

/// Length of a ZMTP 3.x greeting.
pub const GREETING_LEN: usize = 64;

/// Offset of the major version byte.
const MAJOR: usize = 10;
/// Offset of the minor version byte.
const MINOR: usize = 11;
/// Offset and length of the mechanism name.
const MECHANISM: usize = 12;
const MECHANISM_LEN: usize = 20;

/// The only mechanism we implement, NUL-padded to 20 bytes.
const NULL_MECHANISM: [u8; MECHANISM_LEN] = *b"NULL\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";

/// Our greeting: signature `FF 00*8 7F`, version 3.1, mechanism `NULL`,
/// as-server `00` (libzmq always sends 0), 31 bytes of zero filler.
pub const NULL_GREETING: [u8; GREETING_LEN] = {
    let mut g = [0u8; GREETING_LEN];
    g[0] = 0xff;
    g[9] = 0x7f;
    g[MAJOR] = 3;
    g[MINOR] = 1;
    let mut i = 0;
    while i < MECHANISM_LEN {
        g[MECHANISM + i] = NULL_MECHANISM[i];
        i += 1;
    }
    g
};

/// What we learned from a complete, valid peer greeting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PeerGreeting {
    /// 0 for ZMTP 3.0, 1 for 3.1 or anything newer.
    pub minor_version: u8,
}

/// Validates as much of the peer greeting as `buf` holds.
///
/// `Ok(None)`: the prefix is fine so far, more bytes are needed.
/// `Ok(Some(_))`: `buf` holds a complete valid greeting (its first 64 bytes).
pub(crate) fn check(buf: &[u8]) -> Result<Option<PeerGreeting>, EngineError> {
    // Signature: byte 0 must be FF, bit 0 of byte 9 must be set (libzmq tests
    // only that bit). Padding bytes 1..9 are never interpreted.
    if let Some(&b0) = buf.first() {
        if b0 != 0xff {
            return Err(EngineError::NotZmtp);
        }
    }
    if let Some(&b9) = buf.get(9) {
        if b9 & 0x01 == 0 {
            return Err(EngineError::NotZmtp);
        }
    }
    // Version: wait for the minor byte too, so the error is the same however
    // the bytes were chunked.
    let (Some(&major), Some(&minor)) = (buf.get(MAJOR), buf.get(MINOR)) else {
        return Ok(None);
    };
    if major < 3 {
        return Err(EngineError::UnsupportedVersion { major, minor });
    }
    let Some(mechanism) = buf.get(MECHANISM..MECHANISM + MECHANISM_LEN) else {
        return Ok(None);
    };
    if mechanism != NULL_MECHANISM {
        let end = mechanism
            .iter()
            .rposition(|&b| b != 0)
            .map_or(0, |last| last + 1);
        return Err(EngineError::MechanismMismatch {
            ours: "NULL".to_owned(),
            peer: String::from_utf8_lossy(&mechanism[..end]).into_owned(),
        });
    }
    // As-server byte and filler are ignored, as libzmq does.
    if buf.len() < GREETING_LEN {
        return Ok(None);
    }
    let minor_version = if major == 3 { minor.min(1) } else { 1 };
    Ok(Some(PeerGreeting { minor_version }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_greeting_matches_spec() {
        let mut expected = vec![
            0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 0x03, 0x01, 0x4e, 0x55, 0x4c, 0x4c,
        ];
        expected.extend_from_slice(&[0u8; 16]);
        expected.push(0x00);
        expected.extend_from_slice(&[0u8; 31]);
        assert_eq!(expected.len(), 64);
        assert_eq!(&NULL_GREETING[..], &expected[..]);
    }

    #[test]
    fn accepts_libzmq_greeting_with_nonzero_padding() {
        let mut g = NULL_GREETING;
        g[8] = 0x01; // libzmq: routing-id length + 1
        g[32] = 0x01; // as-server is ignored
        g[40] = 0xaa; // filler is ignored
        assert_eq!(check(&g), Ok(Some(PeerGreeting { minor_version: 1 })));
        for cut in 0..GREETING_LEN {
            assert_eq!(check(&g[..cut]), Ok(None));
        }
    }

    #[test]
    fn versions() {
        let mut g = NULL_GREETING;
        g[MINOR] = 0;
        assert_eq!(check(&g), Ok(Some(PeerGreeting { minor_version: 0 })));
        g[MINOR] = 7;
        assert_eq!(check(&g), Ok(Some(PeerGreeting { minor_version: 1 })));
        g[MAJOR] = 4;
        g[MINOR] = 0;
        assert_eq!(check(&g), Ok(Some(PeerGreeting { minor_version: 1 })));
        g[MAJOR] = 1;
        g[MINOR] = 5;
        assert_eq!(
            check(&g[..12]),
            Err(EngineError::UnsupportedVersion { major: 1, minor: 5 })
        );
        assert_eq!(check(&g[..11]), Ok(None));
    }

    #[test]
    fn garbage_fails_fast() {
        assert_eq!(check(b"G"), Err(EngineError::NotZmtp));
        let mut g = NULL_GREETING;
        g[9] = 0x7e;
        assert_eq!(check(&g[..9]), Ok(None));
        assert_eq!(check(&g[..10]), Err(EngineError::NotZmtp));
    }

    #[test]
    fn mechanism_mismatch() {
        let mut g = NULL_GREETING;
        g[MECHANISM..MECHANISM + 5].copy_from_slice(b"CURVE");
        assert_eq!(check(&g[..31]), Ok(None));
        assert_eq!(
            check(&g[..32]),
            Err(EngineError::MechanismMismatch {
                ours: "NULL".into(),
                peer: "CURVE".into()
            })
        );
        // Trailing garbage after "NULL" is a mismatch too: all 20 bytes count.
        let mut g = NULL_GREETING;
        g[MECHANISM + 19] = b'X';
        assert!(matches!(
            check(&g),
            Err(EngineError::MechanismMismatch { .. })
        ));
    }
}
