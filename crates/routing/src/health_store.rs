//! Where credential health lives: records keyed by provider id and a hash
//! of the token ([`CredentialKey`]), behind [`HealthStore`] so a shared
//! store (Redis) can replace the in-memory one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::time::Instant;

use crate::health::CredentialHealth;

/// Which record of a [`HealthStore`] a credential has: its provider id and
/// the first 128 bits of the SHA-256 of its token. Two different tokens do
/// not share a record in practice, and the token cannot be read back, so
/// keys may be printed, logged or kept in a shared store.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CredentialKey {
    provider: Box<str>,
    token_hash: [u8; 16],
}

/// The key of the record of `token` of `provider` (what a reload keeps).
pub fn credential_key(provider: &str, token: &str) -> CredentialKey {
    let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    let mut token_hash = [0u8; 16];
    for (out, b) in token_hash.iter_mut().zip(digest.as_ref()) {
        *out = *b;
    }
    CredentialKey {
        provider: provider.into(),
        token_hash,
    }
}

impl CredentialKey {
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// The token's hash, hex (32 digits).
    pub fn token_hash(&self) -> String {
        self.token_hash.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// `provider#` and the token's whole hash (32 hex digits): what a
    /// shared store names the credential by.
    pub fn member(&self) -> String {
        format!("{}#{}", self.provider, self.token_hash())
    }

    /// The key a [`CredentialKey::member`] names, if it is one.
    pub fn from_member(member: &str) -> Option<CredentialKey> {
        let (provider, hex) = member.rsplit_once('#')?;
        if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let mut token_hash = [0u8; 16];
        for (i, out) in token_hash.iter_mut().enumerate() {
            *out = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(CredentialKey {
            provider: provider.into(),
            token_hash,
        })
    }
}

/// `provider#` and the first 8 hex digits of the token's hash.
impl std::fmt::Debug for CredentialKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}#", self.provider)?;
        for b in &self.token_hash[..4] {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// Where credential health lives. The in-memory store serves one process;
/// a shared store (Redis) can keep several gateway instances in agreement.
/// Records are keyed by provider id and a hash of the token
/// ([`credential_key`]), so a configuration reload that keeps a credential
/// keeps its state, and no store holds or prints a token.
pub trait HealthStore: Send + Sync + std::fmt::Debug {
    /// The record of `token` of `provider` (made on first use).
    fn credential(&self, provider: &str, token: &str) -> Arc<CredentialHealth>;
    /// Forget records `keep` rejects (credentials removed by a reload):
    /// collect the [`credential_key`]s of the new configuration and keep
    /// those.
    fn retain(&self, keep: &dyn Fn(&CredentialKey) -> bool);
}

#[derive(Debug)]
pub struct MemoryHealthStore {
    epoch: Instant,
    map: Mutex<HashMap<CredentialKey, Arc<CredentialHealth>>>,
}

impl Default for MemoryHealthStore {
    fn default() -> Self {
        MemoryHealthStore {
            epoch: Instant::now(),
            map: Mutex::new(HashMap::new()),
        }
    }
}

impl HealthStore for MemoryHealthStore {
    fn credential(&self, provider: &str, token: &str) -> Arc<CredentialHealth> {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        map.entry(credential_key(provider, token))
            .or_insert_with(|| Arc::new(CredentialHealth::new(self.epoch)))
            .clone()
    }

    fn retain(&self, keep: &dyn Fn(&CredentialKey) -> bool) {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        map.retain(|k, _| keep(k));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_keys_by_provider_and_token() {
        let s = MemoryHealthStore::default();
        let a = s.credential("azure-east", "k1");
        assert!(Arc::ptr_eq(&a, &s.credential("azure-east", "k1")));
        assert!(!Arc::ptr_eq(&a, &s.credential("azure-west", "k1")));
        s.retain(&|k| k.provider() == "azure-west");
        assert!(!Arc::ptr_eq(&a, &s.credential("azure-east", "k1")));
    }

    #[test]
    fn store_keys_by_token_hash_and_prints_no_token() {
        const T1: &str = "sk-SECRETfirst0123456789abcd";
        const T2: &str = "sk-SECRETsecond0123456789wxyz";
        let s = MemoryHealthStore::default();
        let a1 = s.credential("oai", T1);
        let a2 = s.credential("oai", T2);
        let b1 = s.credential("other", T1);
        assert!(Arc::ptr_eq(&a1, &s.credential("oai", T1)), "same record");
        assert!(!Arc::ptr_eq(&a1, &a2), "another token, another record");
        assert!(!Arc::ptr_eq(&a1, &b1), "another provider, another record");

        let k = credential_key("oai", T1);
        assert_eq!(k, credential_key("oai", T1));
        assert_ne!(k, credential_key("oai", T2));
        assert_ne!(k, credential_key("other", T1));
        assert_eq!(k.provider(), "oai");
        // SHA-256 of the token, the first 16 bytes.
        assert_eq!(
            credential_key("p", "abc").token_hash(),
            "ba7816bf8f01cfea414140de5dae2223"
        );

        // A reload that keeps only (oai, T2) forgets the rest.
        let keep = [credential_key("oai", T2)];
        s.retain(&|k| keep.contains(k));
        assert!(Arc::ptr_eq(&a2, &s.credential("oai", T2)), "kept");
        assert!(!Arc::ptr_eq(&a1, &s.credential("oai", T1)), "forgotten");
        assert!(!Arc::ptr_eq(&b1, &s.credential("other", T1)), "forgotten");

        let dyn_store: &dyn HealthStore = &s;
        for text in [
            format!("{s:?}"),
            format!("{s:#?}"),
            format!("{dyn_store:?}"),
        ] {
            assert!(
                !text.contains("SECRET") && !text.contains("0123456789"),
                "{text}"
            );
            assert!(text.contains("oai#") && text.contains("other#"), "{text}");
        }
        assert_eq!(format!("{:?}", credential_key("p", "abc")), "p#ba7816bf");

        // A shared store's member names the provider and the whole hash.
        let m = credential_key("a#b", "abc").member();
        assert_eq!(m, "a#b#ba7816bf8f01cfea414140de5dae2223");
        assert_eq!(
            CredentialKey::from_member(&m),
            Some(credential_key("a#b", "abc"))
        );
        for bad in ["p", "p#ba78", "p#zz7816bf8f01cfea414140de5dae2223"] {
            assert_eq!(CredentialKey::from_member(bad), None, "{bad}");
        }
    }
}
