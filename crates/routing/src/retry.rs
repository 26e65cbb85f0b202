//! `retryOnFailure` of one provider, compiled.

use std::time::Duration;

use crate::StatusSet;

#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Attempts after the first, on this provider.
    pub max_retries: u32,
    /// No new attempt starts once this much time has passed since the
    /// request arrived.
    pub retry_timeout: Duration,
    /// Upstream statuses worth another attempt; connect errors and
    /// timeouts always are.
    pub on_status: StatusSet,
}
