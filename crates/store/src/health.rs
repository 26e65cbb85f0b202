//! Credential health shared through Redis ([`RedisHealth`]).
//!
//! Keys (`<prefix>` is `redis.keyPrefix`):
//! - `<prefix>:health:out`, a sorted set: one member per credential out of
//!   rotation, `<provider>#<32 hex digits of the SHA-256 of the token>`
//!   (never the token), scored by the unix time (ms) until which it is out
//!   (the end of the cooldown, or an hour from the last health check under
//!   health checks). Expired members are pruned by every poll; the key
//!   itself expires a minute after its last deadline.
//! - `<prefix>:health:lease:<member>`, a string: the instance probing the
//!   credential, expiring after two check intervals and a check timeout
//!   unless renewed by that instance's next check.
//!
//! One background task owns the writes and the polling: transitions handed
//! over by [`HealthShare::went_out`] / [`HealthShare::came_back`] (a
//! channel send, never a wait) are written in order, and every
//! [`POLL_INTERVAL`] the set is read into a [`RemoteOut`] that the gateway
//! applies to its local records. Because writes and polls take turns in
//! that task, a poll always sees this instance's own writes; a transition
//! not yet written (Redis down, or still queued) is laid over the view it
//! publishes. A failed write is kept (the latest per credential) and tried
//! again at the next poll. Every Redis call goes through the process's one
//! [`RedisConn`] as operation `health`: bounded by `redis.timeout`, failing
//! fast while Redis is down, counted in
//! `switchyard_store_errors_total{store="redis",op="health"}`
//! ([`HealthShare::errors`]) and logged with the connection's other
//! failures. A failure leaves the local records as they are.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use redis::Script;
use switchyard_routing::share::{BoxFuture, unix_ms};
use switchyard_routing::{CredentialKey, HealthShare, RemoteOut};
use tokio::sync::{mpsc, watch};

use crate::redis::RedisConn;

/// The operation name of every health call on the connection (its label in
/// `switchyard_store_errors_total`).
const OP: &str = "health";

/// How often the shared set is read: a credential taken out by another
/// instance is out here at most this long (plus one Redis round trip)
/// later.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// How long the sorted set outlives its last deadline.
const KEY_MARGIN_MS: u64 = 60_000;

/// Add (or push back the deadline of) a member, and keep the key alive
/// until past that deadline.
const WENT_OUT: &str = r"
redis.call('ZADD', KEYS[1], 'GT', ARGV[1], ARGV[2])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return 1
";

/// Take or renew the probe lease; when held, push back the deadline of a
/// member still in the set (never re-add one another instance removed).
const LEASE: &str = r"
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if redis.call('ZADD', KEYS[2], 'XX', 'GT', 'CH', ARGV[3], ARGV[4]) == 1 then
  if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[5]) then
    redis.call('PEXPIRE', KEYS[2], ARGV[5])
  end
end
return 1
";

/// A transition waiting to be written.
#[derive(Clone, Debug)]
enum Op {
    Out(u64),
    Back,
}

struct Inner {
    conn: RedisConn,
    out_key: String,
    lease_prefix: String,
    /// Who holds a lease: random per instance.
    instance: String,
    went_out: Script,
    lease: Script,
}

/// Credential health shared by every instance using the same Redis and
/// key prefix. Dropping it stops its background task.
pub struct RedisHealth {
    inner: Arc<Inner>,
    ops: mpsc::UnboundedSender<(CredentialKey, Op)>,
    view: watch::Receiver<Arc<RemoteOut>>,
    task: tokio::task::AbortHandle,
}

impl std::fmt::Debug for RedisHealth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisHealth")
            .field("key", &self.inner.out_key)
            .field("instance", &self.inner.instance)
            .field("errors", &self.errors())
            .finish_non_exhaustive()
    }
}

impl RedisHealth {
    /// Share health through `conn` (the process's connection, shared with
    /// the limit store) under `<redis.keyPrefix>:health:`. Starts the
    /// background task (call within a Tokio runtime).
    pub fn new(conn: RedisConn) -> RedisHealth {
        // /metrics shows op="health" (at 0) as soon as health is shared.
        conn.list_op(OP);
        let prefix = conn.prefix();
        let inner = Arc::new(Inner {
            out_key: format!("{prefix}:health:out"),
            lease_prefix: format!("{prefix}:health:lease:"),
            conn,
            instance: format!("{:016x}", fastrand::u64(..)),
            went_out: Script::new(WENT_OUT),
            lease: Script::new(LEASE),
        });
        let (ops, rx) = mpsc::unbounded_channel();
        let (tx, view) = watch::channel(Arc::new(RemoteOut::default()));
        let task = tokio::spawn(run(inner.clone(), rx, tx)).abort_handle();
        RedisHealth {
            inner,
            ops,
            view,
            task,
        }
    }

    /// The shared view as last read (with this instance's unwritten
    /// transitions laid over it).
    pub fn view(&self) -> Arc<RemoteOut> {
        self.view.borrow().clone()
    }

    /// This instance's lease holder id.
    pub fn instance(&self) -> &str {
        &self.inner.instance
    }
}

impl Drop for RedisHealth {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl HealthShare for RedisHealth {
    fn went_out(&self, key: &CredentialKey, until_unix_ms: u64) {
        // Fails only once the task is gone (shutting down).
        let _ = self.ops.send((key.clone(), Op::Out(until_unix_ms)));
    }

    fn came_back(&self, key: &CredentialKey) {
        let _ = self.ops.send((key.clone(), Op::Back));
    }

    fn try_lease(
        &self,
        key: &CredentialKey,
        ttl: Duration,
        renew_until_unix_ms: u64,
    ) -> BoxFuture<'_, bool> {
        let member = key.member();
        Box::pin(async move {
            let inner = &self.inner;
            let now = unix_ms();
            let mut call = inner.lease.prepare_invoke();
            call.key(format!("{}{member}", inner.lease_prefix))
                .key(&inner.out_key)
                .arg(&inner.instance)
                .arg(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1))
                .arg(renew_until_unix_ms)
                .arg(&member)
                .arg(key_ttl(renew_until_unix_ms, now));
            let held = inner
                .conn
                .call(
                    OP,
                    |mut m| async move { call.invoke_async::<i64>(&mut m).await },
                )
                .await;
            match held {
                Ok(held) => held == 1,
                // Redis cannot answer: health is local, probe here.
                Err(_) => true,
            }
        })
    }

    fn remote(&self) -> Option<watch::Receiver<Arc<RemoteOut>>> {
        Some(self.view.clone())
    }

    /// Failed health calls on the shared connection (its count of
    /// operation `health`).
    fn errors(&self) -> u64 {
        self.inner
            .conn
            .errors()
            .into_iter()
            .filter(|(op, _)| *op == OP)
            .map(|(_, n)| n)
            .sum()
    }
}

/// How long the sorted set should live for a deadline of `until`.
fn key_ttl(until: u64, now: u64) -> u64 {
    until.saturating_sub(now).saturating_add(KEY_MARGIN_MS)
}

impl Inner {
    /// Write one transition; whether Redis took it (a failure is counted
    /// and logged by the connection).
    async fn write(&self, key: &CredentialKey, op: &Op, now: u64) -> bool {
        let member = key.member();
        match op {
            Op::Out(until) => {
                if *until <= now {
                    return true;
                }
                let mut call = self.went_out.prepare_invoke();
                call.key(&self.out_key)
                    .arg(*until)
                    .arg(&member)
                    .arg(key_ttl(*until, now));
                self.conn
                    .call(
                        OP,
                        |mut m| async move { call.invoke_async::<i64>(&mut m).await },
                    )
                    .await
                    .is_ok()
            }
            Op::Back => {
                let mut pipe = redis::pipe();
                pipe.zrem(&self.out_key, &member)
                    .ignore()
                    .del(format!("{}{member}", self.lease_prefix))
                    .ignore();
                self.conn
                    .call(
                        OP,
                        |mut m| async move { pipe.query_async::<()>(&mut m).await },
                    )
                    .await
                    .is_ok()
            }
        }
    }

    /// Write what is pending, in order of arrival per credential; stop at
    /// the first failure (the rest waits for the next poll).
    async fn write_pending(&self, pending: &mut HashMap<CredentialKey, Op>) {
        let keys: Vec<CredentialKey> = pending.keys().cloned().collect();
        for key in keys {
            let Some(op) = pending.get(&key).cloned() else {
                continue;
            };
            if !self.write(&key, &op, unix_ms()).await {
                return;
            }
            pending.remove(&key);
        }
    }

    /// Prune expired members and read the rest.
    async fn poll(&self) -> Option<RemoteOut> {
        let now = unix_ms();
        let mut pipe = redis::pipe();
        pipe.cmd("ZREMRANGEBYSCORE")
            .arg(&self.out_key)
            .arg("-inf")
            .arg(now)
            .ignore()
            .cmd("ZRANGEBYSCORE")
            .arg(&self.out_key)
            .arg(format!("({now}"))
            .arg("+inf")
            .arg("WITHSCORES");
        let (flat,): (Vec<String>,) = self
            .conn
            .call(OP, |mut m| async move { pipe.query_async(&mut m).await })
            .await
            .ok()?;
        let mut view = RemoteOut::default();
        for pair in flat.chunks_exact(2) {
            let (Some(key), Ok(score)) =
                (CredentialKey::from_member(&pair[0]), pair[1].parse::<f64>())
            else {
                continue;
            };
            // Scores are whole milliseconds.
            view.out.insert(key, score as u64);
        }
        Some(view)
    }
}

/// Lay the transitions not yet written over a view read from Redis.
fn overlay(view: &mut RemoteOut, pending: &HashMap<CredentialKey, Op>) {
    for (key, op) in pending {
        match op {
            Op::Out(until) => {
                let e = view.out.entry(key.clone()).or_insert(*until);
                *e = (*e).max(*until);
            }
            Op::Back => {
                view.out.remove(key);
            }
        }
    }
}

/// The background task: writes as they come, a poll every
/// [`POLL_INTERVAL`].
async fn run(
    inner: Arc<Inner>,
    mut rx: mpsc::UnboundedReceiver<(CredentialKey, Op)>,
    tx: watch::Sender<Arc<RemoteOut>>,
) {
    let mut pending: HashMap<CredentialKey, Op> = HashMap::new();
    let mut tick = tokio::time::interval(POLL_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            op = rx.recv() => {
                let Some((key, op)) = op else { return };
                pending.insert(key, op);
                inner.write_pending(&mut pending).await;
            }
            _ = tick.tick() => {
                inner.write_pending(&mut pending).await;
                let Some(mut view) = inner.poll().await else {
                    continue;
                };
                // Transitions handed over while the poll ran.
                while let Ok((key, op)) = rx.try_recv() {
                    pending.insert(key, op);
                }
                overlay(&mut view, &pending);
                tx.send_if_modified(|v| {
                    if **v == view {
                        return false;
                    }
                    *v = Arc::new(view);
                    true
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_routing::credential_key;

    #[test]
    fn unwritten_transitions_lie_over_the_view() {
        let a = credential_key("p", "sk-a");
        let b = credential_key("p", "sk-b");
        let c = credential_key("p", "sk-c");
        let mut view = RemoteOut::default();
        view.out.insert(a.clone(), 100);
        view.out.insert(b.clone(), 100);
        let pending = HashMap::from([
            (a.clone(), Op::Back),
            (b.clone(), Op::Out(50)),
            (c.clone(), Op::Out(70)),
        ]);
        overlay(&mut view, &pending);
        assert_eq!(view.out.get(&a), None);
        assert_eq!(view.out.get(&b), Some(&100), "the later deadline wins");
        assert_eq!(view.out.get(&c), Some(&70));
        assert_eq!(key_ttl(10_000, 4_000), 66_000);
        assert_eq!(key_ttl(1, 4_000), KEY_MARGIN_MS);
    }
}
