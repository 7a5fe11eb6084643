//! What the gate does with each signature AppViewX returns: check it against the signing
//! certificate, wrap it as a detached CMS signature, timestamp it.

use std::path::Path;
use std::time::SystemTime;

use url::Url;

use super::inputs::{bad, InputError, Inputs};
use super::paths::{certificate_file, Workspace};
use crate::signature::SigningCertificate;

/// The file each signature is handed out as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureFormat {
    /// `encodedHashData` as AppViewX sent it (`<name>.signed`): what `signtool sign /di` ingests.
    Raw,
    /// A detached CMS `SignedData` (`<name>.p7s`, DER) holding the signature, the digest
    /// algorithm and the certificates: what `openssl cms -verify` and other tools check.
    Cms,
}

impl SignatureFormat {
    /// As the input and the report spell it.
    pub fn name(self) -> &'static str {
        match self {
            SignatureFormat::Raw => "raw",
            SignatureFormat::Cms => "cms",
        }
    }
}

/// The signature options, checked before anything is sent: a certificate that cannot verify
/// anything would otherwise fail every artifact after each was signed.
#[derive(Debug, Clone)]
pub struct SignatureConfig {
    /// `signing-certificate`: each signature is verified with its key before it counts.
    pub certificate: Option<SigningCertificate>,
    /// `signature-format`.
    pub format: SignatureFormat,
    /// `timestamp-url`: an RFC 3161 time-stamping authority (`cms` only).
    pub timestamp_url: Option<Url>,
}

impl Default for SignatureConfig {
    fn default() -> Self {
        SignatureConfig { certificate: None, format: SignatureFormat::Raw, timestamp_url: None }
    }
}

/// Reads `signing-certificate`, `signature-format` and `timestamp-url`.
pub(super) fn signature_config(
    inputs: &Inputs,
    cwd: &Path,
    workspace: &Workspace,
    signs: bool,
) -> Result<SignatureConfig, InputError> {
    let format = match inputs.value("signature-format").trim().to_ascii_lowercase().as_str() {
        "raw" => SignatureFormat::Raw,
        "cms" => SignatureFormat::Cms,
        other => return Err(bad("signature-format", format!("is `{other}`: give raw or cms"))),
    };
    let certificate = certificate(inputs, cwd, workspace)?;
    let timestamp_url = inputs.trimmed("timestamp-url").map(timestamp_url).transpose()?;
    if !signs {
        if let Some(input) =
            ["signing-certificate", "signature-format", "timestamp-url"].into_iter().find(|n| inputs.asked(n))
        {
            return Err(bad(
                input,
                "is set, but appviewx-url is not, so nothing is signed: set appviewx-url or remove it",
            ));
        }
    }
    if format == SignatureFormat::Cms && certificate.is_none() {
        return Err(bad(
            "signature-format",
            "is cms, which holds the signing certificate and is verified before it is written: set signing-certificate \
             (the PEM certificate of appviewx-signing-key, then its chain)",
        ));
    }
    if timestamp_url.is_some() && format != SignatureFormat::Cms {
        return Err(bad(
            "timestamp-url",
            "is set, but a timestamp is carried only by a CMS signature: set signature-format: cms, or remove timestamp-url \
             (for signtool, timestamp with `signtool timestamp /tr`)",
        ));
    }
    Ok(SignatureConfig { certificate, format, timestamp_url })
}

fn certificate(inputs: &Inputs, cwd: &Path, workspace: &Workspace) -> Result<Option<SigningCertificate>, InputError> {
    let what = "the PEM or DER certificate of appviewx-signing-key, then its chain";
    let Some(bytes) = certificate_file(inputs, "signing-certificate", cwd, workspace, what)? else {
        return Ok(None);
    };
    let certificate = SigningCertificate::parse(&bytes).map_err(|e| bad("signing-certificate", e.to_string()))?;
    certificate.check(SystemTime::now()).map_err(|e| bad("signing-certificate", e.to_string()))?;
    Ok(Some(certificate))
}

/// A TSA is usually plain http (RFC 3161 over HTTP, section 3.4): the token it answers is signed
/// and checked, and nothing secret is sent to it, so http is allowed here, unlike for the vendors.
fn timestamp_url(raw: &str) -> Result<Url, InputError> {
    let url = Url::parse(raw.trim()).map_err(|e| {
        bad("timestamp-url", format!("is not a URL ({e}): give the TSA's address, e.g. http://timestamp.example.com"))
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("timestamp-url", format!("has scheme `{}`: give an http:// or https:// URL", url.scheme())));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("timestamp-url", "has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("timestamp-url", "must not carry credentials"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use crate::config::tests::with;

    #[test]
    fn the_default_format_is_no_reason_to_refuse_a_gate_without_appviewx() {
        let tpp_only = [
            ("appviewx-url", ""),
            ("appviewx-username", ""),
            ("appviewx-password", ""),
            ("appviewx-signing-policy", ""),
            ("appviewx-signing-key", ""),
        ];
        let raw: Vec<(&'static str, &str)> = tpp_only.iter().copied().chain([("signature-format", "raw")]).collect();
        assert!(with(&raw).is_ok(), "{:?}", with(&raw).err());
        let cms: Vec<(&'static str, &str)> = tpp_only.iter().copied().chain([("signature-format", "cms")]).collect();
        let e = with(&cms).expect_err("cms without AppViewX");
        assert_eq!(e.input, "signature-format", "{e}");
    }
}
