//! Prometheus metrics (`GET /metrics` on the admin listener).
//!
//! Every family is named `switchyard_*` and documented in
//! `docs/observability.md`. Histograms have fixed buckets (never
//! summaries), so they aggregate across instances. Request metrics are
//! recorded by the telemetry worker from finished records; credential
//! metrics where the credential changes state.

use std::sync::Arc;

use metrics::{Key, Label, Level, Metadata, Recorder, SharedString, Unit};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

use super::account::Accounted;
use super::labels::{ModelLabels, NONE};
use super::record::{FailureKind, RequestRecord};

mod cost;
mod series;
pub use cost::{COST, UNPRICED};
use series::RequestSeries;
pub use series::SeriesCache;

pub const REQUESTS: &str = "switchyard_requests_total";
pub const REQUEST_DURATION: &str = "switchyard_request_duration_seconds";
pub const UPSTREAM_DURATION: &str = "switchyard_upstream_duration_seconds";
pub const OVERHEAD: &str = "switchyard_gateway_overhead_seconds";
pub const FIRST_TOKEN: &str = "switchyard_time_to_first_token_seconds";
pub const PER_OUTPUT_TOKEN: &str = "switchyard_time_per_output_token_seconds";
pub const TOKENS: &str = "switchyard_tokens_total";
pub const FAILURES: &str = "switchyard_upstream_failures_total";
pub const GATEWAY_ERRORS: &str = "switchyard_gateway_errors_total";
pub const RETRIES: &str = "switchyard_retries_total";
pub const FALLBACKS: &str = "switchyard_fallbacks_total";
pub const CREDENTIAL_HEALTHY: &str = "switchyard_credential_healthy";
pub const CREDENTIAL_TRANSITIONS: &str = "switchyard_credential_transitions_total";
pub const HEALTH_CHECKS: &str = "switchyard_health_checks_total";
pub const TELEMETRY_DROPPED: &str = "switchyard_telemetry_dropped_total";
pub const SPANS: &str = "switchyard_trace_spans_total";
pub const CONFIG_RELOADS: &str = "switchyard_config_reloads_total";
pub const CONFIG_INFO: &str = "switchyard_config_info";
pub const RATELIMIT_REJECTIONS: &str = "switchyard_ratelimit_rejections_total";
pub const STORE_ERRORS: &str = "switchyard_store_errors_total";

/// LLM calls take from milliseconds (embeddings, local models) to minutes
/// (long generations).
const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0,
];
const FIRST_TOKEN_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0, 60.0,
];
const PER_TOKEN_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0,
];
/// The gateway's own time: tens of microseconds when all is well.
const OVERHEAD_BUCKETS: &[f64] = &[
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];

/// `switchyard_tokens_total` series by slot: type x estimated.
const TOKEN_SLOTS: [(&str, &str); 8] = [
    ("input", "false"),
    ("input", "true"),
    ("output", "false"),
    ("output", "true"),
    ("cached", "false"),
    ("cached", "true"),
    ("reasoning", "false"),
    ("reasoning", "true"),
];

static META: Metadata<'static> = Metadata::new("switchyard", Level::INFO, Some("switchyard"));

pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

type Labels = Vec<Label>;

fn label(k: &'static str, v: impl Into<SharedString>) -> Label {
    Label::new(k, v)
}

fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        500..=599 => "5xx",
        _ => NONE,
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut b = PrometheusBuilder::new();
        for (name, buckets) in [
            (REQUEST_DURATION, LATENCY_BUCKETS),
            (UPSTREAM_DURATION, LATENCY_BUCKETS),
            (OVERHEAD, OVERHEAD_BUCKETS),
            (FIRST_TOKEN, FIRST_TOKEN_BUCKETS),
            (PER_OUTPUT_TOKEN, PER_TOKEN_BUCKETS),
        ] {
            // Only fails for an empty bucket list.
            b = match b.set_buckets_for_metric(Matcher::Full(name.to_string()), buckets) {
                Ok(b) => b,
                Err(_) => PrometheusBuilder::new(),
            };
        }
        let recorder = b.build_recorder();
        let handle = recorder.handle();
        let m = Metrics { recorder, handle };
        m.describe();
        m
    }

    fn describe(&self) {
        let r = &self.recorder;
        let c = |n: &'static str, u: Option<Unit>, d: &'static str| {
            r.describe_counter(n.into(), u, d.into())
        };
        let h = |n: &'static str, d: &'static str| {
            r.describe_histogram(n.into(), Some(Unit::Seconds), d.into())
        };
        c(
            REQUESTS,
            None,
            "Requests answered, by route, serving provider and model, consumer and status class.",
        );
        h(
            REQUEST_DURATION,
            "Whole request time as the client saw it, to the last byte of the answer.",
        );
        h(
            UPSTREAM_DURATION,
            "Time of each upstream attempt, from sending to the end of its answer.",
        );
        h(
            OVERHEAD,
            "Time spent in the gateway itself: request time minus every upstream wait.",
        );
        h(
            FIRST_TOKEN,
            "Streams: time from the request's arrival to the first generated token.",
        );
        h(
            PER_OUTPUT_TOKEN,
            "Streams: generation time per output token after the first.",
        );
        c(
            TOKENS,
            None,
            "Tokens by type (input, output, cached, reasoning); estimated=\"true\" when counted by the gateway's tokenizer because the provider reported none.",
        );
        c(
            FAILURES,
            None,
            "Failed upstream attempts by kind (upstream_status, connect, timeout, broken, translation, stream_interrupted).",
        );
        c(
            GATEWAY_ERRORS,
            None,
            "Errors the gateway answered itself, by error code.",
        );
        c(
            RATELIMIT_REJECTIONS,
            None,
            "Requests refused by a rate limit (429 rate_limit_exceeded), by rule (a rateLimits name, or consumer for a consumer's own limits).",
        );
        c(
            STORE_ERRORS,
            None,
            "Calls to the shared store (store=\"redis\") that failed or timed out, by operation (check, adjust, connect: limits and budgets, which then follow redis.onError; health: shared credential health, which goes on with local state).",
        );
        c(
            RETRIES,
            None,
            "Extra attempts on the same provider with another credential.",
        );
        c(
            FALLBACKS,
            None,
            "Requests that moved on to a fallback target, from provider to provider.",
        );
        r.describe_gauge(
            CREDENTIAL_HEALTHY.into(),
            None,
            "1 while a credential is in rotation, 0 while it is out.".into(),
        );
        c(
            CREDENTIAL_TRANSITIONS,
            None,
            "Credentials leaving (to=\"out\") and rejoining (to=\"in\", by health check or at the end of a cooldown) rotation.",
        );
        c(
            HEALTH_CHECKS,
            None,
            "Active health checks of credentials out of rotation, by result.",
        );
        c(
            TELEMETRY_DROPPED,
            None,
            "Request records not accounted because the telemetry workers were behind by more than the queue's byte budget.",
        );
        c(
            SPANS,
            None,
            "Spans accepted by the OTLP collector, and spans dropped (export queue full or collector failing).",
        );
        c(
            CONFIG_RELOADS,
            None,
            "Configuration reloads tried, by result (ok: in force; error: invalid, nothing changed).",
        );
        self.describe_cost();
        // Both results exist from the start, so rate() sees the first one.
        for result in ["ok", "error"] {
            self.counter(CONFIG_RELOADS, vec![label("result", result)])
                .increment(0);
        }
    }

    fn counter(&self, name: &'static str, labels: Labels) -> metrics::Counter {
        self.recorder
            .register_counter(&Key::from_parts(name, labels), &META)
    }

    fn histogram(&self, name: &'static str, labels: Labels) -> metrics::Histogram {
        self.recorder
            .register_histogram(&Key::from_parts(name, labels), &META)
    }

    /// One active health check.
    pub fn health_check(&self, provider: &str, credential: &str, passed: bool) {
        self.counter(
            HEALTH_CHECKS,
            vec![
                label("provider", provider.to_string()),
                label("credential", credential.to_string()),
                label("result", if passed { "success" } else { "failure" }),
            ],
        )
        .increment(1);
    }

    /// Everything one finished request contributes.
    pub fn request(
        &self,
        rec: &RequestRecord,
        acc: &Accounted,
        models: &ModelLabels,
        cache: &mut SeriesCache,
    ) {
        let none = cache.none();
        let route = rec.route.as_ref().unwrap_or(&none);
        let last = rec.attempts.last();
        let provider = last.map_or(&none, |a| &a.provider);
        let model = models.get(last.map(|a| &*a.model));
        let class = status_class(rec.status);
        let consumer = rec.consumer.as_ref().unwrap_or(&none);
        let series = cache.request([route, provider, &model, consumer], class, || {
            self.request_series(route, provider, &model, consumer, class)
        });
        series.requests.increment(1);
        series.duration.record(acc.total.as_secs_f64());
        series.overhead.record(acc.overhead.as_secs_f64());
        let stream_labels = || {
            vec![
                label("route", route.clone()),
                label("provider", provider.clone()),
                label("model", model.clone()),
                label("consumer", consumer.clone()),
            ]
        };
        if let Some(t) = acc.first_token {
            series
                .first_token
                .get_or_insert_with(|| self.histogram(FIRST_TOKEN, stream_labels()))
                .record(t.as_secs_f64());
        }
        if let Some(t) = acc.per_output_token {
            series
                .per_token
                .get_or_insert_with(|| self.histogram(PER_OUTPUT_TOKEN, stream_labels()))
                .record(t.as_secs_f64());
        }
        for (i, n) in [
            acc.usage.input_tokens,
            acc.usage.output_tokens,
            acc.usage.cached_tokens,
            acc.usage.reasoning_tokens,
        ]
        .into_iter()
        .enumerate()
        {
            if n > 0 {
                let slot = i * 2 + usize::from(acc.estimated);
                series.tokens[slot]
                    .get_or_insert_with(|| {
                        let (kind, est) = TOKEN_SLOTS[slot];
                        self.counter(
                            TOKENS,
                            vec![
                                label("route", route.clone()),
                                label("provider", provider.clone()),
                                label("model", model.clone()),
                                label("consumer", consumer.clone()),
                                label("type", kind),
                                label("estimated", est),
                            ],
                        )
                    })
                    .increment(n);
            }
        }
        self.cost(series, acc, rec.served().is_some(), stream_labels);
        let model: SharedString = model.into();
        if let Some((code, _)) = &rec.error {
            self.counter(
                GATEWAY_ERRORS,
                vec![label("route", route.clone()), label("code", *code)],
            )
            .increment(1);
        }
        if let Some(rule) = &rec.rate_limited_by {
            self.counter(RATELIMIT_REJECTIONS, vec![label("rule", Arc::clone(rule))])
                .increment(1);
        }
        if acc.interrupted.is_some() {
            let kind = if rec.stream {
                "stream_interrupted"
            } else {
                "body_interrupted"
            };
            self.counter(
                FAILURES,
                vec![
                    label("route", route.clone()),
                    label("provider", provider.clone()),
                    label("model", model.clone()),
                    label("kind", kind),
                    label("status", NONE),
                ],
            )
            .increment(1);
        }

        // Per attempt: upstream time, failures, retries and fallbacks.
        let ended = rec.ended.unwrap_or(rec.started);
        let n = rec.attempts.len();
        let mut prev: Option<&super::record::AttemptRecord> = None;
        for (i, a) in rec.attempts.iter().enumerate() {
            let a_model = models.get(Some(&a.model));
            let a_labels = |extra: Vec<Label>| {
                let mut l = vec![
                    label("route", route.clone()),
                    label("provider", a.provider.clone()),
                    label("model", a_model.clone()),
                ];
                l.extend(extra);
                l
            };
            let end = match (i + 1 == n, rec.upstream_end) {
                (true, Some(e)) if a.failure.is_none() => e,
                _ => a.ended.unwrap_or(ended),
            };
            let a_class = a.status.map_or(NONE, status_class);
            let a_route = rec.route.as_ref().unwrap_or(&none);
            let h = cache.attempt([a_route, &a.provider, &a_model, &none], a_class, || {
                self.histogram(
                    UPSTREAM_DURATION,
                    a_labels(vec![label("status_class", a_class)]),
                )
            });
            h.record(end.saturating_duration_since(a.started).as_secs_f64());
            if let Some((kind, _)) = &a.failure {
                let status: SharedString = match (kind, a.status) {
                    (FailureKind::Status, Some(s)) => s.to_string().into(),
                    _ => NONE.into(),
                };
                self.counter(
                    FAILURES,
                    a_labels(vec![label("kind", kind.as_str()), label("status", status)]),
                )
                .increment(1);
            }
            match prev {
                Some(p) if p.hop == a.hop => {
                    self.counter(
                        RETRIES,
                        vec![
                            label("route", route.clone()),
                            label("provider", a.provider.clone()),
                        ],
                    )
                    .increment(1);
                }
                _ if a.hop > 0 => {
                    let from: SharedString = match (prev, &rec.primary_provider) {
                        (Some(p), _) => p.provider.clone().into(),
                        (None, Some(p)) => p.clone().into(),
                        (None, None) => NONE.into(),
                    };
                    self.counter(
                        FALLBACKS,
                        vec![
                            label("route", route.clone()),
                            label("from", from),
                            label("to", a.provider.clone()),
                        ],
                    )
                    .increment(1);
                }
                _ => {}
            }
            prev = Some(a);
        }
    }

    fn request_series(
        &self,
        route: &Arc<str>,
        provider: &Arc<str>,
        model: &Arc<str>,
        consumer: &Arc<str>,
        class: &'static str,
    ) -> RequestSeries {
        let base = || {
            vec![
                label("route", route.clone()),
                label("provider", provider.clone()),
                label("model", model.clone()),
                label("consumer", consumer.clone()),
            ]
        };
        let with_class = || {
            let mut l = base();
            l.push(label("status_class", class));
            l
        };
        RequestSeries {
            requests: self.counter(REQUESTS, with_class()),
            duration: self.histogram(REQUEST_DURATION, with_class()),
            overhead: self.histogram(OVERHEAD, base()),
            first_token: None,
            per_token: None,
            tokens: Default::default(),
            cost: Default::default(),
        }
    }

    /// The exposition text, with credential gauges as of now.
    pub fn render(&self, rt: &crate::runtime::Runtime) -> String {
        let now = tokio::time::Instant::now();
        let snap = rt.snapshot();
        for up in &snap.upstreams {
            for i in 0..up.pool.len() {
                if let Some(h) = up.pool.health(i) {
                    let snap = h.snapshot(now);
                    let who = || {
                        vec![
                            label("provider", Arc::<str>::clone(&up.id)),
                            label("credential", up.masked_shared(i)),
                        ]
                    };
                    self.recorder
                        .register_gauge(&Key::from_parts(CREDENTIAL_HEALTHY, who()), &META)
                        .set(if snap.healthy { 1.0 } else { 0.0 });
                    // Counted by the health record itself, so every way
                    // back (health check, end of cooldown) is included.
                    for (to, n) in [("out", snap.went_out), ("in", snap.came_back)] {
                        let mut l = who();
                        l.push(label("to", to));
                        self.counter(CREDENTIAL_TRANSITIONS, l).absolute(n);
                    }
                }
            }
        }
        self.counter(TELEMETRY_DROPPED, Vec::new())
            .absolute(rt.shared.telemetry.dropped());
        // The process's one Redis connection, shared by limits and
        // credential health: every operation's failures (op="health"
        // included) are counted there.
        if let Some(conn) = rt.shared.limiter.store().redis_conn() {
            for (op, n) in conn.errors() {
                self.counter(STORE_ERRORS, vec![label("store", "redis"), label("op", op)])
                    .absolute(n);
            }
        }
        if let Some(t) = &rt.shared.telemetry.tracer {
            let e = t.exporter();
            for (result, n) in [
                ("exported", e.exported_spans()),
                ("dropped", e.dropped_spans()),
            ] {
                self.counter(SPANS, vec![label("result", result)])
                    .absolute(n);
            }
        }
        let mut out = self.handle.render();
        cost::as_counter(&mut out);
        // The config in force, as an info metric: only its version's series.
        out.push_str(&format!(
            "# HELP {CONFIG_INFO} The configuration in force: its version (a digest of the file).\n# TYPE {CONFIG_INFO} gauge\n{CONFIG_INFO}{{version=\"{}\"}} 1\n",
            snap.version
        ));
        out
    }

    /// A reload was tried (`ok`: it took effect).
    pub fn config_reload(&self, ok: bool) {
        self.counter(
            CONFIG_RELOADS,
            vec![label("result", if ok { "ok" } else { "error" })],
        )
        .increment(1);
    }

    /// The exposition of what was recorded (no credential gauges).
    #[cfg(test)]
    pub(crate) fn exposition(&self) -> String {
        let mut out = self.handle.render();
        cost::as_counter(&mut out);
        out
    }

    /// Fold recorded samples into the histograms (bounded memory).
    pub fn upkeep(&self) {
        self.handle.run_upkeep();
    }
}
