//! Finished spans, as handed to the exporter.

use std::borrow::Cow;
use std::time::SystemTime;

use crate::context::{SpanId, TraceContext, TraceId};

/// The role of a span (OTLP `Span.SpanKind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SpanKind {
    /// An operation inside the gateway.
    Internal,
    /// The gateway serving a client request.
    Server,
    /// The gateway calling an upstream provider.
    Client,
}

/// The outcome of a span (OTLP `Status`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum SpanStatus {
    /// Not set: the default, meaning no error was recorded.
    #[default]
    Unset,
    /// Explicitly successful.
    Ok,
    /// Failed; the message is exported as `status.message`.
    Error(String),
}

/// An attribute value (OTLP `AnyValue`, restricted to what the gateway
/// records).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    StrArray(Vec<String>),
}

/// An attribute: a key (usually a [`crate::semconv`] constant) and a value.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyValue {
    pub key: Cow<'static, str>,
    pub value: Value,
}

impl KeyValue {
    pub fn new(key: impl Into<Cow<'static, str>>, value: impl Into<Value>) -> Self {
        KeyValue {
            key: key.into(),
            value: value.into(),
        }
    }

    /// `KeyValue::str("gen_ai.system", "openai")`.
    pub fn str(key: impl Into<Cow<'static, str>>, value: impl Into<String>) -> Self {
        Self::new(key, Value::Str(value.into()))
    }

    pub fn int(key: impl Into<Cow<'static, str>>, value: i64) -> Self {
        Self::new(key, Value::Int(value))
    }

    pub fn float(key: impl Into<Cow<'static, str>>, value: f64) -> Self {
        Self::new(key, Value::Float(value))
    }

    pub fn bool(key: impl Into<Cow<'static, str>>, value: bool) -> Self {
        Self::new(key, Value::Bool(value))
    }

    pub fn str_array<S: Into<String>>(
        key: impl Into<Cow<'static, str>>,
        values: impl IntoIterator<Item = S>,
    ) -> Self {
        Self::new(
            key,
            Value::StrArray(values.into_iter().map(Into::into).collect()),
        )
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Str(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Str(v.to_owned())
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::Int(i64::from(v))
    }
}

impl From<u16> for Value {
    fn from(v: u16) -> Self {
        Value::Int(i64::from(v))
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

impl From<Vec<String>> for Value {
    fn from(v: Vec<String>) -> Self {
        Value::StrArray(v)
    }
}

/// A timestamped annotation on a span (OTLP `Span.Event`).
#[derive(Clone, Debug, PartialEq)]
pub struct SpanEvent {
    pub name: Cow<'static, str>,
    pub time: SystemTime,
    pub attributes: Vec<KeyValue>,
}

/// A span: built while a request runs, exported once it has ended.
#[derive(Clone, Debug, PartialEq)]
pub struct Span {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    /// `None` for a root span.
    pub parent_span_id: Option<SpanId>,
    pub name: String,
    pub kind: SpanKind,
    pub start: SystemTime,
    pub end: SystemTime,
    pub attributes: Vec<KeyValue>,
    pub status: SpanStatus,
    pub events: Vec<SpanEvent>,
}

impl Span {
    /// A span for `ctx` (its trace and span ids), started now; `end` is set
    /// to the start until [`Span::end`] is called.
    pub fn start(
        ctx: &TraceContext,
        parent_span_id: Option<SpanId>,
        name: impl Into<String>,
        kind: SpanKind,
    ) -> Self {
        let now = SystemTime::now();
        Span {
            trace_id: ctx.trace_id,
            span_id: ctx.span_id,
            parent_span_id,
            name: name.into(),
            kind,
            start: now,
            end: now,
            attributes: Vec::new(),
            status: SpanStatus::Unset,
            events: Vec::new(),
        }
    }

    /// The context to propagate for this span (`traceparent` of calls made
    /// on its behalf). Spans are only built for sampled traces, so the
    /// context is sampled.
    pub fn context(&self) -> TraceContext {
        TraceContext {
            trace_id: self.trace_id,
            span_id: self.span_id,
            sampled: true,
        }
    }

    pub fn set_attribute(&mut self, kv: KeyValue) {
        self.attributes.push(kv);
    }

    pub fn add_event(&mut self, name: impl Into<Cow<'static, str>>, attributes: Vec<KeyValue>) {
        self.events.push(SpanEvent {
            name: name.into(),
            time: SystemTime::now(),
            attributes,
        });
    }

    pub fn set_status(&mut self, status: SpanStatus) {
        self.status = status;
    }

    /// Sets the end time to now.
    pub fn end(&mut self) {
        self.end = SystemTime::now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_build_the_matching_values() {
        assert_eq!(
            KeyValue::str("gen_ai.system", "openai"),
            KeyValue {
                key: Cow::Borrowed("gen_ai.system"),
                value: Value::Str("openai".into())
            }
        );
        assert_eq!(KeyValue::int("k", -3).value, Value::Int(-3));
        assert_eq!(KeyValue::float("k", 0.5).value, Value::Float(0.5));
        assert_eq!(KeyValue::bool("k", true).value, Value::Bool(true));
        assert_eq!(
            KeyValue::str_array("k", ["stop", "length"]).value,
            Value::StrArray(vec!["stop".into(), "length".into()])
        );
        assert_eq!(KeyValue::new(String::from("dyn"), 443u16).key, "dyn");
        assert_eq!(KeyValue::new("k", 443u16).value, Value::Int(443));
    }

    #[test]
    fn span_lifecycle() {
        let ctx = TraceContext::new_root(true);
        let mut span = Span::start(&ctx, None, "chat gpt-4o", SpanKind::Server);
        assert_eq!(span.start, span.end);
        span.set_attribute(KeyValue::str("gen_ai.request.model", "gpt-4o"));
        span.add_event("retry", vec![KeyValue::int("attempt", 2)]);
        span.set_status(SpanStatus::Error("upstream timeout".into()));
        span.end();
        assert!(span.end >= span.start);
        assert_eq!(span.context().span_id, ctx.span_id);
        assert_eq!(span.attributes.len(), 1);
        assert_eq!(span.events[0].name, "retry");
    }
}
