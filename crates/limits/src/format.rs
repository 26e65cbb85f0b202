//! Durations written as OpenAI writes `x-ratelimit-reset-*` (Go's
//! `time.Duration` format, to the millisecond).

use std::fmt::Write;
use std::time::Duration;

/// `250ms`, `1s`, `1.5s`, `6m0s`, `1h2m3s`, `0s`. Sub-millisecond parts are
/// rounded up, so a reset is never announced earlier than it happens.
pub fn format_reset(d: Duration) -> String {
    let mut ms = d.as_millis();
    if d.subsec_nanos() % 1_000_000 != 0 {
        ms += 1;
    }
    let mut out = String::new();
    if ms == 0 {
        out.push_str("0s");
    } else if ms < 1_000 {
        let _ = write!(out, "{ms}ms");
    } else {
        let (h, rest) = (ms / 3_600_000, ms % 3_600_000);
        let (m, rest) = (rest / 60_000, rest % 60_000);
        let (s, frac) = (rest / 1_000, rest % 1_000);
        if h > 0 {
            let _ = write!(out, "{h}h");
        }
        if h > 0 || m > 0 {
            let _ = write!(out, "{m}m");
        }
        let _ = write!(out, "{s}");
        if frac > 0 {
            let digits = format!("{frac:03}");
            let _ = write!(out, ".{}", digits.trim_end_matches('0'));
        }
        out.push('s');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn as_openai_writes_them() {
        assert_eq!(format_reset(Duration::ZERO), "0s");
        assert_eq!(format_reset(ms(250)), "250ms");
        assert_eq!(format_reset(ms(1)), "1ms");
        assert_eq!(format_reset(Duration::from_micros(1)), "1ms");
        assert_eq!(format_reset(Duration::from_micros(1_500)), "2ms");
        assert_eq!(format_reset(ms(999)), "999ms");
        assert_eq!(format_reset(ms(1_000)), "1s");
        assert_eq!(format_reset(ms(1_500)), "1.5s");
        assert_eq!(format_reset(ms(7_660)), "7.66s");
        assert_eq!(format_reset(ms(59_001)), "59.001s");
        assert_eq!(format_reset(ms(60_000)), "1m0s");
        assert_eq!(format_reset(ms(360_000)), "6m0s");
        assert_eq!(format_reset(ms(3_600_000)), "1h0m0s");
        assert_eq!(format_reset(ms(3_723_000)), "1h2m3s");
        assert_eq!(format_reset(ms(86_400_000)), "24h0m0s");
    }
}
