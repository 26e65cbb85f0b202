//! Secrets in a document: where they sit, how they are masked and restored.

use serde_norway::Value;
use switchyard_providers::mask_credential;

use super::{EditError, invalid};
use crate::access::mask_url_password;

/// Where a secret sits inside an object.
#[derive(Clone, Copy)]
pub(super) enum Secret {
    /// A list of secrets (`apiTokens`, `keys`).
    List(&'static str),
    /// One secret string.
    Scalar(&'static str),
    /// A URL whose password is secret.
    Url(&'static str),
    /// A map whose values may all be secrets (`headers`).
    Values(&'static str),
}

pub(super) const PROVIDER_SECRETS: &[Secret] = &[
    Secret::List("apiTokens"),
    Secret::Scalar("awsAccessKey"),
    Secret::Scalar("awsSecretKey"),
    Secret::Scalar("awsSessionToken"),
    Secret::Scalar("vertexAuthKey"),
    Secret::Values("headers"),
];

/// Top-level objects holding secrets.
pub(super) const TOP_SECRETS: &[(&str, Secret)] = &[
    ("admin", Secret::Scalar("token")),
    ("redis", Secret::Url("url")),
    ("otel", Secret::Values("headers")),
];

/// How a secret is shown: `${ENV}` references as written, anything else
/// masked (`sk-…abcd`, `sha256:…abcd`).
pub fn mask_secret(s: &str) -> String {
    if s.contains("${") {
        return s.to_string();
    }
    if let Some(hex) = s.strip_prefix("sha256:") {
        let tail: String = hex
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        return format!("sha256:…{tail}");
    }
    mask_credential(s)
}

fn mask_url(s: &str) -> String {
    if s.contains("${") {
        s.to_string()
    } else {
        mask_url_password(s)
    }
}

pub(super) fn mask_object(item: &mut Value, secrets: &[Secret]) {
    let Value::Mapping(m) = item else {
        return;
    };
    for s in secrets {
        match *s {
            Secret::List(f) => {
                if let Some(Value::Sequence(list)) = m.get_mut(f) {
                    for v in list {
                        if let Value::String(t) = v {
                            *t = mask_secret(t);
                        }
                    }
                }
            }
            Secret::Scalar(f) => {
                if let Some(Value::String(t)) = m.get_mut(f) {
                    *t = mask_secret(t);
                }
            }
            Secret::Url(f) => {
                if let Some(Value::String(t)) = m.get_mut(f) {
                    *t = mask_url(t);
                }
            }
            Secret::Values(f) => {
                if let Some(Value::Mapping(h)) = m.get_mut(f) {
                    for (_, v) in h.iter_mut() {
                        if let Value::String(t) = v {
                            *t = mask_secret(t);
                        }
                    }
                }
            }
        }
    }
}

/// Whether `s` is a value as the admin API shows it rather than a secret.
fn looks_masked(s: &str) -> bool {
    s.contains('…') || s.contains(":***@") || s.contains("//***@")
}

/// Restore one masked value from the candidates it may mask.
fn restore<'a>(
    shown: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    mask: fn(&str) -> String,
    path: &str,
) -> Result<Option<String>, EditError> {
    if !looks_masked(shown) {
        return Ok(None);
    }
    for c in candidates {
        if mask(c) == shown {
            return Ok(Some(c.to_string()));
        }
    }
    Err(invalid(
        path,
        format!(
            "`{shown}` is a masked value that matches no current secret here: paste the whole secret"
        ),
    ))
}

pub(super) fn unmask_object(
    item: &mut Value,
    old: Option<&Value>,
    secrets: &[Secret],
    path: &str,
) -> Result<(), EditError> {
    let Value::Mapping(m) = item else {
        return Ok(());
    };
    let old = match old {
        Some(Value::Mapping(o)) => Some(o),
        _ => None,
    };
    let old_str = |f: &str| -> Vec<&str> {
        match old.and_then(|o| o.get(f)) {
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Sequence(l)) => l.iter().filter_map(Value::as_str).collect(),
            Some(Value::Mapping(h)) => h.iter().filter_map(|(_, v)| v.as_str()).collect(),
            _ => Vec::new(),
        }
    };
    for s in secrets {
        match *s {
            Secret::List(f) => {
                if let Some(Value::Sequence(list)) = m.get_mut(f) {
                    let olds = old_str(f);
                    for (i, v) in list.iter_mut().enumerate() {
                        if let Value::String(t) = v
                            && let Some(real) = restore(
                                t,
                                olds.iter().copied(),
                                mask_secret,
                                &format!("{path}.{f}[{i}]"),
                            )?
                        {
                            *t = real;
                        }
                    }
                }
            }
            Secret::Scalar(f) | Secret::Url(f) => {
                let mask: fn(&str) -> String = if matches!(s, Secret::Url(_)) {
                    mask_url
                } else {
                    mask_secret
                };
                if let Some(Value::String(t)) = m.get_mut(f)
                    && let Some(real) = restore(t, old_str(f), mask, &format!("{path}.{f}"))?
                {
                    *t = real;
                }
            }
            Secret::Values(f) => {
                let olds = old_str(f);
                if let Some(Value::Mapping(h)) = m.get_mut(f) {
                    for (k, v) in h.iter_mut() {
                        let name = k.as_str().unwrap_or("?");
                        if let Value::String(t) = v
                            && let Some(real) = restore(
                                t,
                                olds.iter().copied(),
                                mask_secret,
                                &format!("{path}.{f}.{name}"),
                            )?
                        {
                            *t = real;
                        }
                    }
                }
            }
        }
    }
    Ok(())
}
