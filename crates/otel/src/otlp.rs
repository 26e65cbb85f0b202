//! OTLP/HTTP JSON encoding of spans (an `ExportTraceServiceRequest`).
//!
//! The OTLP "JSON Protobuf Encoding" is the proto3 JSON mapping with
//! deviations, all of which this module follows:
//!
//! - keys are the lowerCamelCase field names (`startTimeUnixNano`);
//! - `traceId`, `spanId` and `parentSpanId` are hex strings, not base64;
//! - enums (`kind`, `status.code`) are integers, never their names;
//! - 64-bit integers (`intValue`, the `fixed64` timestamps) are decimal
//!   strings;
//! - a double that is not finite is the string `"NaN"`, `"Infinity"` or
//!   `"-Infinity"` (plain JSON has no such numbers).
//!
//! Fields holding the proto3 default (empty lists, no parent, empty status
//! message) are omitted, as the proto3 mapping allows.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::ser::{Serialize, Serializer};

use crate::span::{KeyValue, Span, SpanEvent, SpanKind, SpanStatus, Value};

/// Instrumentation scope and `telemetry.sdk.name` of every exported span.
pub const SCOPE_NAME: &str = "switchyard";
/// Instrumentation scope version and `telemetry.sdk.version`.
pub const SCOPE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Encodes `spans` as one OTLP/HTTP JSON `ExportTraceServiceRequest`: one
/// resource (`service.name` = `service_name`, `telemetry.sdk.*`) with one
/// scope (`switchyard`) holding all the spans. POST it to `/v1/traces` with
/// `Content-Type: application/json`.
pub fn encode_traces(service_name: &str, spans: &[Span]) -> Vec<u8> {
    let request = ExportTraceServiceRequest {
        resource_spans: [ResourceSpans {
            resource: Resource {
                attributes: [
                    Attr::static_str("service.name", service_name),
                    Attr::static_str("telemetry.sdk.name", SCOPE_NAME),
                    Attr::static_str("telemetry.sdk.language", "rust"),
                    Attr::static_str("telemetry.sdk.version", SCOPE_VERSION),
                ],
            },
            scope_spans: [ScopeSpans {
                scope: Scope {
                    name: SCOPE_NAME,
                    version: SCOPE_VERSION,
                },
                spans: SpanList(spans),
            }],
        }],
    };
    let mut out = Vec::with_capacity(256 + spans.len() * 768);
    // Serialising these types into a Vec cannot fail (no maps with non-string
    // keys, no fallible `Serialize` impls, no I/O); should it ever, an empty
    // request is still a valid body.
    if serde_json::to_writer(&mut out, &request).is_err() {
        out.clear();
        out.extend_from_slice(b"{}");
    }
    out
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ExportTraceServiceRequest<'a> {
    resource_spans: [ResourceSpans<'a>; 1],
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ResourceSpans<'a> {
    resource: Resource<'a>,
    scope_spans: [ScopeSpans<'a>; 1],
}

#[derive(serde::Serialize)]
struct Resource<'a> {
    attributes: [Attr<'a>; 4],
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ScopeSpans<'a> {
    scope: Scope,
    spans: SpanList<'a>,
}

#[derive(serde::Serialize)]
struct Scope {
    name: &'static str,
    version: &'static str,
}

/// Serialises each span through [`JsonSpan`] without collecting them.
struct SpanList<'a>(&'a [Span]);

impl Serialize for SpanList<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(JsonSpan))
    }
}

struct JsonSpan<'a>(&'a Span);

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonSpanFields<'a> {
    trace_id: Hex<'a, crate::context::TraceId>,
    span_id: Hex<'a, crate::context::SpanId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_span_id: Option<Hex<'a, crate::context::SpanId>>,
    name: &'a str,
    kind: u8,
    start_time_unix_nano: UnixNano,
    end_time_unix_nano: UnixNano,
    #[serde(skip_serializing_if = "Attrs::is_empty")]
    attributes: Attrs<'a>,
    #[serde(skip_serializing_if = "Events::is_empty")]
    events: Events<'a>,
    status: Status<'a>,
}

impl Serialize for JsonSpan<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let span = self.0;
        JsonSpanFields {
            trace_id: Hex(&span.trace_id),
            span_id: Hex(&span.span_id),
            parent_span_id: span.parent_span_id.as_ref().map(Hex),
            name: &span.name,
            kind: kind_code(span.kind),
            start_time_unix_nano: UnixNano(span.start),
            end_time_unix_nano: UnixNano(span.end),
            attributes: Attrs(&span.attributes),
            events: Events(&span.events),
            status: Status(&span.status),
        }
        .serialize(s)
    }
}

/// OTLP `Span.SpanKind`.
fn kind_code(kind: SpanKind) -> u8 {
    match kind {
        SpanKind::Internal => 1,
        SpanKind::Server => 2,
        SpanKind::Client => 3,
    }
}

/// An id written through its lowercase-hex `Display`, without allocating.
struct Hex<'a, T>(&'a T);

impl<T: std::fmt::Display> Serialize for Hex<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self.0)
    }
}

/// A `fixed64` timestamp: nanoseconds since the Unix epoch as a decimal
/// string (0 for times before the epoch, saturating in the year 2554).
struct UnixNano(SystemTime);

impl Serialize for UnixNano {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let nanos = self
            .0
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        s.collect_str(&nanos)
    }
}

/// OTLP `Status`: `code` 0 unset, 1 ok, 2 error; `message` only for errors.
struct Status<'a>(&'a SpanStatus);

impl Serialize for Status<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let (code, message) = match self.0 {
            SpanStatus::Unset => (0u8, None),
            SpanStatus::Ok => (1, None),
            SpanStatus::Error(m) => (2, Some(m.as_str()).filter(|m| !m.is_empty())),
        };
        let mut st = s.serialize_struct("Status", 1 + usize::from(message.is_some()))?;
        st.serialize_field("code", &code)?;
        if let Some(message) = message {
            st.serialize_field("message", message)?;
        }
        st.end()
    }
}

/// `Span.events`: `[{"timeUnixNano", "name", "attributes"}]`.
struct Events<'a>(&'a [SpanEvent]);

impl Events<'_> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for Events<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(Event))
    }
}

struct Event<'a>(&'a SpanEvent);

impl Serialize for Event<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let event = self.0;
        let has_attrs = !event.attributes.is_empty();
        let mut st = s.serialize_struct("Event", 2 + usize::from(has_attrs))?;
        st.serialize_field("timeUnixNano", &UnixNano(event.time))?;
        st.serialize_field("name", &event.name)?;
        if has_attrs {
            st.serialize_field("attributes", &Attrs(&event.attributes))?;
        }
        st.end()
    }
}

/// A list of OTLP `KeyValue`s: `[{"key": ..., "value": AnyValue}]`.
struct Attrs<'a>(&'a [KeyValue]);

impl Attrs<'_> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for Attrs<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|kv| Attr {
            key: &kv.key,
            value: AnyValue::Ref(&kv.value),
        }))
    }
}

#[derive(serde::Serialize)]
struct Attr<'a> {
    key: &'a str,
    value: AnyValue<'a>,
}

impl<'a> Attr<'a> {
    fn static_str(key: &'static str, value: &'a str) -> Self {
        Attr {
            key,
            value: AnyValue::Str(value),
        }
    }
}

/// OTLP `AnyValue`: an object with exactly one of `stringValue`,
/// `intValue`, `doubleValue`, `boolValue`, `arrayValue`.
enum AnyValue<'a> {
    Ref(&'a Value),
    Str(&'a str),
}

impl Serialize for AnyValue<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(1))?;
        match self {
            AnyValue::Str(v) => map.serialize_entry("stringValue", v)?,
            AnyValue::Ref(Value::Str(v)) => map.serialize_entry("stringValue", v)?,
            AnyValue::Ref(Value::Int(v)) => map.serialize_entry("intValue", &Decimal(*v))?,
            AnyValue::Ref(Value::Float(v)) => map.serialize_entry("doubleValue", &Double(*v))?,
            AnyValue::Ref(Value::Bool(v)) => map.serialize_entry("boolValue", v)?,
            AnyValue::Ref(Value::StrArray(vs)) => {
                map.serialize_entry("arrayValue", &StrArray(vs))?;
            }
        }
        map.end()
    }
}

/// `ArrayValue`: `{"values": [{"stringValue": ...}, ...]}`.
struct StrArray<'a>(&'a [String]);

impl Serialize for StrArray<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        struct Values<'a>(&'a [String]);
        impl Serialize for Values<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_seq(self.0.iter().map(|v| AnyValue::Str(v)))
            }
        }
        let mut st = s.serialize_struct("ArrayValue", 1)?;
        st.serialize_field("values", &Values(self.0))?;
        st.end()
    }
}

/// An `int64` as a decimal string.
struct Decimal(i64);

impl Serialize for Decimal {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// A `double`: a JSON number, or the proto3 JSON strings for non-finite
/// values (serde_json would otherwise write `null`).
struct Double(f64);

impl Serialize for Double {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v = self.0;
        if v.is_nan() {
            s.serialize_str("NaN")
        } else if v == f64::INFINITY {
            s.serialize_str("Infinity")
        } else if v == f64::NEG_INFINITY {
            s.serialize_str("-Infinity")
        } else {
            s.serialize_f64(v)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::{Value as Json, json};

    use super::*;
    use crate::context::{SpanId, TraceId};

    fn at(nanos: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(nanos)
    }

    fn server_span() -> Span {
        Span {
            trace_id: TraceId([
                0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e,
                0x47, 0x36,
            ]),
            span_id: SpanId([0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7]),
            parent_span_id: None,
            name: "chat gpt-4o".into(),
            kind: SpanKind::Server,
            start: at(1_700_000_000_123_456_789),
            end: at(1_700_000_001_000_000_001),
            attributes: vec![
                KeyValue::str("gen_ai.operation.name", "chat"),
                KeyValue::int("gen_ai.usage.input_tokens", 9_007_199_254_740_993),
                KeyValue::float("temperature", 0.25),
                KeyValue::bool("stream", true),
                KeyValue::str_array("gen_ai.response.finish_reasons", ["stop", "length"]),
            ],
            status: SpanStatus::Ok,
            events: vec![],
        }
    }

    fn client_span() -> Span {
        Span {
            trace_id: server_span().trace_id,
            span_id: SpanId([0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 1]),
            parent_span_id: Some(server_span().span_id),
            name: "chat gpt-4o".into(),
            kind: SpanKind::Client,
            start: at(1_700_000_000_200_000_000),
            end: at(1_700_000_000_900_000_000),
            attributes: vec![],
            status: SpanStatus::Error("upstream returned 503".into()),
            events: vec![SpanEvent {
                name: "exception".into(),
                time: at(1_700_000_000_900_000_000),
                attributes: vec![KeyValue::str("exception.type", "timeout")],
            }],
        }
    }

    fn encode(spans: &[Span]) -> Json {
        serde_json::from_slice(&encode_traces("gateway-eu", spans)).unwrap()
    }

    #[test]
    fn envelope_resource_and_scope() {
        let doc = encode(&[server_span()]);
        let resource_spans = doc["resourceSpans"].as_array().unwrap();
        assert_eq!(resource_spans.len(), 1);
        assert_eq!(
            resource_spans[0]["resource"]["attributes"],
            json!([
                {"key": "service.name", "value": {"stringValue": "gateway-eu"}},
                {"key": "telemetry.sdk.name", "value": {"stringValue": "switchyard"}},
                {"key": "telemetry.sdk.language", "value": {"stringValue": "rust"}},
                {"key": "telemetry.sdk.version", "value": {"stringValue": SCOPE_VERSION}},
            ])
        );
        let scope_spans = resource_spans[0]["scopeSpans"].as_array().unwrap();
        assert_eq!(scope_spans.len(), 1);
        assert_eq!(
            scope_spans[0]["scope"],
            json!({"name": "switchyard", "version": SCOPE_VERSION})
        );
        assert_eq!(scope_spans[0]["spans"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn server_span_fields_and_encodings() {
        let doc = encode(&[server_span()]);
        let span = &doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
        assert_eq!(
            *span,
            json!({
                "traceId": "4bf92f3577b34da6a3ce929d0e0e4736",
                "spanId": "00f067aa0ba902b7",
                "name": "chat gpt-4o",
                "kind": 2,
                "startTimeUnixNano": "1700000000123456789",
                "endTimeUnixNano": "1700000001000000001",
                "attributes": [
                    {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                    {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "9007199254740993"}},
                    {"key": "temperature", "value": {"doubleValue": 0.25}},
                    {"key": "stream", "value": {"boolValue": true}},
                    {"key": "gen_ai.response.finish_reasons", "value": {"arrayValue": {"values": [
                        {"stringValue": "stop"}, {"stringValue": "length"}
                    ]}}},
                ],
                "status": {"code": 1},
            })
        );
        assert!(span.get("parentSpanId").is_none());
    }

    #[test]
    fn client_span_parent_status_and_events() {
        let doc = encode(&[server_span(), client_span()]);
        let spans = doc["resourceSpans"][0]["scopeSpans"][0]["spans"]
            .as_array()
            .unwrap();
        assert_eq!(spans.len(), 2);
        let client = &spans[1];
        assert_eq!(client["kind"], 3);
        assert_eq!(client["spanId"], "deadbeef00000001");
        assert_eq!(client["parentSpanId"], "00f067aa0ba902b7");
        assert_eq!(client["traceId"], spans[0]["traceId"]);
        assert_eq!(
            client["status"],
            json!({"code": 2, "message": "upstream returned 503"})
        );
        assert_eq!(
            client["events"],
            json!([{
                "timeUnixNano": "1700000000900000000",
                "name": "exception",
                "attributes": [{"key": "exception.type", "value": {"stringValue": "timeout"}}],
            }])
        );
        assert!(client.get("attributes").is_none());
    }

    #[test]
    fn internal_kind_unset_status_and_odd_values() {
        let mut span = server_span();
        span.kind = SpanKind::Internal;
        span.status = SpanStatus::Unset;
        span.start = UNIX_EPOCH - Duration::from_secs(1);
        span.attributes = vec![
            KeyValue::float("nan", f64::NAN),
            KeyValue::float("inf", f64::INFINITY),
            KeyValue::float("-inf", f64::NEG_INFINITY),
            KeyValue::int("neg", i64::MIN),
            KeyValue::str("quote", "a\"b\n"),
            KeyValue::str_array("empty", Vec::<String>::new()),
        ];
        let doc = encode(&[span]);
        let span = &doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
        assert_eq!(span["kind"], 1);
        assert_eq!(span["status"], json!({"code": 0}));
        assert_eq!(span["startTimeUnixNano"], "0");
        let values: Vec<&Json> = span["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| &a["value"])
            .collect();
        assert_eq!(*values[0], json!({"doubleValue": "NaN"}));
        assert_eq!(*values[1], json!({"doubleValue": "Infinity"}));
        assert_eq!(*values[2], json!({"doubleValue": "-Infinity"}));
        assert_eq!(*values[3], json!({"intValue": "-9223372036854775808"}));
        assert_eq!(*values[4], json!({"stringValue": "a\"b\n"}));
        assert_eq!(*values[5], json!({"arrayValue": {"values": []}}));
    }

    #[test]
    fn no_spans_is_still_a_well_formed_request() {
        let doc = encode(&[]);
        assert_eq!(doc["resourceSpans"][0]["scopeSpans"][0]["spans"], json!([]));
    }
}
