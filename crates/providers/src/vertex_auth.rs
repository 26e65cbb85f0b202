//! Google service-account credentials for Vertex AI: the signed JWT that is
//! exchanged for an OAuth access token (RFC 7523, "JWT bearer" grant).
//!
//! Pure: builds and signs the assertion and parses the token answer; the
//! gateway does the HTTP exchange and caches the token.

use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use serde::Deserialize;

pub const CLOUD_PLATFORM_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
pub const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

/// The fields of a service-account key file the exchange needs.
#[derive(Deserialize)]
struct KeyFile {
    client_email: String,
    private_key: String,
    #[serde(default)]
    private_key_id: Option<String>,
    #[serde(default)]
    token_uri: Option<String>,
}

/// A parsed service-account key, ready to sign assertions.
pub struct ServiceAccount {
    pub client_email: String,
    pub token_uri: String,
    key_id: Option<String>,
    key: RsaKeyPair,
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ServiceAccount({})", self.client_email)
    }
}

/// An access token and how long it lives. `Debug` masks the token.
#[derive(Deserialize)]
pub struct AccessToken {
    pub access_token: String,
    #[serde(default = "default_expiry")]
    pub expires_in: u64,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("access_token", &crate::mask_credential(&self.access_token))
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// The `client_email` of a service-account key file, if it is one: how a
/// key is named where the key itself must not print.
pub fn key_client_email(json: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Email {
        client_email: String,
    }
    serde_json::from_str::<Email>(json)
        .ok()
        .map(|e| e.client_email)
}

fn default_expiry() -> u64 {
    3600
}

fn b64url(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

fn b64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' | b'\n' | b'\r' | b' ' | b'\t' => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

impl ServiceAccount {
    /// Parse a service-account key file (JSON, as downloaded from Google
    /// Cloud). Errors say what is wrong without echoing the key.
    pub fn from_json(json: &str) -> Result<ServiceAccount, String> {
        let f: KeyFile = serde_json::from_str(json)
            .map_err(|e| format!("not a service-account key file ({e})"))?;
        let pem = f.private_key.replace("\\n", "\n");
        let body: String = pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<Vec<_>>()
            .join("");
        let der = b64_decode(&body).ok_or("private_key is not valid PEM")?;
        let key = RsaKeyPair::from_pkcs8(&der)
            .map_err(|e| format!("private_key is not a PKCS#8 RSA key ({e})"))?;
        Ok(ServiceAccount {
            client_email: f.client_email,
            token_uri: f.token_uri.unwrap_or_else(|| DEFAULT_TOKEN_URI.to_string()),
            key_id: f.private_key_id,
            key,
        })
    }

    /// The signed JWT assertion, valid for an hour from `now` (unix seconds).
    pub fn assertion(&self, now: u64) -> Result<String, String> {
        let mut header = serde_json::json!({"alg": "RS256", "typ": "JWT"});
        if let Some(kid) = &self.key_id {
            header["kid"] = serde_json::Value::String(kid.clone());
        }
        let claims = serde_json::json!({
            "iss": self.client_email,
            "scope": CLOUD_PLATFORM_SCOPE,
            "aud": self.token_uri,
            "iat": now,
            "exp": now + 3600,
        });
        let signing_input = format!(
            "{}.{}",
            b64url(header.to_string().as_bytes()),
            b64url(claims.to_string().as_bytes())
        );
        let mut sig = vec![0u8; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut sig,
            )
            .map_err(|_| "signing the assertion failed".to_string())?;
        Ok(format!("{signing_input}.{}", b64url(&sig)))
    }

    /// The form body of the token request.
    pub fn token_request_body(&self, now: u64) -> Result<String, String> {
        Ok(format!(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={}",
            self.assertion(now)?
        ))
    }

    /// The DER public key, for tests that verify assertions.
    pub fn public_key_der(&self) -> Vec<u8> {
        use ring::signature::KeyPair;
        self.key.public_key().as_ref().to_vec()
    }
}

/// Decode a base64url segment (JWT parts), for tests and token endpoints.
pub fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    b64_decode(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const TEST_KEY: &str = include_str!("../tests/data/test-service-account.json");

    #[test]
    fn assertion_is_a_verifiable_jwt() {
        let sa = ServiceAccount::from_json(TEST_KEY).unwrap();
        assert_eq!(
            sa.client_email,
            "switchyard-test@example.iam.gserviceaccount.com"
        );
        let jwt = sa.assertion(1_700_000_000).unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let claims: serde_json::Value =
            serde_json::from_slice(&b64url_decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["iss"], sa.client_email);
        assert_eq!(claims["scope"], CLOUD_PLATFORM_SCOPE);
        assert_eq!(claims["exp"], 1_700_003_600u64);
        let pk = ring::signature::UnparsedPublicKey::new(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            sa.public_key_der(),
        );
        let signed = format!("{}.{}", parts[0], parts[1]);
        pk.verify(signed.as_bytes(), &b64url_decode(parts[2]).unwrap())
            .unwrap();
    }

    #[test]
    fn debug_prints_no_key_or_token() {
        let sa = ServiceAccount::from_json(TEST_KEY).unwrap();
        assert_eq!(
            format!("{sa:?}"),
            "ServiceAccount(switchyard-test@example.iam.gserviceaccount.com)"
        );
        assert_eq!(
            key_client_email(TEST_KEY).as_deref(),
            Some("switchyard-test@example.iam.gserviceaccount.com")
        );
        assert_eq!(key_client_email("not json"), None);
        let t: AccessToken = serde_json::from_str(
            r#"{"access_token":"ya29.a0SECRETtoken0123456789","expires_in":3599}"#,
        )
        .unwrap();
        for text in [format!("{t:?}"), format!("{t:#?}")] {
            assert!(!text.contains("SECRET"), "{text}");
            assert!(text.contains("ya2…6789") && text.contains("3599"), "{text}");
        }
    }

    #[test]
    fn base64url_round_trip() {
        for n in 0..40u8 {
            let data: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37)).collect();
            assert_eq!(b64url_decode(&b64url(&data)).unwrap(), data);
        }
        assert_eq!(b64url(b"\xfb\xff"), "-_8");
    }

    #[test]
    fn bad_key_files_are_explained() {
        assert!(
            ServiceAccount::from_json("{}")
                .unwrap_err()
                .contains("not a service-account key file")
        );
        let bad = r#"{"client_email":"a","private_key":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}"#;
        assert!(
            ServiceAccount::from_json(bad)
                .unwrap_err()
                .contains("PKCS#8")
        );
    }
}
