//! Values kept in Redis by key for a while ([`RedisBlobs`]): what the gateway
//! keeps of its Responses answers, so that instances sharing a Redis share
//! `previous_response_id` and `GET /v1/responses/{id}`.
//!
//! Keys `<prefix>:<space>:<key>`, plain strings written with `SET ... PX`
//! (the lifetime is relative, as for every key of this crate). Every call
//! goes through the process's [`RedisConn`] as operation `<space>`: bounded
//! by `redis.timeout`, failing fast while Redis is down, counted and logged
//! like the others.

use std::time::Duration;

use switchyard_limits::StoreError;

use crate::redis::RedisConn;

#[derive(Clone, Debug)]
pub struct RedisBlobs {
    conn: RedisConn,
    space: &'static str,
}

impl RedisBlobs {
    pub fn new(conn: RedisConn, space: &'static str) -> Self {
        RedisBlobs { conn, space }
    }

    fn key(&self, key: &str) -> String {
        format!("{}:{}:{key}", self.conn.prefix(), self.space)
    }

    /// Keep `value` under `key` for `ttl` (replacing what was there).
    pub async fn put(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<(), StoreError> {
        let k = self.key(key);
        let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        self.conn
            .call(self.space, |mut m| async move {
                redis::cmd("SET")
                    .arg(k)
                    .arg(value)
                    .arg("PX")
                    .arg(ms)
                    .query_async::<()>(&mut m)
                    .await
            })
            .await
    }

    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let k = self.key(key);
        self.conn
            .call(self.space, |mut m| async move {
                redis::cmd("GET")
                    .arg(k)
                    .query_async::<Option<Vec<u8>>>(&mut m)
                    .await
            })
            .await
    }

    /// Whether there was such a key.
    pub async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        let k = self.key(key);
        self.conn
            .call(self.space, |mut m| async move {
                redis::cmd("DEL").arg(k).query_async::<u64>(&mut m).await
            })
            .await
            .map(|n| n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::RedisServer;
    use switchyard_config::RedisConfig;

    #[tokio::test]
    async fn put_get_delete_and_expiry() {
        let server = RedisServer::start();
        let cfg = RedisConfig {
            url: server.url(),
            key_prefix: "t".into(),
            timeout: Duration::from_secs(2),
            on_error: Default::default(),
        };
        let blobs = RedisBlobs::new(RedisConn::new(&cfg).unwrap(), "resp");
        assert_eq!(blobs.get("a").await.unwrap(), None);
        blobs
            .put("a", b"one".to_vec(), Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(blobs.get("a").await.unwrap().as_deref(), Some(&b"one"[..]));
        assert!(blobs.delete("a").await.unwrap());
        assert!(!blobs.delete("a").await.unwrap());
        blobs
            .put("b", b"two".to_vec(), Duration::from_millis(50))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert_eq!(blobs.get("b").await.unwrap(), None, "expired");
    }
}
