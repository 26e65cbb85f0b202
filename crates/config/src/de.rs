//! Deserialisation helpers: `${ENV}` expansion in strings, durations that
//! accept milliseconds or `5s`/`250ms`, and ordered string maps.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

/// Expand `${VAR}` and `${VAR:-default}` in `s`; `$${` is a literal `${`.
/// An unset variable without a default is an error naming it.
pub fn expand_env(s: &str) -> Result<String, String> {
    expand_with(s, |k| std::env::var(k).ok())
}

pub(crate) fn expand_with(
    s: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, String> {
    if !s.contains('$') {
        return Ok(s.to_string());
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        if let Some(r) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = r;
        } else if let Some(r) = after.strip_prefix("${") {
            let Some(end) = r.find('}') else {
                return Err(format!("`${{` without a closing `}}` in \"{s}\""));
            };
            let inner = &r[..end];
            let (name, default) = match inner.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (inner, None),
            };
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!(
                    "`${{{inner}}}` is not a valid environment variable reference"
                ));
            }
            match (lookup(name), default) {
                (Some(v), _) => out.push_str(&v),
                (None, Some(d)) => out.push_str(d),
                (None, None) => {
                    return Err(format!(
                        "environment variable {name} is not set (referenced as ${{{name}}}); set it or write ${{{name}:-default}}"
                    ));
                }
            }
            rest = &r[end + 1..];
        } else {
            out.push('$');
            rest = &after[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

pub(crate) fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    expand_env(&s).map_err(de::Error::custom)
}

pub(crate) fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Option::<String>::deserialize(d)? {
        Some(s) => expand_env(&s).map(Some).map_err(de::Error::custom),
        None => Ok(None),
    }
}

pub(crate) fn strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Vec::<String>::deserialize(d)?
        .into_iter()
        .map(|s| expand_env(&s).map_err(de::Error::custom))
        .collect()
}

pub(crate) fn opt_strings<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Vec<String>>, D::Error> {
    match Option::<Vec<String>>::deserialize(d)? {
        Some(v) => v
            .into_iter()
            .map(|s| expand_env(&s).map_err(de::Error::custom))
            .collect::<Result<_, _>>()
            .map(Some),
        None => Ok(None),
    }
}

/// A YAML mapping of strings, in the order written, values env-expanded.
pub(crate) fn ordered_map<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Vec<(String, String)>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Vec<(String, String)>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a mapping of strings to strings")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
            let mut out: Vec<(String, String)> = Vec::new();
            while let Some((k, v)) = m.next_entry::<String, String>()? {
                if out.iter().any(|(e, _)| *e == k) {
                    return Err(de::Error::custom(format!("duplicate key `{k}`")));
                }
                let v = expand_env(&v).map_err(de::Error::custom)?;
                out.push((k, v));
            }
            Ok(out)
        }
    }
    d.deserialize_map(V)
}

/// Parse `5s`, `250ms`, `1.5s`, `2m`, `1h`, `30d`, or a bare number of milliseconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().map_err(|_| {
        format!("`{s}` is not a duration; write e.g. 250ms, 5s, 2m, 1h or a number of milliseconds")
    })?;
    let ms = match unit.trim() {
        "" | "ms" => n,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        "h" => n * 3_600_000.0,
        "d" => n * 86_400_000.0,
        u => {
            return Err(format!(
                "unknown duration unit `{u}` in `{s}`; use ms, s, m, h or d"
            ));
        }
    };
    if !ms.is_finite() || !(0.0..=1e12).contains(&ms) {
        return Err(format!("`{s}` is out of range"));
    }
    Ok(Duration::from_micros((ms * 1000.0).round() as u64))
}

struct DurVisitor;

impl Visitor<'_> for DurVisitor {
    type Value = Duration;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration: milliseconds as a number, or a string such as \"5s\" or \"250ms\"")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
        Ok(Duration::from_millis(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
        u64::try_from(v)
            .map(Duration::from_millis)
            .map_err(|_| E::custom("a duration cannot be negative"))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
        parse_duration(&v.to_string()).map_err(E::custom)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
        let v = expand_env(v).map_err(E::custom)?;
        parse_duration(&v).map_err(E::custom)
    }
}

pub(crate) fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    d.deserialize_any(DurVisitor)
}

pub(crate) fn opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    struct Opt;
    impl<'de> Visitor<'de> for Opt {
        type Value = Option<Duration>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            DurVisitor.expecting(f)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            duration(d).map(Some)
        }
    }
    d.deserialize_option(Opt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_expansion() {
        let look = |k: &str| (k == "KEY").then(|| "sk-123".to_string());
        assert_eq!(expand_with("${KEY}", look).unwrap(), "sk-123");
        assert_eq!(expand_with("a-${KEY}-b", look).unwrap(), "a-sk-123-b");
        assert_eq!(expand_with("${NOPE:-dflt}", look).unwrap(), "dflt");
        assert_eq!(expand_with("$${KEY} $5", look).unwrap(), "${KEY} $5");
        assert!(
            expand_with("${NOPE}", look)
                .unwrap_err()
                .contains("NOPE is not set")
        );
        assert!(expand_with("${KEY", look).is_err());
        assert!(expand_with("${A B}", look).is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("30000").unwrap(), Duration::from_secs(30));
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("").is_err());
    }
}
