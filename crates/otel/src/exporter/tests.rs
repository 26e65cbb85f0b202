use std::collections::VecDeque;
use std::sync::Mutex;

use super::*;
use crate::context::TraceContext;
use crate::span::SpanKind;

const ENDPOINT: &str = "http://collector:4318/v1/traces";

/// Records every POST and answers from a script (200 once it runs out);
/// `None` in the script never answers.
#[derive(Default)]
struct FakeTransport {
    posts: Mutex<Vec<(Uri, Bytes, Instant)>>,
    script: Mutex<VecDeque<Option<Result<u16, String>>>>,
}

impl FakeTransport {
    fn scripted(script: impl IntoIterator<Item = Option<Result<u16, String>>>) -> Arc<Self> {
        Arc::new(FakeTransport {
            posts: Mutex::default(),
            script: Mutex::new(script.into_iter().collect()),
        })
    }

    fn posts(&self) -> Vec<(Uri, Bytes, Instant)> {
        self.posts.lock().unwrap().clone()
    }

    /// Spans per POST, in order.
    fn batch_sizes(&self) -> Vec<usize> {
        self.posts
            .lock()
            .unwrap()
            .iter()
            .map(|(_, body, _)| span_count(body))
            .collect()
    }
}

impl Transport for FakeTransport {
    fn post(
        &self,
        uri: Uri,
        body: Bytes,
    ) -> Pin<Box<dyn Future<Output = Result<u16, String>> + Send + '_>> {
        self.posts.lock().unwrap().push((uri, body, Instant::now()));
        let answer = self
            .script
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(Some(Ok(200)));
        Box::pin(async move {
            match answer {
                Some(answer) => answer,
                None => std::future::pending().await,
            }
        })
    }
}

fn span_count(body: &[u8]) -> usize {
    let doc: serde_json::Value = serde_json::from_slice(body).unwrap();
    doc["resourceSpans"][0]["scopeSpans"][0]["spans"]
        .as_array()
        .unwrap()
        .len()
}

fn spans(n: usize) -> Vec<Span> {
    let ctx = TraceContext::new_root(true);
    (0..n)
        .map(|_| {
            Span::start(
                &ctx.child(),
                Some(ctx.span_id),
                "chat gpt-4o",
                SpanKind::Client,
            )
        })
        .collect()
}

fn config() -> ExporterConfig {
    ExporterConfig::new(Uri::from_static(ENDPOINT), "switchyard-test")
}

/// Lets the export task run until it waits on something (virtual time
/// only advances once every task is idle).
async fn settle() {
    tokio::time::sleep(Duration::from_micros(1)).await;
}

#[tokio::test(start_paused = true)]
async fn sends_a_batch_as_soon_as_max_batch_spans_wait() {
    let fake = FakeTransport::scripted([]);
    let handle = Exporter::spawn(
        ExporterConfig {
            max_batch: 4,
            ..config()
        },
        fake.clone(),
    );
    let start = Instant::now();
    handle.export(spans(3));
    handle.export(spans(3));
    handle.export(spans(3));
    settle().await;
    assert_eq!(fake.batch_sizes(), [4, 4]);
    assert_eq!(handle.exported_spans(), 8);

    // The last span goes out when the oldest waiting span (queued at
    // `start`) has waited the flush interval.
    tokio::time::sleep_until(start + Duration::from_millis(999)).await;
    assert_eq!(fake.batch_sizes(), [4, 4]);
    tokio::time::sleep_until(start + Duration::from_millis(1001)).await;
    assert_eq!(fake.batch_sizes(), [4, 4, 1]);
    assert_eq!(handle.exported_spans(), 9);
    assert_eq!(handle.dropped_spans(), 0);
}

#[tokio::test(start_paused = true)]
async fn sends_waiting_spans_after_the_flush_interval() {
    let fake = FakeTransport::scripted([]);
    let handle = Exporter::spawn(config(), fake.clone());
    let start = Instant::now();
    handle.export(spans(2));
    tokio::time::sleep(Duration::from_millis(500)).await;
    handle.export(spans(1));
    tokio::time::sleep_until(start + Duration::from_millis(999)).await;
    assert!(fake.batch_sizes().is_empty());

    tokio::time::sleep_until(start + Duration::from_millis(1001)).await;
    assert_eq!(fake.batch_sizes(), [3]);
    let posts = fake.posts();
    assert_eq!(posts[0].0, ENDPOINT);
    assert_eq!(posts[0].2 - start, Duration::from_secs(1));
    assert_eq!(handle.exported_spans(), 3);

    // Nothing waiting: no empty POSTs later.
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(fake.batch_sizes(), [3]);
}

#[tokio::test(start_paused = true)]
async fn flush_posts_everything_queued_before_it() {
    let fake = FakeTransport::scripted([]);
    let handle = Exporter::spawn(
        ExporterConfig {
            max_batch: 4,
            ..config()
        },
        fake.clone(),
    );
    handle.flush().await;
    assert!(
        fake.batch_sizes().is_empty(),
        "flushing nothing posts nothing"
    );

    let start = Instant::now();
    handle.export(spans(3));
    handle.export(spans(3));
    handle.flush().await;
    assert_eq!(fake.batch_sizes(), [4, 2]);
    assert_eq!(handle.exported_spans(), 6);
    assert_eq!(
        Instant::now(),
        start,
        "flush does not wait for the interval"
    );
}

#[tokio::test(start_paused = true)]
async fn queue_overflow_drops_and_counts() {
    let fake = FakeTransport::scripted([]);
    let handle = Exporter::spawn(
        ExporterConfig {
            queue: 4,
            ..config()
        },
        fake.clone(),
    );
    // The export task has not run yet, so nothing leaves the queue.
    handle.export(spans(2));
    handle.export(spans(2));
    handle.export(spans(1));
    assert_eq!(handle.dropped_spans(), 1);
    handle.export(spans(5));
    assert_eq!(handle.dropped_spans(), 6);

    handle.flush().await;
    assert_eq!(fake.batch_sizes(), [4]);
    assert_eq!(handle.exported_spans(), 4);

    // Taken by the task, the queue has room again.
    handle.export(spans(4));
    handle.flush().await;
    assert_eq!(handle.exported_spans(), 8);
    assert_eq!(handle.dropped_spans(), 6);
}

#[tokio::test(start_paused = true)]
async fn client_error_drops_the_batch_without_retry() {
    let fake = FakeTransport::scripted([Some(Ok(400))]);
    let handle = Exporter::spawn(config(), fake.clone());
    handle.export(spans(3));
    handle.flush().await;
    assert_eq!(fake.batch_sizes(), [3], "a 400 is not retried");
    assert_eq!(handle.exported_spans(), 0);
    assert_eq!(handle.dropped_spans(), 3);
    assert_eq!(handle.failed_exports(), 1);

    // The exporter keeps working afterwards.
    handle.export(spans(2));
    handle.flush().await;
    assert_eq!(handle.exported_spans(), 2);
    assert_eq!(handle.dropped_spans(), 3);
}

#[tokio::test(start_paused = true)]
async fn retryable_failure_is_retried_once_then_dropped() {
    let fake = FakeTransport::scripted([Some(Ok(503)), Some(Err("connection refused".into()))]);
    let handle = Exporter::spawn(config(), fake.clone());
    let start = Instant::now();
    handle.export(spans(2));
    handle.flush().await;
    assert_eq!(fake.batch_sizes(), [2, 2]);
    let posts = fake.posts();
    assert_eq!(posts[1].2 - posts[0].2, RETRY_DELAY);
    assert_eq!(posts[0].1, posts[1].1, "the retry sends the same body");
    assert_eq!(Instant::now() - start, RETRY_DELAY);
    assert_eq!(handle.exported_spans(), 0);
    assert_eq!(handle.dropped_spans(), 2);
    assert_eq!(handle.failed_exports(), 1);
}

#[tokio::test(start_paused = true)]
async fn successful_retry_counts_as_exported() {
    let fake = FakeTransport::scripted([Some(Err("connection reset".into())), Some(Ok(200))]);
    let handle = Exporter::spawn(config(), fake.clone());
    handle.export(spans(2));
    handle.flush().await;
    assert_eq!(fake.batch_sizes(), [2, 2]);
    assert_eq!(handle.exported_spans(), 2);
    assert_eq!(handle.dropped_spans(), 0);
    assert_eq!(handle.failed_exports(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_collector_that_never_answers_times_out() {
    let fake = FakeTransport::scripted([None, None]);
    let handle = Exporter::spawn(
        ExporterConfig {
            timeout: Duration::from_secs(2),
            ..config()
        },
        fake.clone(),
    );
    let start = Instant::now();
    handle.export(spans(1));
    handle.flush().await;
    assert_eq!(
        Instant::now() - start,
        Duration::from_secs(4) + RETRY_DELAY,
        "two timed-out attempts and the retry delay"
    );
    assert_eq!(handle.dropped_spans(), 1);
    assert_eq!(handle.failed_exports(), 1);
}

#[tokio::test(start_paused = true)]
async fn shutdown_exports_what_is_queued_then_refuses_spans() {
    let fake = FakeTransport::scripted([]);
    let handle = Exporter::spawn(config(), fake.clone());
    let other = handle.clone();
    handle.export(spans(2));
    other.export(spans(1));
    handle.shutdown().await;
    assert_eq!(fake.batch_sizes(), [3]);
    assert_eq!(handle.exported_spans(), 3);

    other.export(spans(2));
    assert_eq!(other.dropped_spans(), 2);
    // Neither waits on a stopped exporter.
    other.flush().await;
    other.shutdown().await;
    assert_eq!(fake.batch_sizes(), [3]);
}

#[tokio::test(start_paused = true)]
async fn dropping_every_handle_exports_the_rest() {
    let fake = FakeTransport::scripted([]);
    let handle = Exporter::spawn(config(), fake.clone());
    handle.export(spans(2));
    drop(handle);
    settle().await;
    assert_eq!(fake.batch_sizes(), [2]);
}

#[test]
fn logged_endpoint_has_no_credentials() {
    let uri = Uri::from_static("https://user:secret@collector.example:4318/v1/traces?key=abc");
    assert_eq!(redacted(&uri), "https://collector.example:4318/v1/traces");
    assert_eq!(
        redacted(&Uri::from_static("http://collector/v1/traces")),
        "http://collector/v1/traces"
    );
}
