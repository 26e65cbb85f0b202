//! The configuration as its author wrote it: the YAML tree before `${ENV}`
//! expansion, which the admin API edits and writes back. Resources
//! (`providers`, `routes`, `consumers`, `rateLimits`) are found by their
//! key (`id` or `name`); secrets are shown masked and a masked value sent
//! back keeps the secret it masks. Values that came from `${ENV}` stay
//! references: the tree is never expanded.

mod secrets;

use serde_norway::{Mapping, Value};

pub use secrets::mask_secret;
use secrets::{PROVIDER_SECRETS, Secret, TOP_SECRETS, mask_object, unmask_object};

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

#[cfg(test)]
mod tests;
