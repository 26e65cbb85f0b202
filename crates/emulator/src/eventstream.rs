//! AWS event stream framing (`application/vnd.amazon.eventstream`) and the
//! CRC32 it uses.
//!
//! A frame is: total length (u32 BE), headers length (u32 BE), CRC32 of those
//! 8 bytes, the headers, the payload, then the CRC32 of everything before it.
//! A header is: name length (u8), name, value type (u8, 7 = string), value
//! length (u16 BE), value.

/// CRC-32/ISO-HDLC (IEEE 802.3, reflected polynomial `0xEDB88320`), as used
/// by zlib and the AWS event stream.
const CRC_TABLE: [u32; 256] = crc_table();

const fn crc_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
}

/// The CRC32 of `data`.
pub(crate) fn crc32(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in data {
        c = CRC_TABLE[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

/// The value type of a string header.
const STRING: u8 = 7;

/// Appends one frame with string headers. Names longer than 255 bytes and
/// values longer than 65535 bytes are truncated (never the case here).
pub(crate) fn frame(out: &mut Vec<u8>, headers: &[(&str, &str)], payload: &[u8]) {
    let start = out.len();
    let headers_len: usize = headers
        .iter()
        .map(|(n, v)| 1 + n.len().min(255) + 3 + v.len().min(65535))
        .sum();
    let total = 12 + headers_len + payload.len() + 4;
    out.reserve(total);
    out.extend_from_slice(&(total as u32).to_be_bytes());
    out.extend_from_slice(&(headers_len as u32).to_be_bytes());
    let prelude_crc = crc32(&out[start..start + 8]);
    out.extend_from_slice(&prelude_crc.to_be_bytes());
    for (name, value) in headers {
        let name = &name.as_bytes()[..name.len().min(255)];
        let value = &value.as_bytes()[..value.len().min(65535)];
        out.push(name.len() as u8);
        out.extend_from_slice(name);
        out.push(STRING);
        out.extend_from_slice(&(value.len() as u16).to_be_bytes());
        out.extend_from_slice(value);
    }
    out.extend_from_slice(payload);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_check_values() {
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(
            crc32(b"The quick brown fox jumps over the lazy dog"),
            0x414F_A339
        );
    }

    #[test]
    fn frame_layout() {
        let mut out = Vec::new();
        frame(&mut out, &[(":event-type", "messageStart")], b"{}");
        let hl = 1 + 11 + 3 + 12;
        assert_eq!(out.len(), 12 + hl + 2 + 4);
        assert_eq!(&out[..4], &(out.len() as u32).to_be_bytes());
        assert_eq!(&out[4..8], &(hl as u32).to_be_bytes());
        assert_eq!(&out[8..12], &crc32(&out[..8]).to_be_bytes());
        assert_eq!(out[12], 11);
        assert_eq!(&out[13..24], b":event-type");
        assert_eq!(out[24], 7);
        assert_eq!(&out[25..27], &12u16.to_be_bytes());
        let n = out.len();
        assert_eq!(&out[n - 6..n - 4], b"{}");
        assert_eq!(&out[n - 4..], &crc32(&out[..n - 4]).to_be_bytes());
    }

    /// The first frame of a real Bedrock recording has this prelude CRC.
    #[test]
    fn matches_a_recorded_prelude() {
        let prelude = [0, 0, 0, 0x8f, 0, 0, 0, 0x52];
        assert_eq!(crc32(&prelude), 0xd3f1_c8f2);
    }
}
