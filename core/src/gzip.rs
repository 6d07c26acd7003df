//! A push-model gzip decoder that reports exactly how a stream ended.
//!
//! CloudTrail digests and logs are single-member gzip files. Tampering often
//! shows up in the framing (a second member appended, the trailer cut off,
//! bytes after the end), and the reference tool is lenient there, so this
//! decoder parses the framing itself (RFC 1952) around a raw-deflate inflater
//! and reports, at [`GzipDecoder::finish`], whether the member was complete
//! and how many bytes followed it. Policy (strict or aws-cli-compatible) is
//! left to the caller.
//!
//! Memory is bounded: input is consumed in the caller's chunks, output is
//! handed out in pieces of up to 256 KiB, and a limit on the inflated size
//! stops decompression bombs.

use flate2::{Crc, Decompress, FlushDecompress, Status};

/// Output buffer capacity. Large, so that the inflater rarely has to copy
/// its output into its own window (it does so after each call that does not
/// end the stream), and never initialised: a small object costs only the
/// bytes it inflates.
const OUT_CHUNK: usize = 256 * 1024;
const FTEXT_RESERVED: u8 = 0xE0;
const FHCRC: u8 = 0x02;
const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;

/// Why a gzip stream was rejected while it was being decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum GzipError {
    /// The first bytes are not a gzip header (magic, method or flags).
    #[error("not gzip data")]
    NotGzip,
    /// The header's own CRC16 (FHCRC) does not match.
    #[error("gzip header checksum mismatch")]
    HeaderChecksum,
    /// The deflate data is corrupt.
    #[error("corrupt deflate data")]
    Corrupt,
    /// The CRC-32 in the trailer does not match the inflated data.
    #[error("gzip CRC-32 mismatch")]
    CrcMismatch,
    /// The ISIZE in the trailer does not match the inflated length.
    #[error("gzip length mismatch")]
    LengthMismatch,
    /// The inflated data exceeds the caller's limit (a decompression bomb,
    /// or simply too large to be what it claims to be).
    #[error("inflated size exceeds the limit of {0} bytes")]
    TooLarge(u64),
}

/// How the input ended, reported by [`GzipDecoder::finish`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum GzipEnd {
    /// One complete member (header, deflate data, matching trailer), followed
    /// by `trailing` more bytes (a second member, garbage or padding).
    Complete {
        /// Bytes after the end of the first member.
        trailing: u64,
    },
    /// The input stopped before the member was complete.
    Truncated {
        /// Where it stopped.
        stage: TruncatedAt,
    },
}

/// The part of a gzip member in which the input ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TruncatedAt {
    /// Inside the header (includes an empty input).
    Header,
    /// Inside the deflate data.
    Deflate,
    /// Inside the 8-byte trailer (CRC-32 and ISIZE).
    Trailer,
}

#[derive(Debug)]
enum State {
    /// Fixed 10-byte header, collected in `buf`.
    Fixed,
    /// FEXTRA length (2 bytes) then that many bytes.
    ExtraLen,
    Extra(u32),
    Name,
    Comment,
    HeaderCrc,
    Deflate,
    Trailer,
    Done,
}

/// Incremental gzip decoder: feed compressed bytes with [`update`](Self::update),
/// receive inflated bytes through the callback, then call [`finish`](Self::finish).
pub struct GzipDecoder {
    state: State,
    flags: u8,
    buf: Vec<u8>,
    header_crc: Crc,
    inflater: Decompress,
    crc: Crc,
    out: Vec<u8>,
    inflated: u64,
    limit: u64,
    trailing: u64,
}

impl std::fmt::Debug for GzipDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GzipDecoder")
            .field("state", &self.state)
            .field("inflated", &self.inflated)
            .finish_non_exhaustive()
    }
}

impl GzipDecoder {
    /// A decoder that fails with [`GzipError::TooLarge`] once more than
    /// `limit` bytes have been inflated.
    pub fn new(limit: u64) -> Self {
        GzipDecoder {
            state: State::Fixed,
            flags: 0,
            buf: Vec::with_capacity(10),
            header_crc: Crc::new(),
            inflater: Decompress::new(false),
            crc: Crc::new(),
            out: Vec::with_capacity(OUT_CHUNK),
            inflated: 0,
            limit,
            trailing: 0,
        }
    }

    /// Changes the inflated-size limit (a budget that grows with the input,
    /// see [`crate::logs::LogBudget`]). Bytes already inflated are not
    /// re-checked until more are produced.
    pub fn set_limit(&mut self, limit: u64) {
        self.limit = limit;
    }

    /// Bytes inflated so far.
    pub fn inflated(&self) -> u64 {
        self.inflated
    }

    /// Consumes `input`, calling `sink` with each piece of inflated data.
    /// After an error the decoder must not be used again.
    pub fn update(&mut self, mut input: &[u8], sink: &mut dyn FnMut(&[u8])) -> Result<(), GzipError> {
        while !input.is_empty() {
            input = match self.state {
                State::Fixed => {
                    let rest = self.fill(input, 10);
                    // Checked as soon as the bytes are there, like zlib (magic
                    // with 2 bytes, method and flags with 4), so a short
                    // non-gzip object is an error, not a truncated stream.
                    let h = &self.buf;
                    if (h.len() >= 2 && (h[0] != 0x1f || h[1] != 0x8b))
                        || (h.len() >= 4 && (h[2] != 8 || h[3] & FTEXT_RESERVED != 0))
                    {
                        return Err(GzipError::NotGzip);
                    }
                    if self.buf.len() == 10 {
                        let h = std::mem::take(&mut self.buf);
                        self.flags = h[3];
                        self.header_crc.update(&h);
                        self.state = self.after(0);
                    }
                    rest
                }
                State::ExtraLen => {
                    let rest = self.fill(input, 2);
                    if self.buf.len() == 2 {
                        let b = std::mem::take(&mut self.buf);
                        self.header_crc.update(&b);
                        let n = u32::from(u16::from_le_bytes([b[0], b[1]]));
                        self.state = if n == 0 { self.after(FEXTRA) } else { State::Extra(n) };
                    }
                    rest
                }
                State::Extra(n) => {
                    let take = input.len().min(n as usize);
                    self.header_crc.update(&input[..take]);
                    let left = n - take as u32;
                    self.state = if left == 0 {
                        self.after(FEXTRA)
                    } else {
                        State::Extra(left)
                    };
                    &input[take..]
                }
                State::Name | State::Comment => {
                    let field = if matches!(self.state, State::Name) {
                        FNAME
                    } else {
                        FCOMMENT
                    };
                    match input.iter().position(|&c| c == 0) {
                        Some(i) => {
                            self.header_crc.update(&input[..=i]);
                            self.state = self.after(field);
                            &input[i + 1..]
                        }
                        None => {
                            self.header_crc.update(input);
                            &[]
                        }
                    }
                }
                State::HeaderCrc => {
                    let rest = self.fill(input, 2);
                    if self.buf.len() == 2 {
                        let b = std::mem::take(&mut self.buf);
                        let want = u16::from_le_bytes([b[0], b[1]]);
                        if (self.header_crc.sum() & 0xFFFF) as u16 != want {
                            return Err(GzipError::HeaderChecksum);
                        }
                        self.state = State::Deflate;
                    }
                    rest
                }
                State::Deflate => {
                    let rest = self.inflate(input, sink)?;
                    if rest.len() == input.len() && matches!(self.state, State::Deflate) {
                        // No progress with input and output room: the inflater
                        // is wedged, which only corrupt data can cause.
                        return Err(GzipError::Corrupt);
                    }
                    rest
                }
                State::Trailer => {
                    let rest = self.fill(input, 8);
                    if self.buf.len() == 8 {
                        let b = std::mem::take(&mut self.buf);
                        let crc = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                        let size = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
                        if crc != self.crc.sum() {
                            return Err(GzipError::CrcMismatch);
                        }
                        if size != self.inflated as u32 {
                            return Err(GzipError::LengthMismatch);
                        }
                        self.state = State::Done;
                    }
                    rest
                }
                State::Done => {
                    self.trailing += input.len() as u64;
                    &[]
                }
            };
        }
        Ok(())
    }

    /// Ends the input and says how the stream ended.
    pub fn finish(self) -> GzipEnd {
        let stage = match self.state {
            State::Done => {
                return GzipEnd::Complete {
                    trailing: self.trailing,
                }
            }
            State::Deflate => TruncatedAt::Deflate,
            State::Trailer => TruncatedAt::Trailer,
            _ => TruncatedAt::Header,
        };
        GzipEnd::Truncated { stage }
    }

    /// Appends up to `want - buf.len()` bytes of `input` to `buf`.
    fn fill<'a>(&mut self, input: &'a [u8], want: usize) -> &'a [u8] {
        let take = input.len().min(want - self.buf.len());
        self.buf.extend_from_slice(&input[..take]);
        &input[take..]
    }

    /// The header state that follows the optional field `done`
    /// (0 = the fixed header).
    fn after(&self, done: u8) -> State {
        let order = [
            (FEXTRA, State::ExtraLen),
            (FNAME, State::Name),
            (FCOMMENT, State::Comment),
            (FHCRC, State::HeaderCrc),
        ];
        let mut passed = done == 0;
        for (flag, state) in order {
            if passed && self.flags & flag != 0 {
                return state;
            }
            if flag == done {
                passed = true;
            }
        }
        State::Deflate
    }

    fn inflate<'a>(&mut self, mut input: &'a [u8], sink: &mut dyn FnMut(&[u8])) -> Result<&'a [u8], GzipError> {
        loop {
            let before_in = self.inflater.total_in();
            self.out.clear();
            let status = self
                .inflater
                .decompress_vec(input, &mut self.out, FlushDecompress::None)
                .map_err(|_| GzipError::Corrupt)?;
            let consumed = (self.inflater.total_in() - before_in) as usize;
            let produced = self.out.len();
            input = &input[consumed..];
            if produced > 0 {
                self.inflated += produced as u64;
                if self.inflated > self.limit {
                    return Err(GzipError::TooLarge(self.limit));
                }
                self.crc.update(&self.out);
                sink(&self.out);
            }
            match status {
                Status::StreamEnd => {
                    self.state = State::Trailer;
                    return Ok(input);
                }
                _ if consumed == 0 && produced == 0 => return Ok(input),
                _ if input.is_empty() && produced < self.out.capacity() => return Ok(input),
                _ => {}
            }
        }
    }
}

/// Inflates a whole in-memory gzip object, returning the inflated bytes and
/// how the stream ended.
pub fn gunzip(data: &[u8], limit: u64) -> Result<(Vec<u8>, GzipEnd), GzipError> {
    let mut dec = GzipDecoder::new(limit);
    let mut out = Vec::new();
    dec.update(data, &mut |piece| out.extend_from_slice(piece))?;
    Ok((out, dec.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::GzBuilder::new()
            .filename("x.json")
            .write(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn feed(data: &[u8], chunk: usize) -> Result<(Vec<u8>, GzipEnd), GzipError> {
        let mut dec = GzipDecoder::new(1 << 30);
        let mut out = Vec::new();
        for c in data.chunks(chunk.max(1)) {
            dec.update(c, &mut |p| out.extend_from_slice(p))?;
        }
        Ok((out, dec.finish()))
    }

    #[test]
    fn complete_in_any_chunking() {
        let body: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let z = gz(&body);
        for chunk in [1, 7, 4096, z.len()] {
            let (out, end) = feed(&z, chunk).unwrap();
            assert_eq!(out, body);
            assert_eq!(end, GzipEnd::Complete { trailing: 0 });
        }
    }

    #[test]
    fn trailing_member_and_garbage_are_counted() {
        let mut z = gz(b"{\"Records\":[]}");
        z.extend_from_slice(&gz(b"x"));
        let (out, end) = gunzip(&z, 1 << 20).unwrap();
        assert_eq!(out, b"{\"Records\":[]}");
        assert!(matches!(end, GzipEnd::Complete { trailing } if trailing > 0));
    }

    #[test]
    fn truncation_is_located() {
        let z = gz(b"hello hello hello hello");
        assert_eq!(
            gunzip(&z[..z.len() - 3], 1 << 20).unwrap().1,
            GzipEnd::Truncated {
                stage: TruncatedAt::Trailer
            }
        );
        assert_eq!(
            gunzip(&z[..22], 1 << 20).unwrap().1,
            GzipEnd::Truncated {
                stage: TruncatedAt::Deflate
            }
        );
        assert_eq!(
            gunzip(&z[..4], 1 << 20).unwrap().1,
            GzipEnd::Truncated {
                stage: TruncatedAt::Header
            }
        );
        assert_eq!(
            gunzip(b"", 1 << 20).unwrap().1,
            GzipEnd::Truncated {
                stage: TruncatedAt::Header
            }
        );
    }

    #[test]
    fn corruption_is_an_error() {
        assert_eq!(gunzip(b"plain text, not gzip", 100).unwrap_err(), GzipError::NotGzip);
        let mut z = gz(b"hello hello hello");
        let n = z.len();
        z[n - 8] ^= 0xff;
        assert_eq!(gunzip(&z, 100).unwrap_err(), GzipError::CrcMismatch);
        let mut z = gz(b"hello hello hello");
        z[n - 1] ^= 0x01;
        assert_eq!(gunzip(&z, 100).unwrap_err(), GzipError::LengthMismatch);
    }

    #[test]
    fn bomb_is_stopped() {
        let z = gz(&vec![0u8; 10_000_000]);
        assert!(z.len() < 20_000);
        assert_eq!(gunzip(&z, 1_000_000).unwrap_err(), GzipError::TooLarge(1_000_000));
    }
}
