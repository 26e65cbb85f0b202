//! Head sampling: parent-based, falling back to a trace-id ratio.

use crate::context::{SpanId, TraceContext, TraceId};

/// Decides whether a new gateway request's trace is recorded.
///
/// Parent-based: when the request carries a valid `traceparent`, its
/// `sampled` flag is followed, so a trace is never half-recorded across
/// services. Without a remote parent the decision is the OpenTelemetry
/// `TraceIdRatioBased` one: the last 8 bytes of the trace id, read as a
/// big-endian `u64` and shifted right by one, are sampled when they are
/// below `ratio * 2^63`. The decision is a pure function of the trace id,
/// so every service using the same scheme and ratio agrees on it; ratio
/// `1.0` samples every trace and `0.0` none.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sampler {
    ratio: f64,
    /// `ratio * 2^63`, compared against the 63 random bits of a trace id.
    threshold: u64,
}

impl Sampler {
    /// A sampler recording about `ratio` of new traces. The ratio is
    /// clamped to `0.0..=1.0`; NaN counts as `0.0`.
    pub fn new(ratio: f64) -> Self {
        let ratio = if ratio.is_nan() {
            0.0
        } else {
            ratio.clamp(0.0, 1.0)
        };
        // 2^63 is exactly representable; `as` saturates, and 1.0 * 2^63 is
        // above every 63-bit value, so ratio 1.0 samples everything.
        let threshold = (ratio * (1u64 << 63) as f64) as u64;
        Sampler { ratio, threshold }
    }

    /// The effective (clamped) ratio.
    pub fn ratio(&self) -> f64 {
        self.ratio
    }

    /// The ratio-based decision for a trace with no remote parent.
    pub fn sample_trace_id(&self, trace_id: TraceId) -> bool {
        let [.., a, b, c, d, e, f, g, h] = trace_id.0;
        let low = u64::from_be_bytes([a, b, c, d, e, f, g, h]) >> 1;
        low < self.threshold
    }

    /// The decision for a span in trace `trace_id` whose remote parent (the
    /// incoming `traceparent`, if valid) is `remote_parent`.
    pub fn should_sample(&self, remote_parent: Option<&TraceContext>, trace_id: TraceId) -> bool {
        match remote_parent {
            Some(parent) => parent.sampled,
            None => self.sample_trace_id(trace_id),
        }
    }

    /// The context of a gateway request's SERVER span: a child of the
    /// remote parent (same trace id, new span id, its sampled flag), or a
    /// new trace sampled by ratio.
    pub fn server_context(&self, remote_parent: Option<&TraceContext>) -> TraceContext {
        match remote_parent {
            Some(parent) => parent.child(),
            None => {
                let trace_id = TraceId::random();
                TraceContext {
                    trace_id,
                    span_id: SpanId::random(),
                    sampled: self.sample_trace_id(trace_id),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count_sampled(sampler: &Sampler, n: usize) -> usize {
        (0..n)
            .filter(|_| sampler.sample_trace_id(TraceId::random()))
            .count()
    }

    #[test]
    fn ratio_one_samples_everything_and_zero_nothing() {
        let all = Sampler::new(1.0);
        let none = Sampler::new(0.0);
        assert_eq!(count_sampled(&all, 10_000), 10_000);
        assert_eq!(count_sampled(&none, 10_000), 0);
        let max = TraceId([0xff; 16]);
        let min = TraceId([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        assert!(all.sample_trace_id(max));
        assert!(all.sample_trace_id(min));
        assert!(!none.sample_trace_id(max));
        assert!(!none.sample_trace_id(min));
    }

    #[test]
    fn ratio_half_samples_about_half() {
        let n = count_sampled(&Sampler::new(0.5), 10_000);
        // Binomial(10000, 0.5) has sd 50; 4500..5500 is ten sd wide.
        assert!((4_500..=5_500).contains(&n), "sampled {n} of 10000");
    }

    #[test]
    fn decision_is_deterministic_on_the_trace_id() {
        let sampler = Sampler::new(0.5);
        for _ in 0..100 {
            let id = TraceId::random();
            let first = sampler.sample_trace_id(id);
            assert!((0..5).all(|_| sampler.sample_trace_id(id) == first));
        }
        // Only the low 8 bytes count: the boundary is at 2^62 of the 63 bits.
        let mut below = [0u8; 16];
        below[8..].copy_from_slice(&((1u64 << 63) - 2).to_be_bytes());
        let mut above = [0xff; 16];
        above[8..].copy_from_slice(&(1u64 << 63).to_be_bytes());
        assert!(sampler.sample_trace_id(TraceId(below)));
        assert!(!sampler.sample_trace_id(TraceId(above)));
    }

    #[test]
    fn ratio_is_clamped_and_nan_is_zero() {
        assert_eq!(Sampler::new(f64::NAN).ratio(), 0.0);
        assert_eq!(Sampler::new(-1.0).ratio(), 0.0);
        assert_eq!(Sampler::new(7.0).ratio(), 1.0);
        assert_eq!(Sampler::new(f64::INFINITY).ratio(), 1.0);
        assert_eq!(count_sampled(&Sampler::new(f64::NAN), 1_000), 0);
        assert_eq!(count_sampled(&Sampler::new(7.0), 1_000), 1_000);
    }

    #[test]
    fn remote_parent_flag_is_followed() {
        let sampled = TraceContext::new_root(true);
        let unsampled = TraceContext::new_root(false);
        let id = TraceId::random();
        assert!(Sampler::new(0.0).should_sample(Some(&sampled), id));
        assert!(!Sampler::new(1.0).should_sample(Some(&unsampled), id));
        assert!(Sampler::new(1.0).should_sample(None, id));
        assert!(!Sampler::new(0.0).should_sample(None, id));
    }

    #[test]
    fn server_context_continues_the_remote_trace() {
        let parent = TraceContext::new_root(true);
        let ctx = Sampler::new(0.0).server_context(Some(&parent));
        assert_eq!(ctx.trace_id, parent.trace_id);
        assert_ne!(ctx.span_id, parent.span_id);
        assert!(ctx.sampled);

        let root = Sampler::new(1.0).server_context(None);
        assert_ne!(root.trace_id, parent.trace_id);
        assert!(root.sampled);
        assert!(!Sampler::new(0.0).server_context(None).sampled);
    }
}
