//! Tests of masking, unmasking and editing a document.

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
