//! Process-unique ids and the Unix time for response bodies.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

pub(super) fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A process-unique id as 16 lowercase hex digits.
pub(crate) fn next_id() -> [u8; 16] {
    static SEED: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let seed = *SEED.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        splitmix(nanos ^ u64::from(std::process::id()))
    });
    // splitmix is a bijection, so distinct counters give distinct ids.
    let v = splitmix(seed.wrapping_add(COUNTER.fetch_add(1, Ordering::Relaxed)));
    let mut out = [0u8; 16];
    for (i, o) in out.iter_mut().enumerate() {
        let nib = ((v >> (60 - 4 * i)) & 0xf) as u8;
        *o = if nib < 10 {
            b'0' + nib
        } else {
            b'a' + nib - 10
        };
    }
    out
}

pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
