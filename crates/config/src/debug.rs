//! `Debug` for the config types that hold credentials: every field prints,
//! credentials masked (`sk-…abcd`), so `{:?}` of a [`Config`] is safe to
//! log.
//!
//! [`Config`]: crate::Config

use std::fmt;

use switchyard_providers::mask_credential;
use switchyard_providers::vertex_auth::key_client_email;

use crate::{AdminConfig, ConsumerConfig, ProviderConfig};

/// A credential, masked.
struct Masked<'a>(&'a str);

impl fmt::Debug for Masked<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&mask_credential(self.0), f)
    }
}

/// A secret of which not even a part prints.
struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A service-account key file: only the account it belongs to prints.
struct ServiceAccountKey<'a>(&'a str);

impl fmt::Debug for ServiceAccountKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match key_client_email(self.0) {
            Some(email) => write!(f, "<service account {email}>"),
            None => f.write_str("<service account>"),
        }
    }
}

/// `apiTokens`, each masked.
struct MaskedList<'a>(&'a [String]);

impl fmt::Debug for MaskedList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|t| Masked(t)))
            .finish()
    }
}

/// Custom headers: names as they are, values masked (any may be a key).
struct MaskedHeaders<'a>(&'a [(String, String)]);

impl fmt::Debug for MaskedHeaders<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(k, v)| (k, Masked(v))))
            .finish()
    }
}

impl fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Destructured in full: a new field does not compile until it is
        // printed here, masked if it is a secret.
        let ProviderConfig {
            id,
            kind,
            api_tokens,
            base_url,
            provider_domain,
            provider_base_path,
            model_mapping,
            protocol,
            responses_api,
            timeout,
            first_byte_timeout,
            headers,
            azure_service_url,
            openai_custom_url,
            qwen_domain,
            ollama_server_host,
            ollama_server_port,
            claude_version,
            aws_region,
            aws_access_key,
            aws_secret_key,
            aws_session_token,
            vertex_region,
            vertex_project_id,
            vertex_auth_key,
            token_selection,
            failover,
            retry_on_failure,
        } = self;
        f.debug_struct("ProviderConfig")
            .field("id", id)
            .field("kind", kind)
            .field("api_tokens", &MaskedList(api_tokens))
            .field("base_url", base_url)
            .field("provider_domain", provider_domain)
            .field("provider_base_path", provider_base_path)
            .field("model_mapping", model_mapping)
            .field("protocol", protocol)
            .field("responses_api", responses_api)
            .field("timeout", timeout)
            .field("first_byte_timeout", first_byte_timeout)
            .field("headers", &MaskedHeaders(headers))
            .field("azure_service_url", azure_service_url)
            .field("openai_custom_url", openai_custom_url)
            .field("qwen_domain", qwen_domain)
            .field("ollama_server_host", ollama_server_host)
            .field("ollama_server_port", ollama_server_port)
            .field("claude_version", claude_version)
            .field("aws_region", aws_region)
            .field("aws_access_key", &aws_access_key.as_deref().map(Masked))
            .field("aws_secret_key", &aws_secret_key.as_ref().map(|_| Redacted))
            .field(
                "aws_session_token",
                &aws_session_token.as_ref().map(|_| Redacted),
            )
            .field("vertex_region", vertex_region)
            .field("vertex_project_id", vertex_project_id)
            .field(
                "vertex_auth_key",
                &vertex_auth_key.as_deref().map(ServiceAccountKey),
            )
            .field("token_selection", token_selection)
            .field("failover", failover)
            .field("retry_on_failure", retry_on_failure)
            .finish()
    }
}

impl fmt::Debug for AdminConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminConfig")
            .field("listen", &self.listen)
            .field("token", &self.token.as_deref().map(Masked))
            .field("open_paths", &self.open_paths)
            .finish()
    }
}

impl fmt::Debug for ConsumerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<Masked<'_>> = self.keys.iter().map(|k| Masked(k)).collect();
        f.debug_struct("ConsumerConfig")
            .field("name", &self.name)
            .field("keys", &keys)
            .field("models", &self.models)
            .field("limits", &self.limits)
            .field("budget", &self.budget)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use crate::Config;

    const KEY: &str = include_str!("../../providers/tests/data/test-service-account.json");

    #[test]
    fn debug_masks_every_credential_and_keeps_the_rest() {
        let key: Vec<String> = KEY.lines().map(|l| format!("      {l}")).collect();
        let key = key.join("\n");
        let yaml = format!(
            r#"
providers:
  - id: oai
    type: openai
    apiTokens: ["sk-SECRETone0123456789abcd", "sk-SECRETtwo0123456789wxyz"]
    headers: {{ x-custom-auth: "hdr-SECRETheader0123456789", x-team: blue }}
    modelMapping: {{ "gpt-*": gpt-4o }}
  - id: rock
    type: bedrock
    awsRegion: us-east-1
    awsAccessKey: AKIASECRETACCESS0001XY
    awsSecretKey: "wJalrSECRETbedrock/K7MDENG+bPxRfiCYEXAMPLEKEY"
    awsSessionToken: FwoGSECRETsession0123456789token
  - id: vx
    type: vertex
    vertexProjectId: p1
    vertexRegion: us-central1
    vertexAuthKey: |
{key}
  - id: vx-bad
    type: vertex
    vertexProjectId: p1
    vertexRegion: us-central1
    vertexAuthKey: "not-a-key-SECRET-0123456789"
"#
        );
        // Parsed without validation: a bad key must not print either.
        let cfg: Config = serde_norway::from_str(&yaml).unwrap();
        for text in [format!("{cfg:?}"), format!("{cfg:#?}")] {
            assert!(!text.contains("SECRET"), "{text}");
            assert!(!text.contains("PRIVATE KEY"), "{text}");
            for shown in [
                "\"oai\"",
                "sk-…abcd",
                "sk-…wxyz",
                "x-custom-auth",
                "hdr-…6789",
                "x-team",
                "gpt-4o",
                "us-east-1",
                "AKI…01XY",
                "<redacted>",
                "<service account switchyard-test@example.iam.gserviceaccount.com>",
                "<service account>",
                "us-central1",
            ] {
                assert!(text.contains(shown), "no {shown} in {text}");
            }
        }
    }
}
