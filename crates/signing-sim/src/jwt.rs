//! Compact JWS (RFC 7515) signed with HS256, and the claim checks of a TPP JWT mapping.
//!
//! Real TPP verifies an RS256 token against the identity provider's published keys (JWKS). The
//! simulator is both the identity provider (its GitHub OIDC stand-in) and the verifier, so one
//! secret HMAC key, generated at start and never served, does the same job: only the simulator
//! can mint a token that verifies, and changing one byte of a token breaks it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::config::JwtMapping;

/// How far in the future `nbf` and `iat` may lie, for clock skew between the IdP and TPP.
const CLOCK_SKEW_SECS: i64 = 60;

/// HMAC-SHA256 (RFC 2104) over `sha2`; a whole crate for these lines is not worth it.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    inner.update(message);
    let inner = inner.finalize();
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner);
    outer.finalize().into()
}

/// Compares without an early exit, so the time taken does not tell how much of a forged
/// signature was right.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Signs `claims` as `header.payload.signature`, HS256 with `key`.
pub(crate) fn sign(key: &[u8], claims: &Value) -> String {
    let header = json!({"alg": "HS256", "typ": "JWT", "kid": "signing-sim"});
    let signing_input =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let signature = hmac_sha256(key, signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// Checks structure, algorithm and signature; returns the claims. The error is a description
/// for `error_description` and never contains the token.
pub(crate) fn verify(key: &[u8], token: &str) -> Result<Map<String, Value>, String> {
    const SHAPE: &str = "The JWT is not a compact JWS (three base64url parts separated by dots)";
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(SHAPE.to_string());
    };
    let decode = |part: &str, what: &str| {
        URL_SAFE_NO_PAD.decode(part.as_bytes()).map_err(|_| format!("The JWT {what} is not base64url without padding"))
    };
    let header_bytes = decode(header, "header")?;
    let payload_bytes = decode(payload, "payload")?;
    let signature_bytes = decode(signature, "signature")?;
    let header_json: Map<String, Value> =
        serde_json::from_slice(&header_bytes).map_err(|_| "The JWT header is not a JSON object".to_string())?;
    match header_json.get("alg").and_then(Value::as_str) {
        Some("HS256") => {}
        Some(alg) => {
            return Err(format!(
                "The JWT is signed with '{alg}'; the identity provider of every JWT mapping signs with 'HS256'"
            ))
        }
        None => return Err("The JWT header has no 'alg'".to_string()),
    }
    let expected = hmac_sha256(key, format!("{header}.{payload}").as_bytes());
    if !same_bytes(&expected, &signature_bytes) {
        return Err("The JWT signature does not verify against the identity provider's key".to_string());
    }
    serde_json::from_slice(&payload_bytes).map_err(|_| "The JWT payload is not a JSON object".to_string())
}

/// A NumericDate claim (seconds since the epoch; fractions allowed by RFC 7519, truncated).
// Truncating the fraction is the point, and `as` saturates a finite value beyond `i64` rather
// than wrapping it; std has no fallible float-to-integer conversion to use instead.
#[allow(clippy::cast_possible_truncation)]
fn numeric_date(claims: &Map<String, Value>, name: &str) -> Result<Option<i64>, String> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => match v.as_f64() {
            Some(f) if f.is_finite() => Ok(Some(f as i64)),
            _ => Err(format!("The JWT claim '{name}' is not a number of seconds since 1970")),
        },
    }
}

/// `exp` is required and must lie in the future; `nbf` and `iat`, when present, must not lie
/// more than [`CLOCK_SKEW_SECS`] in the future.
pub(crate) fn check_times(claims: &Map<String, Value>, now_secs: i64) -> Result<(), String> {
    let Some(exp) = numeric_date(claims, "exp")? else {
        return Err("The JWT has no 'exp' claim".to_string());
    };
    if now_secs >= exp {
        return Err(format!("The JWT has expired (exp {exp}, now {now_secs})"));
    }
    if let Some(nbf) = numeric_date(claims, "nbf")? {
        if nbf > now_secs + CLOCK_SKEW_SECS {
            return Err(format!("The JWT is not valid yet (nbf {nbf}, now {now_secs})"));
        }
    }
    if let Some(iat) = numeric_date(claims, "iat")? {
        if iat > now_secs + CLOCK_SKEW_SECS {
            return Err(format!("The JWT was issued in the future (iat {iat}, now {now_secs})"));
        }
        if iat >= exp {
            return Err(format!("The JWT expires before it was issued (iat {iat}, exp {exp})"));
        }
    }
    Ok(())
}

/// `*` matches any run of characters (including none, `/` and `:`); everything else literally.
fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

fn string_claim<'a>(claims: &'a Map<String, Value>, name: &str) -> Result<&'a str, String> {
    match claims.get(name) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(format!("The JWT claim '{name}' is not a string")),
        None => Err(format!("The JWT has no '{name}' claim")),
    }
}

/// `aud` is a string or an array of strings (RFC 7519 §4.1.3).
fn audiences(claims: &Map<String, Value>) -> Result<Vec<&str>, String> {
    match claims.get("aud") {
        Some(Value::String(s)) => Ok(vec![s.as_str()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().ok_or_else(|| "The JWT claim 'aud' holds something other than strings".to_string()))
            .collect(),
        Some(_) => Err("The JWT claim 'aud' is not a string or an array of strings".to_string()),
        None => Err("The JWT has no 'aud' claim".to_string()),
    }
}

fn quoted_list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items.map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ")
}

/// The first mapping whose issuer, audience and subject pattern all match, checked claim by
/// claim so the error names the first claim that matched no mapping.
pub(crate) fn find_mapping<'a>(
    mappings: &'a [JwtMapping],
    claims: &Map<String, Value>,
) -> Result<&'a JwtMapping, String> {
    if mappings.is_empty() {
        return Err("No JWT mapping is configured, so no JWT can be exchanged".to_string());
    }
    let iss = string_claim(claims, "iss")?;
    let by_issuer: Vec<&JwtMapping> = mappings.iter().filter(|m| m.issuer == iss).collect();
    if by_issuer.is_empty() {
        return Err(format!(
            "The JWT issuer '{iss}' has no JWT mapping (mapped issuers: {})",
            quoted_list(mappings.iter().map(|m| m.issuer.as_str()))
        ));
    }
    let aud = audiences(claims)?;
    let by_audience: Vec<&JwtMapping> =
        by_issuer.iter().copied().filter(|m| aud.contains(&m.audience.as_str())).collect();
    if by_audience.is_empty() {
        return Err(format!(
            "The JWT audience {} does not match the audience of any JWT mapping for issuer '{iss}' (expected {})",
            quoted_list(aud.iter().copied()),
            quoted_list(by_issuer.iter().map(|m| m.audience.as_str()))
        ));
    }
    let sub = string_claim(claims, "sub")?;
    by_audience.iter().copied().find(|m| glob_match(&m.subject, sub)).ok_or_else(|| {
        format!(
            "The JWT subject '{sub}' matches no JWT mapping for issuer '{iss}' and audience {} (subject patterns: {})",
            quoted_list(aud.iter().copied()),
            quoted_list(by_audience.iter().map(|m| m.subject.as_str()))
        )
    })
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().fold(String::new(), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        })
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hex(&hmac_sha256(&[0xaa; 131], b"Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
        assert_eq!(
            hex(&hmac_sha256(&[0x0b; 20], b"Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
    }

    #[test]
    fn sign_then_verify_and_tampering_fails() {
        let key = [7u8; 32];
        let token = sign(&key, &json!({"sub": "x", "exp": 10}));
        let claims = verify(&key, &token).expect("verifies");
        assert_eq!(claims["sub"], "x");
        assert!(verify(&[8u8; 32], &token).expect_err("other key").contains("signature"));
        let (rest, sig) = token.rsplit_once('.').expect("three parts");
        let flipped = if sig.starts_with('A') { sig.replacen('A', "B", 1) } else { format!("A{}", &sig[1..]) };
        assert!(verify(&key, &format!("{rest}.{flipped}")).is_err());
        let other_payload = URL_SAFE_NO_PAD.encode(json!({"sub": "y", "exp": 10}).to_string());
        let parts: Vec<&str> = token.split('.').collect();
        let swapped = format!("{}.{other_payload}.{}", parts[0], parts[2]);
        assert!(verify(&key, &swapped).expect_err("payload swapped").contains("signature"));
    }

    #[test]
    fn malformed_tokens_are_described_without_echoing_them() {
        let key = [1u8; 32];
        for bad in ["", "a.b", "a.b.c.d", "!!.e30.e30", "e30.e30.!!", "e30.e30.e30", "bm90IGpzb24.e30.e30"] {
            let err = verify(&key, bad).expect_err(bad);
            assert!(bad.is_empty() || !err.contains(bad), "{bad} echoed in {err}");
        }
        let none_alg =
            format!("{}.{}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#), URL_SAFE_NO_PAD.encode(r#"{"sub":"x"}"#));
        assert!(verify(&key, &none_alg).expect_err("alg none").contains("'none'"));
        let padded = sign(&key, &json!({"a": 1})) + "=";
        assert!(verify(&key, &padded).is_err());
    }

    #[test]
    fn times() {
        let claims = |v: Value| v.as_object().cloned().unwrap_or_default();
        assert!(check_times(&claims(json!({"exp": 100})), 99).is_ok());
        assert!(check_times(&claims(json!({"exp": 100})), 100).expect_err("expired").contains("expired"));
        assert!(check_times(&claims(json!({})), 0).expect_err("no exp").contains("'exp'"));
        assert!(check_times(&claims(json!({"exp": "100"})), 0).is_err());
        assert!(check_times(&claims(json!({"exp": 1000, "nbf": 161})), 100).expect_err("nbf").contains("nbf"));
        assert!(check_times(&claims(json!({"exp": 1000, "nbf": 160, "iat": 160})), 100).is_ok());
        assert!(check_times(&claims(json!({"exp": 1000, "iat": 161})), 100).expect_err("iat").contains("iat"));
        assert!(check_times(&claims(json!({"exp": 100.5, "iat": 99.9})), 99).is_ok());
    }

    #[test]
    fn glob() {
        assert!(glob_match("repo:acme/*", "repo:acme/rocket:ref:refs/heads/main"));
        assert!(glob_match("repo:acme/*", "repo:acme/"));
        assert!(!glob_match("repo:acme/*", "repo:acme"));
        assert!(!glob_match("repo:acme/*", "repo:acmex/rocket"));
        assert!(glob_match("repo:*/rocket:ref:*", "repo:acme/rocket:ref:refs/heads/main"));
        assert!(!glob_match("repo:*/rocket:ref:*", "repo:acme/rocket:environment:prod"));
        assert!(glob_match("*", ""));
        assert!(glob_match("exact", "exact"));
        assert!(!glob_match("exact", "exactly"));
        assert!(glob_match("a*b*c", "aXbYbZc"));
        assert!(!glob_match("Repo:acme/*", "repo:acme/x"), "case-sensitive");
    }

    #[test]
    fn mappings_are_matched_claim_by_claim() {
        let m = vec![JwtMapping {
            issuer: "https://idp".into(),
            audience: "tpp".into(),
            subject: "repo:acme/*".into(),
            username: "u".into(),
        }];
        let c = |v: Value| v.as_object().cloned().unwrap_or_default();
        let ok = c(json!({"iss": "https://idp", "aud": ["x", "tpp"], "sub": "repo:acme/a"}));
        assert_eq!(find_mapping(&m, &ok).expect("mapped").username, "u");
        let e =
            find_mapping(&m, &c(json!({"iss": "https://other", "aud": "tpp", "sub": "repo:acme/a"}))).expect_err("");
        assert!(e.contains("issuer 'https://other'"), "{e}");
        let e = find_mapping(&m, &c(json!({"iss": "https://idp", "aud": "nope", "sub": "repo:acme/a"}))).expect_err("");
        assert!(e.contains("audience 'nope'") && e.contains("expected 'tpp'"), "{e}");
        let e = find_mapping(&m, &c(json!({"iss": "https://idp", "aud": "tpp", "sub": "repo:evil/a"}))).expect_err("");
        assert!(e.contains("subject 'repo:evil/a'") && e.contains("repo:acme/*"), "{e}");
        let e = find_mapping(&m, &c(json!({"iss": "https://idp", "aud": 5, "sub": "x"}))).expect_err("");
        assert!(e.contains("'aud'"), "{e}");
        let e = find_mapping(&m, &c(json!({"aud": "tpp", "sub": "x"}))).expect_err("");
        assert!(e.contains("'iss'"), "{e}");
    }
}
