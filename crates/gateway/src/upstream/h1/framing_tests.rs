//! The body decoder, fed whole, in pieces and byte by byte.

use super::*;

/// Feed `input` split at `cuts`, decoding after each piece as the
/// connection would; the data frames and the outcome at the end.
fn run(framing: Framing, pieces: &[&[u8]], eof: bool) -> (Vec<Bytes>, Result<bool, FramingError>) {
    let mut d = Decoder::new(framing);
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    for p in pieces {
        buf.extend_from_slice(p);
        loop {
            if let Err(e) = d.advance(&mut buf) {
                return (frames, Err(e));
            }
            match d.take_data(&mut buf) {
                Some(b) => frames.push(b),
                None => break,
            }
        }
    }
    if eof && let Err(e) = d.eof() {
        return (frames, Err(e));
    }
    (frames, Ok(d.is_done()))
}

fn joined(frames: &[Bytes]) -> Vec<u8> {
    frames.concat()
}

#[test]
fn content_length_body_ends_with_its_last_byte_and_leaves_the_rest() {
    let mut d = Decoder::new(Framing::Length(5));
    let mut buf = BytesMut::from(&b"hel"[..]);
    d.advance(&mut buf).unwrap();
    assert_eq!(d.take_data(&mut buf).unwrap(), "hel");
    assert_eq!(d.remaining(), Some(2));
    buf.extend_from_slice(b"loHTTP/1.1");
    assert_eq!(d.take_data(&mut buf).unwrap(), "lo");
    d.advance(&mut buf).unwrap();
    assert!(d.is_done());
    assert_eq!(&buf[..], b"HTTP/1.1", "bytes after the body are not taken");
    assert_eq!(d.take_data(&mut buf), None);
}

#[test]
fn content_length_cut_short_says_how_much_came() {
    let (frames, r) = run(Framing::Length(5678), &[&[b'x'; 1234]], true);
    assert_eq!(joined(&frames).len(), 1234);
    let e = r.unwrap_err();
    assert_eq!(
        e.to_string(),
        "the provider closed the connection after 1,234 of 5,678 body bytes"
    );
}

#[test]
fn empty_and_zero_length_bodies_are_done_at_once() {
    assert!(Decoder::new(Framing::Empty).is_done());
    assert!(Decoder::new(Framing::Length(0)).is_done());
    assert_eq!(Decoder::new(Framing::Empty).remaining(), Some(0));
}

const CHUNKED: &[u8] = b"5;name=value\r\nhello\r\n7 ; ext\r\n, world\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nx-trailer: 1\r\nx-other: two\r\n\r\n";
const CHUNKED_DATA: &[u8] = b"hello, worldabcdefghijklmnopqrstuvwxyz";

#[test]
fn chunked_body_split_at_every_position_decodes_the_same() {
    for i in 0..=CHUNKED.len() {
        for j in i..=CHUNKED.len() {
            let (frames, r) = run(
                Framing::Chunked,
                &[&CHUNKED[..i], &CHUNKED[i..j], &CHUNKED[j..]],
                false,
            );
            assert_eq!(r, Ok(true), "split at {i}, {j}");
            assert_eq!(joined(&frames), CHUNKED_DATA, "split at {i}, {j}");
        }
    }
}

#[test]
fn chunked_data_is_handed_out_before_its_chunk_is_complete() {
    let mut d = Decoder::new(Framing::Chunked);
    let mut buf = BytesMut::from(&b"1a\r\nabc"[..]);
    d.advance(&mut buf).unwrap();
    assert_eq!(d.take_data(&mut buf).unwrap(), "abc");
    buf.extend_from_slice(b"d");
    assert_eq!(d.take_data(&mut buf).unwrap(), "d");
}

#[test]
fn chunked_body_fed_byte_by_byte_ends_only_after_the_trailers() {
    let pieces: Vec<&[u8]> = CHUNKED.chunks(1).collect();
    let (frames, r) = run(Framing::Chunked, &pieces[..pieces.len() - 1], false);
    assert_eq!(r, Ok(false), "not done before the last CRLF");
    assert_eq!(joined(&frames), CHUNKED_DATA);
    let (_, r) = run(Framing::Chunked, &pieces, false);
    assert_eq!(r, Ok(true));
}

#[test]
fn chunked_body_leaves_the_bytes_after_it() {
    let mut d = Decoder::new(Framing::Chunked);
    let mut buf = BytesMut::from(&b"2\r\nhi\r\n0\r\n\r\nHTTP"[..]);
    d.advance(&mut buf).unwrap();
    assert_eq!(d.take_data(&mut buf).unwrap(), "hi");
    d.advance(&mut buf).unwrap();
    assert!(d.is_done());
    assert_eq!(&buf[..], b"HTTP");
}

#[test]
fn malformed_chunk_sizes_are_errors() {
    for bad in [
        &b"zz\r\n"[..],
        b"\r\n",
        b"-1\r\n",
        b"0x10\r\n",
        b"1 2\r\n",
        b"11111111111111111\r\n",
        b";ext\r\n",
    ] {
        let (_, r) = run(Framing::Chunked, &[bad], false);
        let e = r.unwrap_err();
        assert!(matches!(e, FramingError::ChunkSize(_)), "{bad:?}: {e:?}");
        assert!(e.to_string().contains("not a hexadecimal size"), "{e}");
    }
    let (_, r) = run(Framing::Chunked, &[b"2\r\nhiX"], false);
    assert_eq!(r, Err(FramingError::ChunkEnd));
    let (_, r) = run(Framing::Chunked, &[&[b'1'; MAX_LINE + 1]], false);
    assert_eq!(r, Err(FramingError::LineTooLong));
    let mut trailers = b"0\r\n".to_vec();
    trailers.extend(std::iter::repeat_n(b"x-a: b\r\n"[..].to_vec(), 3000).flatten());
    let (_, r) = run(Framing::Chunked, &[&trailers], false);
    assert_eq!(r, Err(FramingError::TrailersTooLarge));
}

#[test]
fn an_error_is_final() {
    let mut d = Decoder::new(Framing::Chunked);
    let mut buf = BytesMut::from(&b"zz\r\n"[..]);
    assert!(d.advance(&mut buf).is_err());
    buf.extend_from_slice(b"2\r\nhi\r\n");
    assert!(d.advance(&mut buf).is_err());
    assert_eq!(d.take_data(&mut buf), None);
}

#[test]
fn chunked_body_cut_short_is_an_error() {
    let (frames, r) = run(Framing::Chunked, &[b"4\r\nab"], true);
    assert_eq!(joined(&frames), b"ab");
    assert_eq!(
        r.unwrap_err().to_string(),
        "the provider closed the connection in the middle of its chunked body, after 2 body bytes"
    );
}

#[test]
fn close_delimited_body_runs_to_end_of_file() {
    let (frames, r) = run(Framing::Close, &[b"abc", b"", b"def"], false);
    assert_eq!(r, Ok(false), "not done before end of file");
    assert_eq!(joined(&frames), b"abcdef");
    let (_, r) = run(Framing::Close, &[b"abc"], true);
    assert_eq!(r, Ok(true));
}
