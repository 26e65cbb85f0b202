use super::*;
use std::time::Duration;

// The AWS SigV4 test suite (aws-sig-v4-test-suite, 2015 edition).
const SUITE: SigV4<'static> = SigV4 {
    access_key: "AKIDEXAMPLE",
    secret_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    session_token: None,
    region: "us-east-1",
    service: "service",
};
const SUITE_HOST: &str = "example.amazonaws.com";
const SUITE_DATE: &str = "20150830T123600Z";
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const STS_TOKEN: &str = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}
/// 2015-08-30T12:36:00Z
const SUITE_TIME: u64 = 1_440_938_160;

fn suite_authz(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> String {
    let mut all = headers.to_vec();
    all.push(("X-Amz-Date", SUITE_DATE));
    let hash = hex(digest::digest(&digest::SHA256, body).as_ref());
    SUITE.authorization(method, SUITE_HOST, path, query, &all, &hash, SUITE_DATE)
}

fn suite_expected(signed: &str, signature: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders={signed}, Signature={signature}"
    )
}

#[test]
fn get_vanilla() {
    let (creq, _) = canonical_request(
        "GET",
        SUITE_HOST,
        "/",
        "",
        &[("X-Amz-Date", SUITE_DATE)],
        EMPTY_SHA256,
    );
    assert_eq!(
        creq,
        format!(
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n{EMPTY_SHA256}"
        )
    );
    assert_eq!(
        suite_authz("GET", "/", "", &[], b""),
        suite_expected(
            "host;x-amz-date",
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        )
    );
}

#[test]
fn get_vanilla_query_order_key_case() {
    assert_eq!(
        suite_authz("GET", "/", "Param2=value2&Param1=value1", &[], b""),
        suite_expected(
            "host;x-amz-date",
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
        )
    );
}

#[test]
fn get_header_value_trim() {
    assert_eq!(
        suite_authz(
            "GET",
            "/",
            "",
            &[("My-Header1", " value1"), ("My-Header2", "\"a   b   c\"")],
            b""
        ),
        suite_expected(
            "host;my-header1;my-header2;x-amz-date",
            "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"
        )
    );
}

#[test]
fn post_x_www_form_urlencoded() {
    assert_eq!(
        suite_authz(
            "POST",
            "/",
            "",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            b"Param1=value1"
        ),
        suite_expected(
            "content-type;host;x-amz-date",
            "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"
        )
    );
}

#[test]
fn post_sts_header_before() {
    assert_eq!(
        suite_authz("POST", "/", "", &[("X-Amz-Security-Token", STS_TOKEN)], b""),
        suite_expected(
            "host;x-amz-date;x-amz-security-token",
            "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"
        )
    );
}

/// `sign` end to end on a POST with a body: the suite's
/// post-x-www-form-urlencoded in its signed-body variant (aws-c-auth),
/// where `x-amz-content-sha256` is signed too.
#[test]
fn sign_post_with_body() {
    let s = SUITE.sign(
        "POST",
        SUITE_HOST,
        "/",
        "",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Content-Length", "13"),
            // Ignored: the signer owns these.
            ("Host", "elsewhere.example"),
            ("X-Amz-Date", "19990101T000000Z"),
        ],
        b"Param1=value1",
        at(SUITE_TIME),
    );
    assert_eq!(s.x_amz_date, SUITE_DATE);
    assert_eq!(
        s.x_amz_content_sha256,
        "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"
    );
    assert_eq!(s.x_amz_security_token, None);
    assert_eq!(
        s.authorization,
        suite_expected(
            "content-length;content-type;host;x-amz-content-sha256;x-amz-date",
            "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b"
        )
    );
}

/// The S3 "GET Object" example from the AWS docs, through `sign`.
#[test]
fn sign_s3_get_object_example() {
    let signer = SigV4 {
        access_key: "AKIAIOSFODNN7EXAMPLE",
        secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        session_token: None,
        region: "us-east-1",
        service: "s3",
    };
    // 2013-05-24T00:00:00Z
    let s = signer.sign(
        "GET",
        "examplebucket.s3.amazonaws.com",
        "/test.txt",
        "",
        &[("Range", "bytes=0-9")],
        b"",
        at(1_369_353_600),
    );
    assert_eq!(s.x_amz_content_sha256, EMPTY_SHA256);
    assert_eq!(
        s.authorization,
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
         SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
         Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    );
}

#[test]
fn bedrock_model_path_is_encoded_twice_in_the_canonical_request() {
    let seg = SigV4::encode_path_segment("us.amazon.nova-micro-v1:0");
    assert_eq!(seg, "us.amazon.nova-micro-v1%3A0");
    let path = format!("/model/{seg}/converse");
    let body = br#"{"messages":[{"role":"user","content":[{"text":"hi"}]}]}"#;
    let hash = hex(digest::digest(&digest::SHA256, body).as_ref());
    let (creq, signed) = canonical_request(
        "POST",
        "bedrock-runtime.us-east-1.amazonaws.com",
        &path,
        "",
        &[
            ("content-type", "application/json"),
            ("x-amz-date", "20250101T000000Z"),
        ],
        &hash,
    );
    assert!(
        creq.starts_with("POST\n/model/us.amazon.nova-micro-v1%253A0/converse\n\n"),
        "{creq}"
    );
    assert_eq!(signed, "content-type;host;x-amz-date");

    // With temporary credentials the token is signed and returned.
    let signer = SigV4 {
        session_token: Some("tok"),
        region: "us-east-1",
        service: "bedrock",
        ..SUITE
    };
    let s = signer.sign(
        "POST",
        "bedrock-runtime.us-east-1.amazonaws.com",
        &path,
        "",
        &[("Content-Type", "application/json")],
        body,
        at(1_735_689_600),
    );
    assert_eq!(s.x_amz_date, "20250101T000000Z");
    assert_eq!(s.x_amz_security_token.as_deref(), Some("tok"));
    assert!(s.authorization.starts_with(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250101/us-east-1/bedrock/aws4_request, \
         SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature="
    ));
    // Deterministic for the same inputs, and it depends on the path.
    let again = signer.sign(
        "POST",
        "bedrock-runtime.us-east-1.amazonaws.com",
        &path,
        "",
        &[("Content-Type", "application/json")],
        body,
        at(1_735_689_600),
    );
    assert_eq!(again, s);
    let other = signer.sign(
        "POST",
        "bedrock-runtime.us-east-1.amazonaws.com",
        "/model/us.amazon.nova-micro-v1:0/converse",
        "",
        &[("Content-Type", "application/json")],
        body,
        at(1_735_689_600),
    );
    assert_ne!(other.authorization, s.authorization);
    assert!(!format!("{signer:?}{s:?}").contains("tok\""));
}

#[test]
fn canonical_pieces() {
    assert_eq!(canonical_uri(""), "/");
    assert_eq!(canonical_uri("/"), "/");
    assert_eq!(canonical_uri("/example space/"), "/example%20space/");
    assert_eq!(canonical_uri("/a/./b/../c"), "/a/c");
    assert_eq!(canonical_uri("/a/b/.."), "/a/");
    assert_eq!(canonical_uri("/ሴ"), "/%E1%88%B4");
    assert_eq!(canonical_query(""), "");
    assert_eq!(canonical_query("b=2&a=1&a=0&c"), "a=0&a=1&b=2&c=");
    assert_eq!(canonical_query("k=a%20b&x=%2F"), "k=a%20b&x=%2F");
    assert_eq!(canonical_query("k=a b:c"), "k=a%20b%3Ac");
}

#[test]
fn dates() {
    assert_eq!(amz_date(at(0)), "19700101T000000Z");
    assert_eq!(amz_date(at(SUITE_TIME)), SUITE_DATE);
    assert_eq!(amz_date(at(951_782_400)), "20000229T000000Z");
    assert_eq!(amz_date(at(1_709_251_199)), "20240229T235959Z");
    assert_eq!(amz_date(at(4_102_444_800)), "21000101T000000Z");
}
