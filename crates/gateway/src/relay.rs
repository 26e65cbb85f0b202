//! Relaying an upstream SSE stream to the client, event by event.
//!
//! Each upstream read is fed to an [`SseParser`]; every complete event is
//! forwarded as soon as it is complete, an incomplete tail waits for the
//! next read. Nothing is buffered beyond one event. Along the way the relay
//! reads usage from the stream, and drops the usage-only chunk when the
//! gateway (not the client) asked for it.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame};
use hyper::body::Incoming;
use pin_project_lite::pin_project;
use switchyard_protocol::canonical::StreamEvent;
use switchyard_protocol::dialect::{StreamDecode, StreamEncode, stream_error};
use switchyard_protocol::usage::find_usage;
use switchyard_protocol::{ErrorBody, ErrorKind, SseParser, Usage};
use switchyard_providers::Dialect;

use crate::body::BoxError;
use crate::translate::{Fill, stream_error_event};

pin_project! {
    pub struct SseRelay {
        #[pin]
        inner: Incoming,
        parser: SseParser,
        // Bytes read before the relay was built (the first frame, read to
        // know the upstream is answering before the client gets headers).
        first: Option<Bytes>,
        // The gateway added `stream_options.include_usage`: hide its chunk.
        strip_usage_chunk: bool,
        provider: std::sync::Arc<str>,
        // The client's dialect, for error events.
        client: Dialect,
        pub usage: Option<Usage>,
        upstream_done: bool,
        finished: bool,
    }
}

impl SseRelay {
    pub fn new(
        inner: Incoming,
        first: Option<Bytes>,
        strip_usage_chunk: bool,
        provider: std::sync::Arc<str>,
        client: Dialect,
    ) -> Self {
        SseRelay {
            inner,
            parser: SseParser::new(),
            first,
            strip_usage_chunk,
            provider,
            client,
            usage: None,
            upstream_done: false,
            finished: false,
        }
    }

    pub fn is_end_stream(&self) -> bool {
        self.finished
    }
}

/// A gateway-made error event in the client's stream format.
fn error_event(client: Dialect, code: &'static str, message: String) -> Bytes {
    match client {
        Dialect::OpenAi => {
            Bytes::from(ErrorBody::new(ErrorKind::Upstream, code, message).to_sse_event())
        }
        _ => stream_error_event(client, &stream_error(Some(502), message)),
    }
}

/// Feed `chunk` and collect every complete event into one output buffer.
fn drain(
    parser: &mut SseParser,
    strip_usage_chunk: bool,
    usage: &mut Option<Usage>,
    out: &mut Option<BytesMut>,
    single: &mut Option<Bytes>,
) -> Result<(), BoxError> {
    while let Some(ev) = parser.next_event()? {
        if let Some(data) = &ev.data
            && let Some(u) = find_usage(data)
        {
            *usage = Some(u.usage);
            if strip_usage_chunk && u.usage_only {
                continue;
            }
        }
        // The common case is one event per read: hand its bytes on without
        // copying. More than one is joined into a single frame.
        match (single.take(), out.as_mut()) {
            (None, None) => *single = Some(ev.raw),
            (Some(prev), None) => {
                let mut buf = BytesMut::with_capacity(prev.len() + ev.raw.len());
                buf.extend_from_slice(&prev);
                buf.extend_from_slice(&ev.raw);
                *out = Some(buf);
            }
            (_, Some(buf)) => buf.extend_from_slice(&ev.raw),
        }
    }
    Ok(())
}

impl Body for SseRelay {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let mut this = self.project();
        loop {
            if *this.finished {
                return Poll::Ready(None);
            }
            let mut out = None;
            let mut single = None;
            if let Some(first) = this.first.take() {
                this.parser.push(&first);
            } else if *this.upstream_done {
                *this.finished = true;
                // Some servers end without the final blank line.
                if let Some(ev) = this.parser.finish() {
                    return Poll::Ready(Some(Ok(Frame::data(ev.raw))));
                }
                return Poll::Ready(None);
            } else {
                match this.inner.as_mut().poll_frame(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(None) => {
                        *this.upstream_done = true;
                        continue;
                    }
                    Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                        Ok(data) => this.parser.push(&data),
                        Err(_trailers) => continue,
                    },
                    Poll::Ready(Some(Err(e))) => {
                        *this.finished = true;
                        tracing::warn!(provider = %this.provider, error = %e, "upstream stream failed mid-way");
                        let msg = format!(
                            "The stream from provider `{}` was interrupted ({e}). The answer above is incomplete; retry the request.",
                            this.provider
                        );
                        return Poll::Ready(Some(Ok(Frame::data(error_event(
                            *this.client,
                            "stream_interrupted",
                            msg,
                        )))));
                    }
                }
            }
            if let Err(e) = drain(
                this.parser,
                *this.strip_usage_chunk,
                this.usage,
                &mut out,
                &mut single,
            ) {
                *this.finished = true;
                let msg = format!(
                    "The stream from provider `{}` is malformed: {e}.",
                    this.provider
                );
                return Poll::Ready(Some(Ok(Frame::data(error_event(
                    *this.client,
                    "stream_invalid",
                    msg,
                )))));
            }
            if let Some(buf) = out {
                return Poll::Ready(Some(Ok(Frame::data(buf.freeze()))));
            }
            if let Some(b) = single {
                return Poll::Ready(Some(Ok(Frame::data(b))));
            }
            // Only a partial event so far: read more.
        }
    }
}

pin_project! {
    /// A provider stream in one dialect relayed to a client in another:
    /// provider bytes -> canonical events -> client bytes, one network read
    /// at a time. Only the converters' per-stream state is kept.
    pub struct TranslateRelay {
        #[pin]
        inner: Incoming,
        first: Option<Bytes>,
        decoder: Box<dyn StreamDecode>,
        encoder: Box<dyn StreamEncode>,
        fill: Fill,
        events: Vec<StreamEvent>,
        provider: std::sync::Arc<str>,
        upstream_done: bool,
        finished: bool,
    }
}

impl TranslateRelay {
    pub fn new(
        inner: Incoming,
        first: Option<Bytes>,
        decoder: Box<dyn StreamDecode>,
        encoder: Box<dyn StreamEncode>,
        fill: Fill,
        provider: std::sync::Arc<str>,
    ) -> Self {
        TranslateRelay {
            inner,
            first,
            decoder,
            encoder,
            fill,
            events: Vec::new(),
            provider,
            upstream_done: false,
            finished: false,
        }
    }

    pub fn is_end_stream(&self) -> bool {
        self.finished
    }
}

fn malformed(provider: &str, e: &dyn std::fmt::Display) -> String {
    format!("The stream from provider `{provider}` is malformed: {e}.")
}

impl Body for TranslateRelay {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let mut this = self.project();
        loop {
            if *this.finished {
                return Poll::Ready(None);
            }
            // Feed the decoder from wherever the next bytes are; a failure
            // ends the client stream with an error event in its dialect.
            let mut end = false;
            let fed: Result<(), String> = if let Some(first) = this.first.take() {
                this.decoder
                    .push(&first, this.events)
                    .map_err(|e| malformed(this.provider, &e))
            } else if *this.upstream_done {
                end = true;
                this.decoder
                    .finish(this.events)
                    .map_err(|e| malformed(this.provider, &e))
            } else {
                match this.inner.as_mut().poll_frame(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(None) => {
                        *this.upstream_done = true;
                        continue;
                    }
                    Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                        Ok(data) => this
                            .decoder
                            .push(&data, this.events)
                            .map_err(|e| malformed(this.provider, &e)),
                        Err(_trailers) => continue,
                    },
                    Poll::Ready(Some(Err(e))) => {
                        tracing::warn!(provider = %this.provider, error = %e, "upstream stream failed mid-way");
                        Err(format!(
                            "The stream from provider `{}` was interrupted ({e}). The answer above is incomplete; retry the request.",
                            this.provider
                        ))
                    }
                }
            };
            let mut out = Vec::new();
            for mut ev in this.events.drain(..) {
                this.fill.event(&mut ev);
                this.encoder.encode(&ev, &mut out);
            }
            if let Err(message) = fed {
                end = true;
                let error = stream_error(Some(502), message);
                this.encoder.encode(&StreamEvent::Error { error }, &mut out);
            }
            if end {
                *this.finished = true;
                this.encoder.finish(&mut out);
            }
            if !out.is_empty() {
                return Poll::Ready(Some(Ok(Frame::data(Bytes::from(out)))));
            }
        }
    }
}
