//! Relaying an upstream SSE stream to the client, event by event.
//!
//! Each upstream read is fed to an [`SseParser`]; every complete event is
//! forwarded as soon as it is complete, an incomplete tail waits for the
//! next read. Nothing is buffered beyond the events already received. Along the way the relay
//! reads usage from the stream, and drops the usage-only chunk when the
//! gateway (not the client) asked for it.

use std::pin::Pin;
use std::task::{Context, Poll};

use crate::upstream::UpstreamBody;
use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame};
use pin_project_lite::pin_project;
use switchyard_protocol::canonical::StreamEvent;
use switchyard_protocol::dialect::{StreamDecode, StreamEncode, stream_error};
use switchyard_protocol::usage::find_usage;
use switchyard_protocol::{ErrorBody, ErrorKind, SseParser};
use switchyard_providers::Dialect;

use crate::body::BoxError;
use crate::server::{DRAINED, DrainSignal};
use crate::telemetry::Tap;
use crate::translate::{self, Fill, stream_error_event};

pin_project! {
    pub struct SseRelay {
        #[pin]
        inner: UpstreamBody,
        parser: SseParser,
        // Bytes read before the relay was built (the first frame, read to
        // know the upstream is answering before the client gets headers).
        first: Option<Bytes>,
        // The gateway added `stream_options.include_usage`: hide its chunk.
        strip_usage_chunk: bool,
        provider: std::sync::Arc<str>,
        // The client's dialect, for error events.
        client: Dialect,
        tap: Tap,
        upstream_done: bool,
        finished: bool,
        // Complete events not yet handed to the client.
        batch: BytesMut,
        // Fires when a shutdown's grace period is over.
        drain: DrainSignal,
    }
}

impl SseRelay {
    pub fn new(
        inner: UpstreamBody,
        first: Option<Bytes>,
        strip_usage_chunk: bool,
        provider: std::sync::Arc<str>,
        client: Dialect,
        drain: DrainSignal,
    ) -> Self {
        SseRelay {
            inner,
            parser: SseParser::new(),
            first,
            strip_usage_chunk,
            provider,
            client,
            tap: Tap::passthrough(match client {
                Dialect::OpenAi => None,
                d => Some(translate::stream_decoder(d)),
            }),
            upstream_done: false,
            finished: false,
            batch: BytesMut::new(),
            drain,
        }
    }

    pub fn is_end_stream(&self) -> bool {
        self.finished
    }

    pub fn take_tap(self: Pin<&mut Self>) -> Tap {
        std::mem::take(self.project().tap)
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

/// Move every complete event from `parser` to `batch`, showing each to the
/// tap and dropping the usage-only chunk when the gateway asked for it.
fn drain(
    parser: &mut SseParser,
    openai: bool,
    strip_usage_chunk: bool,
    tap: &mut Tap,
    batch: &mut BytesMut,
) -> Result<(), BoxError> {
    while let Some(ev) = parser.next_event()? {
        if openai
            && let Some(data) = &ev.data
            && let Some(u) = find_usage(data)
        {
            tap.openai_usage(u.usage);
            if strip_usage_chunk && u.usage_only {
                continue;
            }
        }
        tap.relayed(&ev.raw, ev.data.as_ref());
        batch.extend_from_slice(&ev.raw);
    }
    Ok(())
}

/// A batch is handed on once it reaches this size, whatever else is ready.
const MAX_BATCH: usize = 64 * 1024;

impl Body for SseRelay {
    type Data = Bytes;
    type Error = BoxError;

    /// Events are forwarded as soon as they are complete: every event the
    /// upstream connection has read goes in one frame, handed on when a
    /// read would wait. The upstream socket is read in this same task, so
    /// nothing more can arrive by waiting a turn; events that are ready
    /// together reach the client in one write (the server gathers ready
    /// frames too).
    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let mut this = self.project();
        loop {
            if *this.finished {
                return Poll::Ready(None);
            }
            if let Some(first) = this.first.take() {
                this.parser.push(&first);
            } else if *this.upstream_done {
                *this.finished = true;
                this.tap.upstream_ended();
                // Some servers end without the final blank line.
                if let Some(ev) = this.parser.finish() {
                    this.tap.relayed(&ev.raw, ev.data.as_ref());
                    this.batch.extend_from_slice(&ev.raw);
                }
                return take(this.batch);
            } else {
                match this.inner.as_mut().poll_frame(cx) {
                    Poll::Pending => {
                        if this.drain.poll_fired(cx).is_ready() {
                            *this.finished = true;
                            this.tap.upstream_ended();
                            this.tap.interrupted = Some(DRAINED.to_string());
                            this.batch.extend_from_slice(&error_event(
                                *this.client,
                                "stream_interrupted",
                                DRAINED.to_string(),
                            ));
                            return take(this.batch);
                        }
                        if this.batch.is_empty() {
                            return Poll::Pending;
                        }
                        return take(this.batch);
                    }
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
                        this.tap.upstream_ended();
                        tracing::warn!(provider = %this.provider, error = %e, "upstream stream failed mid-way");
                        let msg = format!(
                            "The stream from provider `{}` was interrupted ({e}). The answer above is incomplete; retry the request.",
                            this.provider
                        );
                        this.tap.interrupted = Some(msg.clone());
                        this.batch.extend_from_slice(&error_event(
                            *this.client,
                            "stream_interrupted",
                            msg,
                        ));
                        return take(this.batch);
                    }
                }
            }
            if let Err(e) = drain(
                this.parser,
                *this.client == Dialect::OpenAi,
                *this.strip_usage_chunk,
                this.tap,
                this.batch,
            ) {
                *this.finished = true;
                this.tap.upstream_ended();
                let msg = format!(
                    "The stream from provider `{}` is malformed: {e}.",
                    this.provider
                );
                this.tap.interrupted = Some(msg.clone());
                this.batch
                    .extend_from_slice(&error_event(*this.client, "stream_invalid", msg));
                return take(this.batch);
            }
            if this.batch.len() >= MAX_BATCH {
                return take(this.batch);
            }
        }
    }
}

/// The batch as one frame, or the end if it is empty.
fn take(batch: &mut BytesMut) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
    if batch.is_empty() {
        Poll::Ready(None)
    } else {
        Poll::Ready(Some(Ok(Frame::data(batch.split().freeze()))))
    }
}

pin_project! {
    /// A provider stream in one dialect relayed to a client in another:
    /// provider bytes -> canonical events -> client bytes, one network read
    /// at a time. Only the converters' per-stream state is kept.
    pub struct TranslateRelay {
        #[pin]
        inner: UpstreamBody,
        first: Option<Bytes>,
        decoder: Box<dyn StreamDecode>,
        encoder: Box<dyn StreamEncode>,
        fill: Fill,
        events: Vec<StreamEvent>,
        provider: std::sync::Arc<str>,
        tap: Tap,
        upstream_done: bool,
        finished: bool,
        // Fires when a shutdown's grace period is over.
        drain: DrainSignal,
    }
}

impl TranslateRelay {
    pub fn new(
        inner: UpstreamBody,
        first: Option<Bytes>,
        decoder: Box<dyn StreamDecode>,
        encoder: Box<dyn StreamEncode>,
        fill: Fill,
        provider: std::sync::Arc<str>,
        drain: DrainSignal,
    ) -> Self {
        TranslateRelay {
            inner,
            first,
            decoder,
            encoder,
            fill,
            events: Vec::new(),
            provider,
            tap: Tap::default(),
            upstream_done: false,
            finished: false,
            drain,
        }
    }

    pub fn is_end_stream(&self) -> bool {
        self.finished
    }

    pub fn take_tap(self: Pin<&mut Self>) -> Tap {
        std::mem::take(self.project().tap)
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
                this.tap.upstream_ended();
                this.decoder
                    .finish(this.events)
                    .map_err(|e| malformed(this.provider, &e))
            } else {
                match this.inner.as_mut().poll_frame(cx) {
                    Poll::Pending if this.drain.poll_fired(cx).is_ready() => {
                        Err(DRAINED.to_string())
                    }
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
                this.tap.observe(&ev);
                this.encoder.encode(&ev, &mut out);
            }
            if let Err(message) = fed {
                end = true;
                this.tap.upstream_ended();
                this.tap.interrupted = Some(message.clone());
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
