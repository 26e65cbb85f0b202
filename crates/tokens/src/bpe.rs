//! Exact token counts for tiktoken encodings, from a compact table.
//!
//! tiktoken's `CoreBPE` keeps two hash maps of `Vec<u8>` and rank, one
//! allocation per token: about 45 MB of memory for `o200k_base`. Counting
//! needs neither token ids nor decoding, only "is this byte string a token,
//! and of which rank", so [`RankTable`] answers that from the tokens' bytes
//! as compiled into the binary (by `build.rs`, from the vendored
//! `assets/*.tiktoken`, the files tiktoken-rs ships), one `u32` offset per
//! token and an open-addressing index of `u32` slots: 2.8 MB of heap for
//! `o200k_base` (1.4 MB for `cl100k_base`), plus 1.5 MB (0.7 MB) of token
//! bytes read from the binary.
//!
//! The counting itself is tiktoken's `encode_ordinary`: the encoding's
//! pre-tokenizer regex (the same pattern, through the same `fancy-regex`)
//! cuts the text into pieces; a piece that is a token is one token, any
//! other is merged byte pair by byte pair, lowest rank first (tiktoken's
//! `byte_pair_merge`, both its variants), and its parts are counted.

use fancy_regex::Regex;

use crate::method::Encoding;

/// A token's rank (its id in the encoding).
type Rank = u32;

/// The `o200k_base` pre-tokenizer (tiktoken-rs `O200K_BASE_PAT_STR`).
pub(crate) const O200K_PATTERN: &str = concat!(
    r#"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"#,
    "|",
    r#"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"#,
    "|",
    r#"\p{N}{1,3}"#,
    "|",
    r#" ?[^\s\p{L}\p{N}]+[\r\n/]*"#,
    "|",
    r#"\s*[\r\n]+"#,
    "|",
    r#"\s+(?!\S)"#,
    "|",
    r#"\s+"#
);

/// The `cl100k_base` pre-tokenizer (as in tiktoken-rs `cl100k_base()`).
pub(crate) const CL100K_PATTERN: &str = "'(?i:[sdmt]|ll|ve|re)|[^\\r\\n\\p{L}\\p{N}]?+\\p{L}++|\\p{N}{1,3}+| ?[^\\s\\p{L}\\p{N}]++[\\r\\n]*+|\\s++$|\\s*[\\r\\n]|\\s+(?!\\S)|\\s";

/// The tables in the form `build.rs` writes them.
static O200K_BLOB: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/o200k_base.bin"));
static CL100K_BLOB: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/cl100k_base.bin"));

/// Pieces shorter than this are merged with tiktoken's quadratic variant
/// (here on the stack), longer ones with its heap-based one.
const SMALL_PIECE: usize = 100;

/// One encoding: its ranks and its pre-tokenizer.
pub(crate) struct Bpe {
    ranks: RankTable,
    regex: Regex,
}

impl Bpe {
    /// The table and regex for `encoding`; `None` if either cannot be built
    /// (not expected: both are compiled in and checked by the tests).
    pub(crate) fn load(encoding: Encoding) -> Option<Bpe> {
        let (blob, pattern) = match encoding {
            Encoding::O200kBase => (O200K_BLOB, O200K_PATTERN),
            Encoding::Cl100kBase => (CL100K_BLOB, CL100K_PATTERN),
        };
        Some(Bpe {
            ranks: RankTable::from_blob(blob)?,
            regex: Regex::new(pattern).ok()?,
        })
    }

    /// The number of tokens tiktoken's `encode_ordinary(text)` gives
    /// (special-token text counted as ordinary text); `None` if the regex
    /// gives up on the text (fancy-regex's backtracking limit), where
    /// tiktoken's `encode` fails too.
    pub(crate) fn count(&self, text: &str) -> Option<u64> {
        let mut total = 0u64;
        for piece in self.regex.find_iter(text) {
            let piece = piece.ok()?.as_str().as_bytes();
            total = total.saturating_add(self.ranks.count_piece(piece) as u64);
        }
        Some(total)
    }

    #[cfg(test)]
    pub(crate) fn ranks(&self) -> &RankTable {
        &self.ranks
    }
}

/// Slot value of an empty index slot (never a valid entry: ranks stay
/// below the index mask).
const EMPTY: u32 = u32::MAX;

/// Token bytes to rank, without an allocation per token.
pub(crate) struct RankTable {
    /// All tokens' bytes, concatenated in rank order (compiled in).
    bytes: &'static [u8],
    /// Token `r` is `bytes[offsets[r]..offsets[r + 1]]`.
    offsets: Box<[u32]>,
    /// Open addressing with linear probing, a power of two of slots, at
    /// least 1.5 per token. A slot holds `tag << rank_bits | rank`, the tag
    /// being hash bits the slot number does not use, so most mismatches are
    /// rejected without reading the token's bytes.
    slots: Box<[u32]>,
    /// The slot number is the hash's top bits: `hash >> slot_shift`.
    slot_shift: u32,
    /// The tag is the bits under those: `(hash >> tag_shift) & tag_mask`.
    tag_shift: u32,
    tag_mask: u32,
    rank_bits: u32,
    rank_mask: u32,
}

impl RankTable {
    /// Parse `build.rs`'s output and index it; `None` if it is malformed.
    fn from_blob(blob: &'static [u8]) -> Option<RankTable> {
        let (head, rest) = blob.split_at_checked(4)?;
        let n = u32::from_le_bytes(head.try_into().ok()?);
        // At least one token and at least one bit of tag.
        if n == 0 || n >= 1 << 24 {
            return None;
        }
        let (lens, bytes) = rest.split_at_checked(n as usize)?;
        let mut offsets = Vec::with_capacity(lens.len() + 1);
        let mut end = 0u32;
        offsets.push(end);
        for &len in lens {
            end = end.checked_add(u32::from(len))?;
            offsets.push(end);
        }
        if end as usize != bytes.len() {
            return None;
        }

        let slot_count = (n as usize + n as usize / 2).next_power_of_two();
        let slot_bits = slot_count.trailing_zeros();
        // Enough bits for every rank and for n itself, so that the all-ones
        // rank (part of `EMPTY`) is never used.
        let rank_bits = u32::BITS - n.leading_zeros();
        let tag_bits = u32::BITS - rank_bits;
        let mut table = RankTable {
            bytes,
            offsets: offsets.into_boxed_slice(),
            slots: vec![EMPTY; slot_count].into_boxed_slice(),
            slot_shift: u64::BITS - slot_bits,
            tag_shift: u64::BITS - slot_bits - tag_bits,
            tag_mask: (1u32 << tag_bits) - 1,
            rank_bits,
            rank_mask: (1u32 << rank_bits) - 1,
        };
        for rank in 0..n {
            table.insert(rank)?;
        }
        Some(table)
    }

    /// Index token `rank`; `None` if its bytes are already there.
    fn insert(&mut self, rank: Rank) -> Option<()> {
        let token = self.token(rank)?;
        let (mut slot, tag) = self.position(token);
        let mask = self.slots.len() - 1;
        loop {
            let entry = *self.slots.get(slot)?;
            if entry == EMPTY {
                *self.slots.get_mut(slot)? = (tag << self.rank_bits) | rank;
                return Some(());
            }
            if entry >> self.rank_bits == tag && self.token(entry & self.rank_mask)? == token {
                return None;
            }
            slot = (slot + 1) & mask;
        }
    }

    fn token(&self, rank: Rank) -> Option<&'static [u8]> {
        let r = rank as usize;
        let start = *self.offsets.get(r)? as usize;
        let end = *self.offsets.get(r + 1)? as usize;
        self.bytes.get(start..end)
    }

    /// First slot to probe and tag for `bytes`.
    #[inline]
    fn position(&self, bytes: &[u8]) -> (usize, u32) {
        let h = hash(bytes);
        (
            (h >> self.slot_shift) as usize,
            (h >> self.tag_shift) as u32 & self.tag_mask,
        )
    }

    /// The rank of the token `bytes`, if it is one.
    #[inline]
    pub(crate) fn rank(&self, bytes: &[u8]) -> Option<Rank> {
        let (mut slot, tag) = self.position(bytes);
        let mask = self.slots.len() - 1;
        loop {
            let entry = *self.slots.get(slot)?;
            if entry == EMPTY {
                return None;
            }
            if entry >> self.rank_bits == tag {
                let rank = entry & self.rank_mask;
                if self.token(rank) == Some(bytes) {
                    return Some(rank);
                }
            }
            slot = (slot + 1) & mask;
        }
    }

    /// Number of tokens in the table.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Token `rank`'s bytes.
    #[cfg(test)]
    pub(crate) fn token_bytes(&self, rank: Rank) -> Option<&'static [u8]> {
        self.token(rank)
    }

    /// Heap bytes this table holds (offsets and index), and the bytes it
    /// reads from the binary (token lengths and bytes).
    #[cfg(test)]
    pub(crate) fn footprint(&self) -> (usize, usize) {
        let heap = std::mem::size_of_val(&*self.offsets) + std::mem::size_of_val(&*self.slots);
        (heap, 4 + self.len() + self.bytes.len())
    }

    /// Tokens of one pre-tokenizer piece (tiktoken's `byte_pair_encode`,
    /// counted instead of collected).
    fn count_piece(&self, piece: &[u8]) -> usize {
        match piece.len() {
            0 => 0,
            1 => 1,
            _ if self.rank(piece).is_some() => 1,
            n if n < SMALL_PIECE => self.merge_small(piece),
            _ => self.merge_large(piece),
        }
    }

    /// The rank of `piece[start..end]`, `Rank::MAX` if it is no token.
    #[inline]
    fn rank_of(&self, piece: &[u8], start: usize, end: usize) -> Rank {
        piece
            .get(start..end)
            .and_then(|bytes| self.rank(bytes))
            .unwrap_or(Rank::MAX)
    }

    /// tiktoken's `_byte_pair_merge` for a piece of 2 to 99 bytes: keep the
    /// part boundaries, each with the rank of the pair starting there, and
    /// merge the lowest-ranked pair (the first of equals) until no pair is a
    /// token. Returns the number of parts.
    fn merge_small(&self, piece: &[u8]) -> usize {
        let n = piece.len();
        if !(2..SMALL_PIECE).contains(&n) {
            return self.merge_large(piece);
        }
        // Boundary i: its byte offset and the rank of the pair starting at it.
        let mut starts = [0usize; SMALL_PIECE + 1];
        let mut ranks = [Rank::MAX; SMALL_PIECE + 1];
        for i in 0..n - 1 {
            starts[i] = i;
            ranks[i] = self.rank_of(piece, i, i + 2);
        }
        starts[n - 1] = n - 1;
        starts[n] = n;
        let mut len = n + 1;
        loop {
            let mut min = (Rank::MAX, 0);
            for (i, &rank) in ranks[..len - 1].iter().enumerate() {
                if rank < min.0 {
                    min = (rank, i);
                }
            }
            if min.0 == Rank::MAX {
                break;
            }
            let i = min.1;
            // The pair at boundary j once boundary i + 1 is gone.
            let pair = |starts: &[usize], j: usize| {
                if j + 3 < len {
                    self.rank_of(piece, starts[j], starts[j + 3])
                } else {
                    Rank::MAX
                }
            };
            if i > 0 {
                ranks[i - 1] = pair(&starts, i - 1);
            }
            ranks[i] = pair(&starts, i);
            starts.copy_within(i + 2..len, i + 1);
            ranks.copy_within(i + 2..len, i + 1);
            len -= 1;
        }
        len - 1
    }

    /// tiktoken's `_byte_pair_merge_large`, for pieces of 100 bytes or more:
    /// the same merges in O(m log n), with a heap of candidate merges and
    /// a linked list of parts. Returns the number of parts.
    fn merge_large(&self, piece: &[u8]) -> usize {
        use std::cmp::Reverse;
        use std::collections::BinaryHeap;

        struct Part {
            /// Start of the part before (`usize::MAX` for the first).
            prev: usize,
            /// End of this part (start of the next).
            end: usize,
            /// End of the next part.
            next_end: usize,
            /// Rank of this part merged with the next, `Rank::MAX` if none.
            next_rank: Rank,
        }

        let n = piece.len();
        if n < 2 {
            return n;
        }
        let mut parts: Vec<Part> = (0..n)
            .map(|i| Part {
                prev: i.wrapping_sub(1),
                end: i + 1,
                next_end: i + 2,
                next_rank: Rank::MAX,
            })
            .collect();
        // Lowest rank first, then leftmost.
        let mut heap = BinaryHeap::with_capacity(n);
        for (i, part) in parts.iter_mut().enumerate().take(n - 1) {
            let rank = self.rank_of(piece, i, i + 2);
            if rank != Rank::MAX {
                part.next_rank = rank;
                heap.push(Reverse((rank, i)));
            }
        }

        // Record the merge of the part at `start` with the one ending at
        // `next_end` as a candidate, replacing the one it had.
        let candidate = |parts: &mut [Part],
                         heap: &mut BinaryHeap<Reverse<(Rank, usize)>>,
                         start: usize,
                         next_end: usize| {
            let rank = if next_end <= n {
                self.rank_of(piece, start, next_end)
            } else {
                Rank::MAX
            };
            if let Some(part) = parts.get_mut(start) {
                part.next_end = next_end;
                part.next_rank = rank;
            }
            if rank != Rank::MAX {
                heap.push(Reverse((rank, start)));
            }
        };

        while let Some(Reverse((rank, left))) = heap.pop() {
            let Some(part) = parts.get(left) else { break };
            if rank != part.next_rank {
                continue; // superseded
            }
            let right = part.end;
            let right_end = part.next_end;
            let Some(right_next_end) = parts.get(right).map(|p| p.next_end) else {
                break;
            };
            // Merge left and right into one part.
            if let Some(part) = parts.get_mut(left) {
                part.end = right_end;
            }
            candidate(&mut parts, &mut heap, left, right_next_end);
            if let Some(after) = parts.get_mut(right_end) {
                after.prev = left;
            }
            if left > 0 {
                if let Some(prev) = parts.get(left).map(|p| p.prev) {
                    candidate(&mut parts, &mut heap, prev, right_end);
                }
            }
            if let Some(gone) = parts.get_mut(right) {
                gone.next_rank = Rank::MAX;
            }
        }

        let mut count = 0;
        let mut i = 0;
        while let Some(part) = parts.get(i) {
            count += 1;
            i = part.end;
        }
        count
    }
}

/// A fast multiplicative hash of a byte string (FxHash-like, eight bytes a
/// step, length mixed in); its top bits are the well-mixed ones.
#[inline]
fn hash(bytes: &[u8]) -> u64 {
    const K: u64 = 0xf135_7aea_2e62_a9c5;
    let mut h = (bytes.len() as u64).wrapping_mul(K);
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let mut buf = [0u8; 8];
        buf.copy_from_slice(word);
        h = (h ^ u64::from_le_bytes(buf)).wrapping_mul(K);
    }
    let rest = words.remainder();
    if !rest.is_empty() {
        let mut buf = [0u8; 8];
        buf[..rest.len()].copy_from_slice(rest);
        h = (h ^ u64::from_le_bytes(buf)).wrapping_mul(K);
    }
    h
}

#[cfg(test)]
mod tests;
