//! `GET /status`: every provider and the health of each credential
//! (tokens masked).

use std::time::UNIX_EPOCH;

use serde::Serialize;
use switchyard_routing::Recovery;
use tokio::time::Instant;

use crate::runtime::{Runtime, Snapshot};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Status<'a> {
    providers: Vec<ProviderStatus<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProviderStatus<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    origin: String,
    failover: bool,
    recovery: Option<&'static str>,
    healthy_credentials: usize,
    credentials: Vec<CredentialStatus<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CredentialStatus<'a> {
    /// `GET /admin/credentials` only: the provider and the token's index.
    #[serde(skip_serializing_if = "Option::is_none")]
    provider: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<usize>,
    credential: &'a str,
    state: &'static str,
    /// Unix seconds.
    out_since: Option<u64>,
    consecutive_failures: u32,
    last_error: Option<String>,
    next_check_in_ms: Option<u128>,
}

/// The `/status` document.
pub fn status_json(rt: &Runtime) -> Vec<u8> {
    let snap = rt.snapshot();
    serde_json::to_vec_pretty(&Status {
        providers: providers(&snap, false),
    })
    .unwrap_or_default()
}

/// `GET /admin/credentials`: every credential of every provider, flat.
pub fn credentials_json(rt: &Runtime) -> Vec<u8> {
    #[derive(Serialize)]
    struct List<'a> {
        data: Vec<CredentialStatus<'a>>,
    }
    let snap = rt.snapshot();
    let data = providers(&snap, true)
        .into_iter()
        .flat_map(|p| p.credentials)
        .collect();
    serde_json::to_vec(&List { data }).unwrap_or_default()
}

fn providers(snap: &Snapshot, flat: bool) -> Vec<ProviderStatus<'_>> {
    let now = Instant::now();
    snap.upstreams
        .iter()
        .map(|up| {
            let credentials: Vec<_> = (0..up.pool.len())
                .filter_map(|i| {
                    let snap = up.pool.health(i)?.snapshot(now);
                    Some(CredentialStatus {
                        provider: flat.then_some(&*up.id),
                        index: flat.then_some(i),
                        credential: up.masked(i),
                        state: if snap.healthy { "healthy" } else { "out" },
                        out_since: snap
                            .out_since
                            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                            .map(|d| d.as_secs()),
                        consecutive_failures: snap.consecutive_failures,
                        last_error: snap.last_error,
                        next_check_in_ms: snap.next_check_in.map(|d| d.as_millis()),
                    })
                })
                .collect();
            ProviderStatus {
                id: &up.id,
                kind: up.endpoint.kind.name,
                origin: up.endpoint.origin(),
                failover: up.pool.policy().is_some(),
                recovery: up.pool.policy().map(|p| match p.recovery {
                    Recovery::Check { .. } => "health-check",
                    Recovery::Cooldown(_) => "cooldown",
                }),
                healthy_credentials: credentials.iter().filter(|c| c.state == "healthy").count(),
                credentials,
            }
        })
        .collect()
}
