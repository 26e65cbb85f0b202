//! What requests cost: `switchyard_cost_usd_total` and
//! `switchyard_unpriced_requests_total`.
//!
//! `metrics` counters are whole numbers (`u64`), and dollars are not: a
//! request costs fractions of a cent. So the cost is a `metrics` gauge,
//! raised by each request's cost (`Gauge::increment(f64)`, an atomic
//! add on the value's bits), which only ever grows like a counter; the
//! exposition's `# TYPE` line for it is rewritten from `gauge` to
//! `counter` ([`as_counter`]), so Prometheus sees a counter with a
//! float value (the text format allows any float for a counter), named
//! `…_total`, on which `rate()` and `increase()` work. Micro-dollars in
//! an integer counter would have lost the cost of cheap requests (a
//! thousand `gpt-4o-mini` tokens cost 150 micro-dollars, one token 0.15).

use metrics::Label;

use super::{Metrics, RequestSeries};
use crate::telemetry::account::Accounted;

pub const COST: &str = "switchyard_cost_usd_total";
pub const UNPRICED: &str = "switchyard_unpriced_requests_total";

/// The cost series of one (route, provider, model, consumer), registered
/// on first use.
#[derive(Default)]
pub(super) struct CostSeries {
    cost: Option<metrics::Gauge>,
    unpriced: Option<metrics::Counter>,
}

impl Metrics {
    pub(super) fn describe_cost(&self) {
        use metrics::Recorder;
        self.recorder.describe_gauge(
            COST.into(),
            None,
            "Cost of the requests served, in USD, at the served model's price (list prices, or the config's prices:); requests whose model has no price are not in it (see switchyard_unpriced_requests_total).".into(),
        );
        self.recorder.describe_counter(
            UNPRICED.into(),
            None,
            "Requests served by a model with no price (neither the model sent upstream nor the one asked for): their cost is unknown, not zero.".into(),
        );
    }

    /// Add one served request's cost, or count it unpriced. `labels`:
    /// route, provider, model, consumer (the unpriced counter drops the
    /// consumer).
    pub(super) fn cost(
        &self,
        series: &mut RequestSeries,
        acc: &Accounted,
        served: bool,
        labels: impl Fn() -> Vec<Label>,
    ) {
        let s = &mut series.cost;
        match acc.cost_usd {
            Some(usd) => {
                s.cost
                    .get_or_insert_with(|| {
                        use metrics::Recorder;
                        self.recorder
                            .register_gauge(&metrics::Key::from_parts(COST, labels()), &super::META)
                    })
                    .increment(usd);
            }
            None if served => {
                s.unpriced
                    .get_or_insert_with(|| {
                        let mut l = labels();
                        l.retain(|l| l.key() != "consumer");
                        self.counter(UNPRICED, l)
                    })
                    .increment(1);
            }
            None => {}
        }
    }
}

/// The exposition with [`COST`] typed as the counter it is (see the
/// module documentation).
pub(super) fn as_counter(text: &mut String) {
    let gauge = format!("# TYPE {COST} gauge\n");
    if let Some(at) = text.find(&gauge) {
        text.replace_range(at..at + gauge.len(), &format!("# TYPE {COST} counter\n"));
    }
}
