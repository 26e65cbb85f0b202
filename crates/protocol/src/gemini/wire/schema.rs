//! JSON schemas: canonical JSON Schema to Gemini's `Schema` (an OpenAPI 3.0
//! subset) and back.

use serde_json::{Map, Value, json};

/// Keys of Gemini's `Schema` (an OpenAPI 3.0 subset) that are copied as is.
const SCHEMA_KEYS: &[&str] = &[
    "format",
    "title",
    "description",
    "nullable",
    "enum",
    "maxItems",
    "minItems",
    "required",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "example",
    "propertyOrdering",
    "default",
    "minimum",
    "maximum",
];

/// Bounds on `$ref` expansion: nesting (recursive schemas) and the total
/// number of expansions (schemas that reference a definition many times).
const MAX_REF_DEPTH: usize = 8;
const MAX_REF_EXPANSIONS: usize = 256;

struct Refs {
    defs: Map<String, Value>,
    budget: std::cell::Cell<usize>,
}

/// A canonical JSON Schema as a Gemini `Schema` (for function `parameters`
/// and `responseSchema`): keys Gemini rejects (`$schema`,
/// `additionalProperties`, `strict`, `$id`, `examples`, `not`, ...) are
/// dropped, `type` is upper-cased, `["T","null"]` becomes `T` + `nullable`,
/// `oneOf` becomes `anyOf`, `const` becomes a one-value `enum`, `allOf`
/// branches are merged and local `$ref`s are expanded from `$defs` /
/// `definitions` (a reference too deep or unresolvable becomes a bare
/// `OBJECT`).
pub(crate) fn to_gemini_schema(schema: &Value) -> Value {
    let mut defs = Map::new();
    for key in ["definitions", "$defs"] {
        if let Some(Value::Object(d)) = schema.get(key) {
            for (k, v) in d {
                defs.insert(format!("#/{key}/{k}"), v.clone());
            }
        }
    }
    let refs = Refs {
        defs,
        budget: std::cell::Cell::new(MAX_REF_EXPANSIONS),
    };
    convert_schema(schema, &refs, 0)
}

fn convert_schema(v: &Value, refs: &Refs, depth: usize) -> Value {
    let Value::Object(m) = v else {
        return v.clone();
    };
    let mut out = Map::new();
    if let Some(r) = m.get("$ref").and_then(Value::as_str) {
        let left = refs.budget.get();
        let target = match refs.defs.get(r) {
            Some(t) if depth < MAX_REF_DEPTH && left > 0 => {
                refs.budget.set(left - 1);
                Some(convert_schema(t, refs, depth + 1))
            }
            _ => None,
        };
        match target {
            Some(Value::Object(t)) => out = t,
            _ => {
                out.insert("type".into(), "OBJECT".into());
            }
        }
    }
    for (k, val) in m {
        match k.as_str() {
            "type" => match val {
                Value::String(s) => {
                    out.insert("type".into(), s.to_ascii_uppercase().into());
                }
                Value::Array(types) => {
                    let names: Vec<&str> = types.iter().filter_map(Value::as_str).collect();
                    let non_null: Vec<&str> =
                        names.iter().copied().filter(|t| *t != "null").collect();
                    if non_null.len() < names.len() {
                        out.insert("nullable".into(), true.into());
                    }
                    match non_null.as_slice() {
                        [] => {
                            out.insert("type".into(), "NULL".into());
                        }
                        [one] => {
                            out.insert("type".into(), one.to_ascii_uppercase().into());
                        }
                        many => {
                            let any: Vec<Value> = many
                                .iter()
                                .map(|t| json!({"type": t.to_ascii_uppercase()}))
                                .collect();
                            out.insert("anyOf".into(), Value::Array(any));
                        }
                    }
                }
                _ => {}
            },
            "properties" => {
                if let Value::Object(props) = val {
                    let props: Map<String, Value> = props
                        .iter()
                        .map(|(name, s)| (name.clone(), convert_schema(s, refs, depth)))
                        .collect();
                    out.insert("properties".into(), Value::Object(props));
                }
            }
            "items" => {
                let item = match val {
                    Value::Array(a) => a.first(),
                    v => Some(v),
                };
                if let Some(item) = item {
                    out.insert("items".into(), convert_schema(item, refs, depth));
                }
            }
            "anyOf" | "oneOf" => {
                if let Value::Array(a) = val {
                    let any: Vec<Value> =
                        a.iter().map(|s| convert_schema(s, refs, depth)).collect();
                    out.insert("anyOf".into(), Value::Array(any));
                }
            }
            "allOf" => {
                if let Value::Array(a) = val {
                    for s in a {
                        if let Value::Object(branch) = convert_schema(s, refs, depth) {
                            for (bk, bv) in branch {
                                out.entry(bk).or_insert(bv);
                            }
                        }
                    }
                }
            }
            "const" => {
                out.entry("enum").or_insert_with(|| json!([val]));
            }
            k if SCHEMA_KEYS.contains(&k) => {
                out.insert(k.to_string(), val.clone());
            }
            _ => {}
        }
    }
    Value::Object(out)
}

/// A Gemini `Schema` as canonical JSON Schema: `type` values lower-cased
/// (`OBJECT` -> `object`); everything else is kept.
pub(crate) fn from_gemini_schema(v: &Value) -> Value {
    let Value::Object(m) = v else {
        return v.clone();
    };
    let mut out = Map::new();
    for (k, val) in m {
        let val = match (k.as_str(), val) {
            ("type", Value::String(s)) => Value::String(s.to_ascii_lowercase()),
            ("properties", Value::Object(props)) => Value::Object(
                props
                    .iter()
                    .map(|(n, s)| (n.clone(), from_gemini_schema(s)))
                    .collect(),
            ),
            ("items", s) => from_gemini_schema(s),
            ("anyOf", Value::Array(a)) => Value::Array(a.iter().map(from_gemini_schema).collect()),
            _ => val.clone(),
        };
        out.insert(k.clone(), val);
    }
    Value::Object(out)
}
