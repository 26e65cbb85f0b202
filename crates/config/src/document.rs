//! The configuration as its author wrote it: the YAML tree before `${ENV}`
//! expansion, which the admin API edits and writes back. Resources
//! (`providers`, `routes`, `consumers`, `rateLimits`) are found by their
//! key (`id` or `name`); secrets are shown masked and a masked value sent
//! back keeps the secret it masks. Values that came from `${ENV}` stay
//! references: the tree is never expanded.

use serde_norway::{Mapping, Value};
use switchyard_providers::mask_credential;

use crate::access::mask_url_password;

/// A top-level list of keyed objects the admin API serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    Providers,
    Routes,
    Consumers,
    RateLimits,
}

impl Resource {
    pub const ALL: [Resource; 4] = [
        Resource::Providers,
        Resource::Routes,
        Resource::Consumers,
        Resource::RateLimits,
    ];

    /// The field of the document (and the admin path segment).
    pub fn field(self) -> &'static str {
        match self {
            Resource::Providers => "providers",
            Resource::Routes => "routes",
            Resource::Consumers => "consumers",
            Resource::RateLimits => "rateLimits",
        }
    }

    /// The field naming each object.
    pub fn key(self) -> &'static str {
        match self {
            Resource::Providers => "id",
            _ => "name",
        }
    }

    /// One object, for messages ("provider", "route", ...).
    pub fn singular(self) -> &'static str {
        match self {
            Resource::Providers => "provider",
            Resource::Routes => "route",
            Resource::Consumers => "consumer",
            Resource::RateLimits => "rate limit",
        }
    }

    pub fn from_field(s: &str) -> Option<Resource> {
        Resource::ALL.into_iter().find(|r| r.field() == s)
    }

    fn secrets(self) -> &'static [Secret] {
        match self {
            Resource::Providers => PROVIDER_SECRETS,
            Resource::Consumers => &[Secret::List("keys")],
            _ => &[],
        }
    }
}

/// Where a secret sits inside an object.
#[derive(Clone, Copy)]
enum Secret {
    /// A list of secrets (`apiTokens`, `keys`).
    List(&'static str),
    /// One secret string.
    Scalar(&'static str),
    /// A URL whose password is secret.
    Url(&'static str),
    /// A map whose values may all be secrets (`headers`).
    Values(&'static str),
}

const PROVIDER_SECRETS: &[Secret] = &[
    Secret::List("apiTokens"),
    Secret::Scalar("awsAccessKey"),
    Secret::Scalar("awsSecretKey"),
    Secret::Scalar("awsSessionToken"),
    Secret::Scalar("vertexAuthKey"),
    Secret::Values("headers"),
];

/// Top-level objects holding secrets.
const TOP_SECRETS: &[(&str, Secret)] = &[
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

/// A change the document refused.
#[derive(Debug, PartialEq, Eq)]
pub enum EditError {
    NotFound(String),
    AlreadyExists(String),
    /// The body is not an object of the right shape; `path` names where.
    Invalid {
        path: String,
        message: String,
    },
}

impl std::fmt::Display for EditError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EditError::NotFound(m) | EditError::AlreadyExists(m) => f.write_str(m),
            EditError::Invalid { path, message } if path.is_empty() => f.write_str(message),
            EditError::Invalid { path, message } => write!(f, "{path}: {message}"),
        }
    }
}

fn invalid(path: impl Into<String>, message: impl Into<String>) -> EditError {
    EditError::Invalid {
        path: path.into(),
        message: message.into(),
    }
}

/// The document tree.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    root: Mapping,
}

impl Document {
    /// Parse YAML (JSON is YAML too). An empty text is an empty document.
    pub fn parse(text: &str) -> Result<Document, String> {
        if text.trim().is_empty() {
            return Ok(Document {
                root: Mapping::new(),
            });
        }
        match serde_norway::from_str::<Value>(text) {
            Ok(Value::Mapping(root)) => Ok(Document { root }),
            Ok(Value::Null) => Ok(Document {
                root: Mapping::new(),
            }),
            Ok(_) => Err("the configuration must be a mapping (providers:, routes:, ...)".into()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// A document from a JSON value (a request body).
    pub fn from_json(v: serde_json::Value) -> Result<Document, String> {
        match serde_norway::to_value(v) {
            Ok(Value::Mapping(root)) => Ok(Document { root }),
            Ok(_) => Err("the configuration must be an object (providers, routes, ...)".into()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// The YAML text (comments of the original file are not kept).
    pub fn to_yaml(&self) -> Result<String, String> {
        serde_norway::to_string(&self.root).map_err(|e| e.to_string())
    }

    /// The whole document with every secret masked.
    pub fn masked(&self) -> Document {
        let mut root = self.root.clone();
        for r in Resource::ALL {
            if let Some(Value::Sequence(items)) = root.get_mut(r.field()) {
                for item in items {
                    mask_object(item, r.secrets());
                }
            }
        }
        for (field, secret) in TOP_SECRETS {
            if let Some(v) = root.get_mut(*field) {
                mask_object(v, std::slice::from_ref(secret));
            }
        }
        Document { root }
    }

    /// Masked secrets in `self` (a document sent back) replaced by the
    /// values of `current` they mask. A masked value that masks none of
    /// them is an error: the whole secret must be pasted.
    pub fn unmask_from(&mut self, current: &Document) -> Result<(), EditError> {
        for r in Resource::ALL {
            let Some(Value::Sequence(items)) = self.root.get_mut(r.field()) else {
                continue;
            };
            for (i, item) in items.iter_mut().enumerate() {
                let key = key_of(item, r.key()).map(str::to_string);
                let old = key.as_deref().and_then(|k| current.get(r, k));
                let path = format!("{}[{i}]", r.field());
                unmask_object(item, old, r.secrets(), &path)?;
            }
        }
        for (field, secret) in TOP_SECRETS {
            if let Some(v) = self.root.get_mut(*field) {
                unmask_object(
                    v,
                    current.root.get(*field),
                    std::slice::from_ref(secret),
                    field,
                )?;
            }
        }
        Ok(())
    }

    fn items(&self, r: Resource) -> &[Value] {
        match self.root.get(r.field()) {
            Some(Value::Sequence(items)) => items,
            _ => &[],
        }
    }

    fn items_mut(&mut self, r: Resource) -> &mut Vec<Value> {
        let slot = self
            .root
            .entry(Value::String(r.field().into()))
            .or_insert(Value::Sequence(Vec::new()));
        if !matches!(slot, Value::Sequence(_)) {
            *slot = Value::Sequence(Vec::new());
        }
        match slot {
            Value::Sequence(items) => items,
            _ => unreachable!("just made a sequence"),
        }
    }

    /// The objects of `r`, secrets masked, as JSON.
    pub fn list(&self, r: Resource) -> Vec<serde_json::Value> {
        self.items(r)
            .iter()
            .map(|item| {
                let mut item = item.clone();
                mask_object(&mut item, r.secrets());
                to_json(&item)
            })
            .collect()
    }

    /// The object of `r` named `key`, as written.
    pub fn get(&self, r: Resource, key: &str) -> Option<&Value> {
        self.items(r)
            .iter()
            .find(|item| key_of(item, r.key()) == Some(key))
    }

    /// The object of `r` named `key`, secrets masked, as JSON.
    pub fn get_masked(&self, r: Resource, key: &str) -> Option<serde_json::Value> {
        self.get(r, key).map(|item| {
            let mut item = item.clone();
            mask_object(&mut item, r.secrets());
            to_json(&item)
        })
    }

    fn position(&self, r: Resource, key: &str) -> Option<usize> {
        self.items(r)
            .iter()
            .position(|item| key_of(item, r.key()) == Some(key))
    }

    fn not_found(r: Resource, key: &str) -> EditError {
        EditError::NotFound(format!(
            "no {} named `{key}`; GET /admin/{} lists them",
            r.singular(),
            r.field()
        ))
    }

    /// Add an object; its key must be new. Returns the key.
    pub fn insert(&mut self, r: Resource, item: serde_json::Value) -> Result<String, EditError> {
        let index = self.items(r).len();
        let path = format!("{}[{index}]", r.field());
        let mut item = object(item, &path)?;
        let Some(key) = key_of(&item, r.key()).map(str::to_string) else {
            return Err(invalid(
                format!("{path}.{}", r.key()),
                format!("is required: every {} has one", r.singular()),
            ));
        };
        if self.position(r, &key).is_some() {
            return Err(EditError::AlreadyExists(format!(
                "a {} named `{key}` exists; PUT /admin/{}/{key} replaces it",
                r.singular(),
                r.field()
            )));
        }
        unmask_object(&mut item, None, r.secrets(), &path)?;
        self.items_mut(r).push(item);
        Ok(key)
    }

    /// Replace the object named `key`. The body's key may be omitted (it
    /// stays `key`) or name the object anew (a rename). Masked secrets keep
    /// the values they mask.
    pub fn replace(
        &mut self,
        r: Resource,
        key: &str,
        item: serde_json::Value,
    ) -> Result<String, EditError> {
        let i = self
            .position(r, key)
            .ok_or_else(|| Document::not_found(r, key))?;
        let path = format!("{}[{i}]", r.field());
        let mut item = object(item, &path)?;
        let new_key = match key_of(&item, r.key()) {
            Some(k) => k.to_string(),
            None => {
                if let Value::Mapping(m) = &mut item {
                    m.insert(Value::String(r.key().into()), Value::String(key.into()));
                }
                key.to_string()
            }
        };
        if new_key != key && self.position(r, &new_key).is_some() {
            return Err(EditError::AlreadyExists(format!(
                "cannot rename `{key}` to `{new_key}`: a {} named `{new_key}` exists",
                r.singular()
            )));
        }
        let old = self.items(r)[i].clone();
        unmask_object(&mut item, Some(&old), r.secrets(), &path)?;
        self.items_mut(r)[i] = item;
        Ok(new_key)
    }

    /// Remove the object named `key`.
    pub fn remove(&mut self, r: Resource, key: &str) -> Result<(), EditError> {
        let i = self
            .position(r, key)
            .ok_or_else(|| Document::not_found(r, key))?;
        self.items_mut(r).remove(i);
        Ok(())
    }

    /// Append `secret` to the list `field` (`apiTokens`, `keys`) of the
    /// object named `key`.
    pub fn add_secret(
        &mut self,
        r: Resource,
        key: &str,
        field: &str,
        secret: &str,
    ) -> Result<(), EditError> {
        let i = self
            .position(r, key)
            .ok_or_else(|| Document::not_found(r, key))?;
        let path = format!("{}[{i}].{field}", r.field());
        if secret.trim().is_empty() || secret.contains('…') {
            return Err(invalid(
                path,
                "paste the whole secret (it is empty or masked)",
            ));
        }
        let list = list_mut(&mut self.items_mut(r)[i], field, &path)?;
        if list.iter().any(|v| v.as_str() == Some(secret)) {
            return Err(EditError::AlreadyExists(format!(
                "{path} already holds this secret"
            )));
        }
        list.push(Value::String(secret.into()));
        Ok(())
    }

    /// Remove one entry of the list `field`: `which` is its 0-based index
    /// or its masked form.
    pub fn remove_secret(
        &mut self,
        r: Resource,
        key: &str,
        field: &str,
        which: &str,
    ) -> Result<(), EditError> {
        let i = self
            .position(r, key)
            .ok_or_else(|| Document::not_found(r, key))?;
        let path = format!("{}[{i}].{field}", r.field());
        let list = list_mut(&mut self.items_mut(r)[i], field, &path)?;
        let at = match which.parse::<usize>() {
            Ok(n) if n < list.len() => Some(n),
            Ok(_) => None,
            Err(_) => list
                .iter()
                .position(|v| v.as_str().is_some_and(|s| mask_secret(s) == which)),
        };
        let Some(at) = at else {
            return Err(EditError::NotFound(format!(
                "{path} has no entry `{which}` (give a 0-based index or the masked form; it has {})",
                list.len()
            )));
        };
        list.remove(at);
        Ok(())
    }

    /// The masked entries of the list `field` of the object named `key`.
    pub fn secrets_of(&self, r: Resource, key: &str, field: &str) -> Vec<String> {
        match self.get(r, key) {
            Some(Value::Mapping(m)) => match m.get(field) {
                Some(Value::Sequence(items)) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(mask_secret)
                    .collect(),
                _ => Vec::new(),
            },
            _ => Vec::new(),
        }
    }

    /// The whole document as JSON (secrets as they are: mask first).
    pub fn to_json(&self) -> serde_json::Value {
        to_json(&Value::Mapping(self.root.clone()))
    }
}

fn to_json(v: &Value) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

fn key_of<'a>(item: &'a Value, key: &str) -> Option<&'a str> {
    match item {
        Value::Mapping(m) => m.get(key).and_then(Value::as_str),
        _ => None,
    }
}

fn object(item: serde_json::Value, path: &str) -> Result<Value, EditError> {
    if !item.is_object() {
        return Err(invalid(path, "must be a JSON object"));
    }
    serde_norway::to_value(item).map_err(|e| invalid(path, e.to_string()))
}

fn list_mut<'a>(
    item: &'a mut Value,
    field: &str,
    path: &str,
) -> Result<&'a mut Vec<Value>, EditError> {
    let Value::Mapping(m) = item else {
        return Err(invalid(path, "the object is not a mapping"));
    };
    let slot = m
        .entry(Value::String(field.into()))
        .or_insert(Value::Sequence(Vec::new()));
    match slot {
        Value::Sequence(list) => Ok(list),
        Value::Null => {
            *slot = Value::Sequence(Vec::new());
            match slot {
                Value::Sequence(list) => Ok(list),
                _ => unreachable!("just made a sequence"),
            }
        }
        _ => Err(invalid(path, "is not a list")),
    }
}

fn mask_object(item: &mut Value, secrets: &[Secret]) {
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

fn unmask_object(
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TEXT: &str = r#"
providers:
  - id: a
    type: openai
    apiTokens: ["sk-live-aaaaaaaaaaaa1111", "${OPENAI_KEY}"]
    headers: { x-extra: "secret-header-value-9999" }
routes:
  - { name: r, provider: a }
consumers:
  - { name: team, keys: ["sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"] }
admin: { listen: "127.0.0.1:8001", token: "adm-0123456789abcdef" }
redis: { url: "redis://:pw-secret@127.0.0.1:6379" }
"#;

    #[test]
    fn masks_every_secret_and_keeps_env_references() {
        let d = Document::parse(TEXT).unwrap();
        let shown = serde_json::to_string(&d.masked().to_json()).unwrap();
        for secret in [
            "aaaa1111",
            "secret-header",
            "0123456789abcdef0123",
            "adm-0123",
            "pw-secret",
        ] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("sk-…1111"), "{shown}");
        assert!(shown.contains("${OPENAI_KEY}"), "{shown}");
        assert!(shown.contains("sha256:…cdef"), "{shown}");
        assert_eq!(
            d.list(Resource::Providers)[0]["apiTokens"],
            json!(["sk-…1111", "${OPENAI_KEY}"])
        );
    }

    #[test]
    fn a_masked_document_sent_back_is_the_original() {
        let d = Document::parse(TEXT).unwrap();
        let mut back = Document::from_json(d.masked().to_json()).unwrap();
        back.unmask_from(&d).unwrap();
        assert_eq!(back, d);
        // A masked value that masks nothing current is refused.
        let mut j = d.masked().to_json();
        j["providers"][0]["apiTokens"][0] = json!("sk-…9999");
        let mut bad = Document::from_json(j).unwrap();
        let e = bad.unmask_from(&d).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("providers[0].apiTokens[0]: `sk-…9999`"),
            "{e}"
        );
    }

    #[test]
    fn resources_are_added_replaced_and_removed_by_key() {
        let mut d = Document::parse(TEXT).unwrap();
        let p = json!({"id": "b", "type": "deepseek", "apiTokens": ["sk-b-000000000000"]});
        assert_eq!(d.insert(Resource::Providers, p.clone()).unwrap(), "b");
        assert!(matches!(
            d.insert(Resource::Providers, p),
            Err(EditError::AlreadyExists(_))
        ));
        assert!(matches!(
            d.insert(Resource::Providers, json!({"type": "openai"})),
            Err(EditError::Invalid { path, .. }) if path == "providers[2].id"
        ));
        // PUT with the token masked keeps it; the key may be left out.
        let mut shown = d.get_masked(Resource::Providers, "a").unwrap();
        shown.as_object_mut().unwrap().remove("id");
        shown["type"] = json!("azure");
        d.replace(Resource::Providers, "a", shown).unwrap();
        let a = d.get(Resource::Providers, "a").unwrap();
        assert_eq!(a["type"].as_str(), Some("azure"));
        assert_eq!(a["apiTokens"][0].as_str(), Some("sk-live-aaaaaaaaaaaa1111"));
        // Tokens one at a time.
        d.add_secret(Resource::Providers, "b", "apiTokens", "sk-b-111111111111")
            .unwrap();
        assert_eq!(
            d.secrets_of(Resource::Providers, "b", "apiTokens"),
            ["sk-…0000", "sk-…1111"]
        );
        d.remove_secret(Resource::Providers, "b", "apiTokens", "sk-…0000")
            .unwrap();
        d.remove_secret(Resource::Providers, "b", "apiTokens", "0")
            .unwrap();
        assert!(
            d.secrets_of(Resource::Providers, "b", "apiTokens")
                .is_empty()
        );
        assert!(matches!(
            d.remove_secret(Resource::Providers, "b", "apiTokens", "0"),
            Err(EditError::NotFound(_))
        ));
        d.remove(Resource::Routes, "r").unwrap();
        assert!(matches!(
            d.remove(Resource::Routes, "r"),
            Err(EditError::NotFound(_))
        ));
        let yaml = d.to_yaml().unwrap();
        assert!(yaml.contains("${OPENAI_KEY}"), "{yaml}");
        assert_eq!(Document::parse(&yaml).unwrap(), d);
    }
}
