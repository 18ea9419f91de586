//! ZMTP 3.x frame headers: `flags(1) | size(1 or 8, big-endian) | body`.
//!
//! Separate from the state machine because the I/O glue encodes headers on
//! its hot path (header into a small array, body written straight from the
//! message, no second copy), and because header decoding must be tiny and
//! branch-light: it runs once per inbound frame.

use bytes::{BufMut, BytesMut};

/// Longest possible frame header: flags byte plus an 8-byte size.
pub const MAX_HEADER_LEN: usize = 9;

/// Flag bit: more frames of this message follow.
pub const FLAG_MORE: u8 = 0x01;
/// Flag bit: the size field is 8 bytes (u64 BE) instead of 1.
pub const FLAG_LONG: u8 = 0x02;
/// Flag bit: the frame is a command, not message data.
pub const FLAG_COMMAND: u8 = 0x04;

/// A decoded frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// Raw flags byte (reserved bits 3..7 are kept but carry no meaning).
    pub flags: u8,
    /// Body size in bytes, as announced (not yet validated against limits).
    pub size: u64,
    /// Header length in bytes: 2 (short form) or 9 (long form).
    pub header_len: usize,
}

impl FrameHeader {
    /// Decodes a header from the front of `buf`; `None` if `buf` does not
    /// hold a complete header yet. Never panics.
    #[inline]
    pub fn decode(buf: &[u8]) -> Option<FrameHeader> {
        let flags = *buf.first()?;
        if flags & FLAG_LONG == 0 {
            let size = *buf.get(1)?;
            Some(FrameHeader {
                flags,
                size: u64::from(size),
                header_len: 2,
            })
        } else {
            let size: [u8; 8] = buf.get(1..MAX_HEADER_LEN)?.try_into().ok()?;
            Some(FrameHeader {
                flags,
                size: u64::from_be_bytes(size),
                header_len: MAX_HEADER_LEN,
            })
        }
    }

    /// Header length implied by a flags byte (2 or 9).
    #[inline]
    pub fn len_for_flags(flags: u8) -> usize {
        if flags & FLAG_LONG == 0 {
            2
        } else {
            MAX_HEADER_LEN
        }
    }

    /// The MORE bit.
    #[inline]
    pub fn more(&self) -> bool {
        self.flags & FLAG_MORE != 0
    }

    /// The COMMAND bit.
    #[inline]
    pub fn is_command(&self) -> bool {
        self.flags & FLAG_COMMAND != 0
    }
}

/// Writes the header of a data frame with a `len`-byte body into `buf` and
/// returns how many bytes of `buf` were used: 2 (short form, `len <= 255`) or
/// 9 (long form), the same choice libzmq makes.
#[inline]
pub fn encode_frame_header(buf: &mut [u8; MAX_HEADER_LEN], len: usize, more: bool) -> usize {
    encode_header(buf, u8::from(more), len)
}

/// Like [`encode_frame_header`] with explicit base flags (MORE/COMMAND);
/// LONG is added when needed.
#[inline]
fn encode_header(buf: &mut [u8; MAX_HEADER_LEN], flags: u8, len: usize) -> usize {
    if len <= 255 {
        buf[0] = flags;
        buf[1] = len as u8;
        2
    } else {
        buf[0] = flags | FLAG_LONG;
        let size = (len as u64).to_be_bytes();
        buf[1..].copy_from_slice(&size);
        MAX_HEADER_LEN
    }
}

/// Appends a header with the given base flags for a `len`-byte body.
#[inline]
pub(crate) fn put_header(out: &mut BytesMut, flags: u8, len: usize) {
    let mut buf = [0u8; MAX_HEADER_LEN];
    let n = encode_header(&mut buf, flags, len);
    out.put_slice(&buf[..n]);
}

/// Appends a complete data frame (header and a copy of the body).
#[inline]
pub(crate) fn put_data_frame(out: &mut BytesMut, data: &[u8], more: bool) {
    out.reserve(MAX_HEADER_LEN + data.len());
    put_header(out, u8::from(more), data.len());
    out.put_slice(data);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_headers() {
        let mut buf = [0u8; MAX_HEADER_LEN];
        assert_eq!(encode_frame_header(&mut buf, 3, true), 2);
        assert_eq!(&buf[..2], &[0x01, 0x03]);
        assert_eq!(encode_frame_header(&mut buf, 255, false), 2);
        assert_eq!(&buf[..2], &[0x00, 0xff]);
        assert_eq!(encode_frame_header(&mut buf, 256, false), 9);
        assert_eq!(buf, [0x02, 0, 0, 0, 0, 0, 0, 0x01, 0x00]);
        assert_eq!(encode_frame_header(&mut buf, 1 << 40, true), 9);
        assert_eq!(buf, [0x03, 0, 0, 0x01, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn decode_round_trip() {
        for len in [0usize, 1, 254, 255, 256, 65_536, 1 << 33] {
            for more in [false, true] {
                let mut buf = [0u8; MAX_HEADER_LEN];
                let n = encode_frame_header(&mut buf, len, more);
                let h = FrameHeader::decode(&buf[..n]).unwrap();
                assert_eq!(h.size, len as u64);
                assert_eq!(h.header_len, n);
                assert_eq!(h.more(), more);
                assert!(!h.is_command());
                assert_eq!(FrameHeader::len_for_flags(buf[0]), n);
                // Any strict prefix is incomplete.
                for cut in 0..n {
                    assert_eq!(FrameHeader::decode(&buf[..cut]), None);
                }
            }
        }
    }

    #[test]
    fn long_form_with_small_size_is_accepted() {
        let h = FrameHeader::decode(&[0x06, 0, 0, 0, 0, 0, 0, 0, 5]).unwrap();
        assert!(h.is_command());
        assert_eq!(h.size, 5);
        assert_eq!(h.header_len, 9);
    }

    /// ZMTP.md section 12: `["ABC", 256 x 00]`.
    #[test]
    fn section_12_two_frame_message() {
        let mut out = BytesMut::new();
        put_data_frame(&mut out, b"ABC", true);
        put_data_frame(&mut out, &[0u8; 256], false);
        let mut expected = vec![0x01, 0x03, 0x41, 0x42, 0x43];
        expected.extend_from_slice(&[0x02, 0, 0, 0, 0, 0, 0, 0x01, 0x00]);
        expected.extend_from_slice(&[0u8; 256]);
        assert_eq!(&out[..], &expected[..]);
    }
}
