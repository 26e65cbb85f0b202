//! Rate-limit counters in Redis: the [`LimitStore`] contract in two Lua
//! scripts, one `EVALSHA` per operation, so every instance sharing the
//! Redis admits exactly what one instance would.
//!
//! Layout: one hash per counter, `<prefix>:rl:{<key>}:<slot name>`, field =
//! bucket number (decimal), value = amount. Each write raises the key's TTL
//! to when the charged bucket stops counting (`expires_ms - now_ms`, as a
//! relative `PEXPIRE`, so it holds on any timeline and whatever Redis's own
//! clock says); Redis forgets idle counters and `sweep` does nothing.
//!
//! Numbers: Lua counts in doubles, exact up to 2^53 - 1 ([`MAX_EXACT`]).
//! Amounts, limits and deltas are clamped to that and sums saturate there
//! (the memory store saturates at `u64::MAX`): the two differ only past
//! 9·10^15 tokens, where no limit is meant.

use std::sync::Arc;

use redis::{ErrorKind, RedisError, Script};
use switchyard_limits::{Adjust, Check, LimitStore, StoreError, Usage};

use super::RedisConn;

/// Largest integer a Lua double holds exactly.
pub const MAX_EXACT: u64 = (1 << 53) - 1;

/// KEYS: one counter per check. ARGV: per check `bucket, oldest, limit,
/// amount, ttl_ms` (limit -1: can never fit). Phase one drops buckets older
/// than `oldest` and sums the rest; phase two, only if every check fits,
/// charges every amount. Returns `{{admitted}, {used, newest, b, n, ...}...}`
/// with the counted buckets oldest first only when refused; newest -1 for an
/// empty counter.
const CHECK_AND_CHARGE: &str = r#"
local MAX = 9007199254740991
local admitted = 1
local found = {}
for i = 1, #KEYS do
  local at = (i - 1) * 5
  local oldest = tonumber(ARGV[at + 2])
  local limit = tonumber(ARGV[at + 3])
  local amount = tonumber(ARGV[at + 4])
  local flat = redis.call('HGETALL', KEYS[i])
  local used, newest, kept, stale = 0, -1, {}, {}
  for j = 1, #flat, 2 do
    local b, n = tonumber(flat[j]), tonumber(flat[j + 1])
    if b == nil or n == nil or b < oldest or n <= 0 then
      stale[#stale + 1] = flat[j]
    else
      used = math.min(used + n, MAX)
      if b > newest then newest = b end
      kept[#kept + 1] = {b, n}
    end
  end
  for j = 1, #stale do redis.call('HDEL', KEYS[i], stale[j]) end
  if used + amount > limit then admitted = 0 end
  found[i] = {used, newest, kept}
end
local out = {{admitted}}
for i = 1, #KEYS do
  local at = (i - 1) * 5
  local used, newest, kept = found[i][1], found[i][2], found[i][3]
  local row = {used, newest}
  if admitted == 1 then
    local amount = tonumber(ARGV[at + 4])
    if amount > 0 then
      local bucket = ARGV[at + 1]
      local cur = tonumber(redis.call('HGET', KEYS[i], bucket)) or 0
      redis.call('HSET', KEYS[i], bucket, string.format('%.0f', math.min(cur + amount, MAX)))
      local ttl = tonumber(ARGV[at + 5])
      if redis.call('PTTL', KEYS[i]) < ttl then redis.call('PEXPIRE', KEYS[i], ttl) end
      local b = tonumber(bucket)
      if b > newest then row[2] = b end
    end
  else
    table.sort(kept, function(x, y) return x[1] < y[1] end)
    for j = 1, #kept do
      row[#row + 1] = kept[j][1]
      row[#row + 1] = kept[j][2]
    end
  end
  out[i + 1] = row
end
return out
"#;

/// KEYS: one counter per adjustment. ARGV: per adjustment `bucket, oldest,
/// delta, ttl_ms`. A bucket older than `oldest` is left alone; else buckets
/// before `oldest` are dropped and the delta added, floored at zero (the
/// field is deleted at zero); a negative delta to an empty bucket does
/// nothing.
const ADJUST: &str = r#"
local MAX = 9007199254740991
for i = 1, #KEYS do
  local at = (i - 1) * 4
  local field = ARGV[at + 1]
  local bucket = tonumber(field)
  local oldest = tonumber(ARGV[at + 2])
  local delta = tonumber(ARGV[at + 3])
  if bucket >= oldest then
    local fields = redis.call('HKEYS', KEYS[i])
    for j = 1, #fields do
      local b = tonumber(fields[j])
      if b == nil or b < oldest then redis.call('HDEL', KEYS[i], fields[j]) end
    end
    local cur = tonumber(redis.call('HGET', KEYS[i], field))
    if cur ~= nil and cur > 0 then
      local n = math.min(cur + delta, MAX)
      if n <= 0 then
        redis.call('HDEL', KEYS[i], field)
      else
        redis.call('HSET', KEYS[i], field, string.format('%.0f', n))
      end
    elseif delta > 0 then
      redis.call('HSET', KEYS[i], field, string.format('%.0f', math.min(delta, MAX)))
      local ttl = tonumber(ARGV[at + 4])
      if redis.call('PTTL', KEYS[i]) < ttl then redis.call('PEXPIRE', KEYS[i], ttl) end
    end
  end
end
return 0
"#;

/// Limits counted in Redis. Cheap to clone.
#[derive(Clone)]
pub struct RedisLimits {
    conn: RedisConn,
    scripts: Arc<Scripts>,
}

struct Scripts {
    check: Script,
    adjust: Script,
}

impl std::fmt::Debug for RedisLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLimits")
            .field("conn", &self.conn)
            .finish()
    }
}

impl RedisLimits {
    pub fn new(conn: RedisConn) -> Self {
        Self {
            conn,
            scripts: Arc::new(Scripts {
                check: Script::new(CHECK_AND_CHARGE),
                adjust: Script::new(ADJUST),
            }),
        }
    }

    pub fn conn(&self) -> &RedisConn {
        &self.conn
    }

    /// The Redis key of one counter: `<prefix>:rl:{<key>}:<slot>`.
    pub fn counter_key(&self, key: &str, slot: &str) -> String {
        counter_key(self.conn.prefix(), key, slot)
    }
}

/// `<prefix>:rl:{<key>}:<slot>`, with `%`, `{`, `}` and control bytes of
/// `key` percent-encoded: the `{...}` hash tag then always spans exactly the
/// key (so one key's counters share a cluster slot), and distinct keys give
/// distinct Redis keys whatever their bytes (the encoding is one-to-one and
/// the key part ends at the only `}`).
pub fn counter_key(prefix: &str, key: &str, slot: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + key.len() + slot.len() + 8);
    out.push_str(prefix);
    out.push_str(":rl:{");
    for c in key.chars() {
        match c {
            '%' | '{' | '}' => push_escaped(&mut out, c),
            c if c.is_control() => push_escaped(&mut out, c),
            c => out.push(c),
        }
    }
    out.push_str("}:");
    out.push_str(slot);
    out
}

fn push_escaped(out: &mut String, c: char) {
    let mut buf = [0u8; 4];
    for b in c.encode_utf8(&mut buf).bytes() {
        out.push_str(&format!("%{b:02X}"));
    }
}

fn exact(n: u64) -> u64 {
    n.min(MAX_EXACT)
}

fn exact_signed(n: i64) -> i64 {
    // MAX_EXACT < i64::MAX, so the cast is lossless.
    let max = MAX_EXACT as i64;
    n.clamp(-max, max)
}

/// Milliseconds until `expires_ms`, at least 1 (Redis refuses a TTL of 0).
fn ttl(expires_ms: u64, now_ms: u64) -> u64 {
    exact(expires_ms.saturating_sub(now_ms).max(1))
}

fn bad_reply(detail: String) -> RedisError {
    RedisError::from((
        ErrorKind::UnexpectedReturnType,
        "unexpected script reply",
        detail,
    ))
}

/// Reads the check script's reply into `usage`; returns whether admitted.
fn read_check(reply: &[Vec<i64>], checks: usize) -> Result<(bool, Vec<Usage>), RedisError> {
    let Some((head, rows)) = reply.split_first() else {
        return Err(bad_reply("empty".into()));
    };
    let admitted = match head.as_slice() {
        [1] => true,
        [0] => false,
        other => return Err(bad_reply(format!("admitted = {other:?}"))),
    };
    if rows.len() != checks {
        return Err(bad_reply(format!(
            "{} rows for {checks} checks",
            rows.len()
        )));
    }
    let number = |n: i64| u64::try_from(n).map_err(|_| bad_reply(format!("negative {n}")));
    let mut usage = Vec::with_capacity(checks);
    for row in rows {
        let [used, newest, buckets @ ..] = row.as_slice() else {
            return Err(bad_reply(format!("row {row:?}")));
        };
        if buckets.len() % 2 != 0 {
            return Err(bad_reply(format!("row {row:?}")));
        }
        let buckets = buckets
            .chunks_exact(2)
            .map(|p| Ok((number(p[0])?, number(p[1])?)))
            .collect::<Result<Vec<_>, RedisError>>()?;
        // -1: the counter is empty.
        let newest = if *newest < 0 {
            None
        } else {
            Some(number(*newest)?)
        };
        usage.push(Usage {
            used: number(*used)?,
            newest,
            buckets,
        });
    }
    Ok((admitted, usage))
}

impl LimitStore for RedisLimits {
    async fn check_and_charge(
        &self,
        checks: &[Check<'_>],
        now_ms: u64,
        usage: &mut Vec<Usage>,
    ) -> Result<bool, StoreError> {
        usage.clear();
        if checks.is_empty() {
            return Ok(true);
        }
        let mut call = self.scripts.check.prepare_invoke();
        for c in checks {
            // A demand above its limit can never fit (used >= 0): say so
            // before clamping could make the two equal.
            let limit = if c.amount > c.limit {
                -1
            } else {
                exact(c.limit) as i64
            };
            call.key(self.counter_key(c.key, c.slot.name()))
                .arg(exact(c.bucket))
                .arg(exact(c.oldest))
                .arg(limit)
                .arg(exact(c.amount))
                .arg(ttl(c.expires_ms, now_ms));
        }
        let n = checks.len();
        let (admitted, got) = self
            .conn
            .call("check", |mut m| async move {
                let reply: Vec<Vec<i64>> = call.invoke_async(&mut m).await?;
                read_check(&reply, n)
            })
            .await?;
        *usage = got;
        Ok(admitted)
    }

    async fn adjust(&self, adjustments: &[Adjust<'_>], now_ms: u64) -> Result<(), StoreError> {
        if adjustments.is_empty() {
            return Ok(());
        }
        let mut call = self.scripts.adjust.prepare_invoke();
        for a in adjustments {
            call.key(self.counter_key(a.key, a.slot.name()))
                .arg(exact(a.bucket))
                .arg(exact(a.oldest))
                .arg(exact_signed(a.delta))
                .arg(ttl(a.expires_ms, now_ms));
        }
        self.conn
            .call("adjust", |mut m| async move {
                call.invoke_async::<()>(&mut m).await
            })
            .await
    }

    /// Redis forgets idle counters by their TTL.
    fn sweep(&self, _now_ms: u64) -> usize {
        0
    }

    /// Nothing is held locally.
    fn keys(&self) -> usize {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_their_tag_whatever_the_bytes() {
        assert_eq!(
            counter_key("sy", "consumer:team-a", "tpm"),
            "sy:rl:{consumer:team-a}:tpm"
        );
        assert_eq!(
            counter_key("sy", "a}b{c%", "rps"),
            "sy:rl:{a%7Db%7Bc%25}:rps"
        );
        assert_eq!(
            counter_key("sy", "x\0\n\u{85}é", "rps"),
            "sy:rl:{x%00%0A%C2%85é}:rps"
        );
        // Distinct keys stay distinct, including ones that look escaped.
        assert_ne!(
            counter_key("sy", "%7D", "rps"),
            counter_key("sy", "}", "rps")
        );
        assert_ne!(
            counter_key("sy", "a}:rps", "tpm"),
            counter_key("sy", "a", "rps}:tpm")
        );
    }

    #[test]
    fn replies_are_checked() {
        let ok = read_check(&[vec![0], vec![3, 12, 10, 1, 12, 2], vec![0, -1]], 2);
        let Ok((admitted, usage)) = ok else {
            panic!("{ok:?}");
        };
        assert!(!admitted);
        assert_eq!(usage[0].buckets, vec![(10, 1), (12, 2)]);
        assert_eq!(usage[1].newest, None);
        assert!(read_check(&[vec![1]], 1).is_err());
        assert!(read_check(&[vec![1], vec![1, 2, 3]], 1).is_err());
        assert!(read_check(&[], 0).is_err());
    }
}
