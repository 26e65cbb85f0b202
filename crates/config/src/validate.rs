//! Checks that need the whole document: references, uniqueness, values
//! the schema alone cannot express.

use std::collections::HashSet;
use std::net::SocketAddr;

use switchyard_providers::{Api, Endpoint, lookup, type_names};
use switchyard_routing::{ModelMapper, StatusSet};

use crate::schema::Config;

/// One thing wrong with the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Where, e.g. `providers[1] (deepseek).apiTokens[0]`; empty for syntax
    /// errors whose message carries the line.
    pub path: String,
    pub message: String,
}

/// Everything wrong with a configuration, all at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub source: String,
    pub problems: Vec<Problem>,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.problems.len();
        writeln!(
            f,
            "{}: {n} problem{} found",
            self.source,
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            if p.path.is_empty() {
                writeln!(f, "  - {}", p.message)?;
            } else {
                writeln!(f, "  - {}: {}", p.path, p.message)?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

pub(crate) fn valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

pub(crate) fn valid_header_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

impl Config {
    pub(crate) fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        let mut add = |path: String, message: String| out.push(Problem { path, message });

        if let Err(e) = self.server.listen.parse::<SocketAddr>() {
            add(
                "server.listen".into(),
                format!(
                    "`{}` is not an address like 127.0.0.1:8080 ({e})",
                    self.server.listen
                ),
            );
        }
        if self.server.max_body_bytes == 0 {
            add(
                "server.maxBodyBytes".into(),
                "must be greater than 0".into(),
            );
        }
        if self.server.max_connections == 0 {
            add(
                "server.maxConnections".into(),
                "must be greater than 0".into(),
            );
        }
        if self.server.workers == Some(0) {
            add(
                "server.workers".into(),
                "must be at least 1 (omit it to use every core available)".into(),
            );
        }
        if self.server.body_read_timeout.is_zero() {
            add(
                "server.bodyReadTimeout".into(),
                "must be greater than 0, e.g. 60s".into(),
            );
        }
        if self.server.models_refresh_interval.is_zero() {
            add(
                "server.modelsRefreshInterval".into(),
                "must be greater than 0, e.g. 10m".into(),
            );
        }
        if let Some(admin) = &self.admin {
            match admin.listen.parse::<SocketAddr>() {
                Err(e) => add(
                    "admin.listen".into(),
                    format!(
                        "`{}` is not an address like 127.0.0.1:8001 ({e})",
                        admin.listen
                    ),
                ),
                Ok(a) if !admin.may_listen_on(&a) => add(
                    "admin.listen".into(),
                    format!(
                        "`{}` is reachable from other hosts but admin.token is not set, so anyone could change the gateway; set admin.token (e.g. \"${{SWITCHYARD_ADMIN_TOKEN}}\") or listen on 127.0.0.1",
                        admin.listen
                    ),
                ),
                Ok(_) => {}
            }
            if admin.token.as_deref().is_some_and(|t| t.trim().is_empty()) {
                add(
                    "admin.token".into(),
                    "is empty; remove it, or set a long random token".into(),
                );
            }
            for (i, p) in admin.open_paths.iter().enumerate() {
                if !p.starts_with('/') || p.starts_with("/admin") {
                    add(
                        format!("admin.openPaths[{i}]"),
                        format!(
                            "`{p}` cannot be opened: list paths such as /health or /metrics (never /admin/...)"
                        ),
                    );
                }
            }
        }

        if let Some(otel) = &self.otel {
            match otel.endpoint.parse::<http::Uri>() {
                Ok(u) if matches!(u.scheme_str(), Some("http" | "https")) && u.host().is_some() => {
                }
                _ => add(
                    "otel.endpoint".into(),
                    format!(
                        "`{}` is not an http(s) URL like http://127.0.0.1:4318 (the collector's OTLP/HTTP port)",
                        otel.endpoint
                    ),
                ),
            }
            if !(0.0..=1.0).contains(&otel.sample_ratio) {
                add(
                    "otel.sampleRatio".into(),
                    format!("{} must be between 0.0 and 1.0", otel.sample_ratio),
                );
            }
            if otel.service_name.is_empty() {
                add("otel.serviceName".into(), "must not be empty".into());
            }
        }
        if self.log.access.is_empty() {
            add(
                "log.access".into(),
                "must be `stdout`, `stderr`, `off` or a file path".into(),
            );
        }
        if self.providers.is_empty() {
            add(
                "providers".into(),
                "at least one provider is required".into(),
            );
        }
        let mut ids = HashSet::new();
        for (i, p) in self.providers.iter().enumerate() {
            let at = format!("providers[{i}] ({})", p.id);
            if !valid_id(&p.id) {
                add(
                    format!("providers[{i}].id"),
                    format!(
                        "`{}` must be 1-64 characters of letters, digits, `-`, `_` or `.`",
                        p.id
                    ),
                );
            } else if !ids.insert(p.id.as_str()) {
                add(
                    format!("{at}.id"),
                    format!("duplicate provider id `{}`; ids must be unique", p.id),
                );
            }
            let Some(kind) = lookup(&p.kind) else {
                let known: Vec<_> = type_names().collect();
                add(
                    format!("{at}.type"),
                    format!(
                        "unknown provider type `{}`; known types: {}",
                        p.kind,
                        known.join(", ")
                    ),
                );
                continue;
            };
            if let Err(e) = Endpoint::build(kind, &p.endpoint_options()) {
                add(format!("{at}.{}", e.field), e.message);
            }
            if let Some(key) = &p.vertex_auth_key {
                if p.kind != "vertex" {
                    add(
                        format!("{at}.vertexAuthKey"),
                        "only applies to type vertex".into(),
                    );
                } else if let Err(e) =
                    switchyard_providers::vertex_auth::ServiceAccount::from_json(key)
                {
                    add(format!("{at}.vertexAuthKey"), e);
                } else if !p.api_tokens.is_empty() {
                    add(
                        format!("{at}.apiTokens"),
                        "use either apiTokens (express mode) or vertexAuthKey, not both".into(),
                    );
                }
            }
            if p.kind == "bedrock" {
                match (&p.aws_access_key, &p.aws_secret_key) {
                    (Some(_), Some(_)) | (None, None) => {}
                    _ => add(
                        format!("{at}.awsSecretKey"),
                        "awsAccessKey and awsSecretKey go together".into(),
                    ),
                }
                if p.aws_access_key.is_none() && p.api_tokens.is_empty() {
                    add(
                        format!("{at}.apiTokens"),
                        "type bedrock needs awsAccessKey and awsSecretKey (SigV4), or Bedrock API keys in apiTokens".into(),
                    );
                }
                if p.aws_access_key.is_some() && !p.api_tokens.is_empty() {
                    add(format!("{at}.apiTokens"), "use either apiTokens (Bedrock API keys) or awsAccessKey/awsSecretKey, not both".into());
                }
            }
            if kind.token_required() && p.api_tokens.is_empty() && p.vertex_auth_key.is_none() {
                add(
                    format!("{at}.apiTokens"),
                    format!("type {} needs at least one API token", p.kind),
                );
            }
            let mut seen = HashSet::new();
            for (t, token) in p.api_tokens.iter().enumerate() {
                if token.trim().is_empty() {
                    add(
                        format!("{at}.apiTokens[{t}]"),
                        "is empty; remove it or set the variable it references".into(),
                    );
                } else if token.trim() != token {
                    add(
                        format!("{at}.apiTokens[{t}]"),
                        "has leading or trailing whitespace".into(),
                    );
                } else if token.bytes().any(|b| b.is_ascii_control()) {
                    add(
                        format!("{at}.apiTokens[{t}]"),
                        "contains control characters".into(),
                    );
                } else if !seen.insert(token.as_str()) {
                    add(format!("{at}.apiTokens[{t}]"), "is listed twice".into());
                }
            }
            if let Err(e) = ModelMapper::new(&p.model_mapping) {
                add(format!("{at}.modelMapping"), e.to_string());
            }
            if let Some(proto) = &p.protocol
                && proto != "openai"
                && proto != "original"
            {
                add(
                    format!("{at}.protocol"),
                    format!("`{proto}` must be `openai` or `original`"),
                );
            }
            if p.timeout.is_zero() {
                add(format!("{at}.timeout"), "must be greater than 0".into());
            }
            if p.first_byte_timeout.is_some_and(|d| d.is_zero()) {
                add(
                    format!("{at}.firstByteTimeout"),
                    "must be greater than 0".into(),
                );
            }
            if let Some(f) = &p.failover {
                if f.failure_threshold == 0 {
                    add(
                        format!("{at}.failover.failureThreshold"),
                        "must be at least 1".into(),
                    );
                }
                if f.success_threshold == 0 {
                    add(
                        format!("{at}.failover.successThreshold"),
                        "must be at least 1".into(),
                    );
                }
                if f.health_check_interval.is_zero() {
                    add(
                        format!("{at}.failover.healthCheckInterval"),
                        "must be greater than 0".into(),
                    );
                }
                if f.health_check_timeout.is_zero() {
                    add(
                        format!("{at}.failover.healthCheckTimeout"),
                        "must be greater than 0".into(),
                    );
                }
                if f.cooldown.is_some_and(|c| c.is_zero()) {
                    add(
                        format!("{at}.failover.cooldown"),
                        "must be greater than 0".into(),
                    );
                }
                if let Err(e) = StatusSet::parse(&f.failover_on_status) {
                    add(format!("{at}.failover.failoverOnStatus"), e);
                } else if let Err(e) = p.health_policy() {
                    add(format!("{at}.failover"), e);
                }
            }
            if let Some(r) = &p.retry_on_failure {
                if let Err(e) = StatusSet::parse(&r.retry_on_status) {
                    add(format!("{at}.retryOnFailure.retryOnStatus"), e);
                }
                if r.retry_timeout.is_zero() {
                    add(
                        format!("{at}.retryOnFailure.retryTimeout"),
                        "must be greater than 0".into(),
                    );
                }
            }
            for (name, value) in &p.headers {
                let lower = name.to_ascii_lowercase();
                if !valid_header_name(name) {
                    add(
                        format!("{at}.headers"),
                        format!("`{name}` is not a valid header name"),
                    );
                } else if matches!(
                    lower.as_str(),
                    "host" | "content-length" | "transfer-encoding" | "connection"
                ) {
                    add(
                        format!("{at}.headers"),
                        format!("`{name}` is set by the gateway and cannot be overridden"),
                    );
                }
                if value.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
                    add(
                        format!("{at}.headers.{name}"),
                        "the value contains control characters".into(),
                    );
                }
            }
        }

        if self.routes.is_empty() && self.providers.len() > 1 {
            add(
                "routes".into(),
                "with more than one provider, add routes saying which models go where (with one provider, every model goes to it)".into(),
            );
        }
        let mut names = HashSet::new();
        for (i, r) in self.routes.iter().enumerate() {
            let at = format!("routes[{i}] ({})", r.name);
            if r.name.trim().is_empty() {
                add(format!("routes[{i}].name"), "must not be empty".into());
            } else if !names.insert(r.name.as_str()) {
                add(
                    format!("{at}.name"),
                    format!("duplicate route name `{}`", r.name),
                );
            }
            if !self.providers.iter().any(|p| p.id == r.provider) {
                let known: Vec<_> = self.providers.iter().map(|p| p.id.as_str()).collect();
                add(
                    format!("{at}.provider"),
                    format!(
                        "no provider has id `{}`; configured ids: {}",
                        r.provider,
                        known.join(", ")
                    ),
                );
            }
            if let Some(fb) = &r.fallback {
                if let Err(e) = StatusSet::parse(&fb.on_status) {
                    add(format!("{at}.fallback.onStatus"), e);
                }
                if fb.targets.is_empty() {
                    add(
                        format!("{at}.fallback.targets"),
                        "list at least one { provider, model } to fall back to".into(),
                    );
                }
                for (t, target) in fb.targets.iter().enumerate() {
                    if !self.providers.iter().any(|p| p.id == target.provider) {
                        add(
                            format!("{at}.fallback.targets[{t}].provider"),
                            format!("no provider has id `{}`", target.provider),
                        );
                    }
                    if target.model.as_deref().is_some_and(|m| m.trim().is_empty()) {
                        add(
                            format!("{at}.fallback.targets[{t}].model"),
                            "is empty; omit it to use the requested model".into(),
                        );
                    }
                }
            }
            for (m, pat) in r.models.iter().enumerate() {
                if pat.trim().is_empty() {
                    add(
                        format!("{at}.models[{m}]"),
                        "is empty; omit `models` to match every model".into(),
                    );
                }
            }
            for (c, name) in r.allow.iter().flatten().enumerate() {
                if !self.consumers.iter().any(|k| &k.name == name) {
                    add(
                        format!("{at}.allow[{c}]"),
                        format!("no consumer is named `{name}`"),
                    );
                }
            }
        }
        if let Some(id) = &self.files_provider {
            match self.providers.iter().find(|p| &p.id == id) {
                None => add("filesProvider".into(), format!("no provider has id `{id}`")),
                Some(p)
                    if lookup(&p.kind)
                        .is_some_and(|k| !k.supports(Api::Files) && !k.supports(Api::Batches)) =>
                {
                    add(
                        "filesProvider".into(),
                        format!(
                            "provider `{id}` (type {}) offers neither the files nor the batches API; name a provider of a type that does, such as openai or azure",
                            p.kind
                        ),
                    )
                }
                Some(_) => {}
            }
        }
        self.consumer_problems(&mut add);
        self.access_problems(&mut add);
        out
    }

    fn consumer_problems(&self, add: &mut impl FnMut(String, String)) {
        let mut names = HashSet::new();
        let mut keys = HashSet::new();
        for (i, c) in self.consumers.iter().enumerate() {
            let at = format!("consumers[{i}] ({})", c.name);
            if !valid_id(&c.name) {
                add(
                    format!("consumers[{i}].name"),
                    "must be 1-64 letters, digits, `-`, `_` or `.`".into(),
                );
            } else if !names.insert(c.name.as_str()) {
                add(
                    format!("{at}.name"),
                    format!("duplicate consumer name `{}`", c.name),
                );
            }
            if c.keys.is_empty() {
                add(
                    format!("{at}.keys"),
                    "list at least one key (`switchyard key new` makes one)".into(),
                );
            }
            for (k, key) in c.keys.iter().enumerate() {
                let digest = match key.strip_prefix("sha256:") {
                    Some(hex) => {
                        if hex.len() != 64
                            || !hex
                                .bytes()
                                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                        {
                            add(
                                format!("{at}.keys[{k}]"),
                                "a `sha256:` key must be followed by 64 lowercase hex digits (the SHA-256 of the key's UTF-8 bytes)".into(),
                            );
                            continue;
                        }
                        hex.to_string()
                    }
                    None if key.trim().is_empty() => {
                        add(format!("{at}.keys[{k}]"), "is empty".into());
                        continue;
                    }
                    None => crate::key_digest_hex(key),
                };
                if !keys.insert(digest) {
                    add(
                        format!("{at}.keys[{k}]"),
                        "this key is already given to a consumer; every key must identify one consumer".into(),
                    );
                }
            }
            for (m, pat) in c.models.iter().flatten().enumerate() {
                if pat.trim().is_empty() {
                    add(
                        format!("{at}.models[{m}]"),
                        "is empty; omit `models` to allow every model".into(),
                    );
                }
            }
        }
        for (i, h) in self.auth.key_headers.iter().enumerate() {
            if !valid_header_name(h) {
                add(
                    format!("auth.keyHeaders[{i}]"),
                    format!("`{h}` is not a valid header name"),
                );
            }
        }
        if self.auth.required == Some(true) && self.consumers.is_empty() {
            add(
                "auth.required".into(),
                "is true but no consumers are configured, so every request would be refused; add consumers".into(),
            );
        }
    }
}

#[cfg(test)]
mod tests;
