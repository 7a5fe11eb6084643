//! AppViewX's `appStatusCode`s and the message each is answered with: the vocabulary the AppViewX
//! endpoints and the `app-status` fault share.

/// Application status codes. The `CODE_SIGNING_*` ones below 9000 are AppViewX's documented
/// codes; the rest are the simulator's own, for cases the public docs do not cover.
pub mod app_code {
    /// The submitting user may not sign (`can_sign = false`): 403.
    pub const NO_PERMISSION: &str = "CODE_SIGNING_0032";
    /// No policy of that name: 500, as AppViewX answers it.
    pub const POLICY_NOT_FOUND: &str = "CODE_SIGNING_0056";
    /// Documented, never produced by the simulator's own logic (an `app-status` fault can).
    pub const IP_INVALID: &str = "CODE_SIGNING_0062";
    /// The policy does not offer the `signedType` asked for: 500.
    pub const SIGNED_TYPE_NOT_SUPPORTED: &str = "CODE_SIGNING_0063";
    /// The key is not one of the policy's: 500.
    pub const KEY_NOT_MAPPED: &str = "CODE_SIGNING_0070";
    /// Documented, never produced by the simulator's own logic (an `app-status` fault can).
    pub const CERT_NOT_IN_INVENTORY: &str = "CODE_SIGNING_0073";
    /// The caller's address is not on the policy's allow-list: 500.
    pub const IP_NOT_ALLOWED: &str = "CODE_SIGNING_0083";
    /// Documented, never produced by the simulator's own logic (an `app-status` fault can).
    pub const FETCH_STATUS_FAILED: &str = "CODE_SIGNING_0101";
    /// Unknown signId, or one not visible yet: 400.
    pub const SIGN_DATA_NOT_PRESENT: &str = "CODE_SIGNING_0102";
    /// A `fetch-error` policy once its delay is over: 500.
    pub const FETCH_SIGN_DATA_FAILED: &str = "CODE_SIGNING_0103";
    /// Status or download without a `signId`: 400.
    pub const SIGN_ID_MISSING: &str = "CODE_SIGNING_0105";
    /// Another user's signId: 403.
    pub const NO_STATUS_PERMISSION: &str = "CODE_SIGNING_00109";
    /// Simulator's own: the request body is not the JSON object the endpoint expects.
    pub const MALFORMED_BODY: &str = "CODE_SIGNING_9001";
    /// Simulator's own: `fileHashContent` is not Base64 of a SHA-1 or SHA-2 DigestInfo.
    pub const BAD_FILE_HASH: &str = "CODE_SIGNING_9002";
    /// Simulator's own: download asked for a request that has not been signed.
    pub const NOT_SIGNED: &str = "CODE_SIGNING_9003";
    /// Simulator's own: wrong password or unknown user (401).
    pub const LOGIN_FAILED: &str = "ACCT_MGMT_0001";
    /// Simulator's own: account locked after too many failed logins.
    pub const ACCOUNT_LOCKED: &str = "ACCT_MGMT_0002";
    /// Simulator's own: login without the `username`/`password` headers.
    pub const LOGIN_HEADERS_MISSING: &str = "ACCT_MGMT_0003";
    /// Simulator's own: unknown, expired or mismatched session.
    pub const SESSION_INVALID: &str = "SESSION_0001";
    /// Simulator's own: no or an empty `gwsource` query parameter (400).
    pub const GWSOURCE_MISSING: &str = "GATEWAY_0001";
    /// Simulator's own: `appviewx.gwkey` is set and the call carries no `gwkey` (400).
    pub const GWKEY_MISSING: &str = "GATEWAY_0002";
    /// Simulator's own: `appviewx.gwkey` is set and the call's `gwkey` is another (401).
    pub const GWKEY_INVALID: &str = "GATEWAY_0003";
    /// Simulator's own: no endpoint at that path (404).
    pub const NOT_FOUND: &str = "GATEWAY_0404";
    /// Simulator's own: the endpoint takes another method (405).
    pub const METHOD_NOT_ALLOWED: &str = "GATEWAY_0405";
    /// Simulator's own: a body not declared `application/json` (415).
    pub const UNSUPPORTED_MEDIA_TYPE: &str = "GATEWAY_0415";
}

/// AppViewX's documented messages: login (API guides 2020.1 and 2023.1 "Log Into AppViewX"),
/// submit (SIGN guide `2023.1.0_FP1` "Generate Hash for Code Signing") and status (the fetch-status
/// document in `vendor-docs/`).
pub(crate) mod message {
    pub const LOGIN_EMPTY: &str = "Username or password cannot be null or empty";
    pub const LOGIN_FAILED: &str = "Login failed. Invalid credentials.";
    pub const NO_PERMISSION: &str = "Permissions are not there to sign the hash of a file";
    pub const IP_INVALID: &str = "Ip provided is invalid";
    pub const IP_NOT_ALLOWED: &str =
        "The retrieved IP address is not valid. The selected policy does not support the obtained IP address.";
    pub const SIGNED_TYPE_NOT_SUPPORTED: &str = "Your chosen signing type is not supported by the selected policy";
    pub const POLICY_NOT_FOUND: &str = "Signing Policy Info is not present in the Database for the given input";
    pub const KEY_NOT_MAPPED: &str = "Signing Key is not mapped to the given policy.";
    pub const CERT_NOT_IN_INVENTORY: &str = "Certificate is not present in the cert inventory";
    pub const SIGN_ID_MISSING: &str = "SIGN_ID Not present.";
    pub const SIGN_DATA_NOT_PRESENT: &str = "Data not present for given signId.";
    pub const NO_STATUS_PERMISSION: &str = "Permissions are not there to fetch status for given signId.";
    pub const FETCH_STATUS_FAILED: &str = "Error in Fetching the status for the requested SignId.";
    pub const FETCH_SIGN_DATA_FAILED: &str = "Fetching Encoded Sign Data Failed.";
    // The simulator's own, for cases AppViewX documents no message for.
    pub const ACCOUNT_LOCKED: &str = "Login failed. The account is locked after too many failed login attempts.";
    pub const NOT_SIGNED: &str = "No signed data for given signId.";
    pub const SESSION_INVALID: &str = "Invalid session";
    pub const GWSOURCE_MISSING: &str = "The gwsource query parameter is required";
    pub const GWKEY_MISSING: &str = "The gwkey query parameter (tenant key) is required";
    pub const GWKEY_INVALID: &str = "Invalid gwkey (tenant key)";
}

/// The message the simulator answers with for an `appStatusCode`: AppViewX's documented text
/// for its `CODE_SIGNING_*` codes and login errors, the simulator's own for the codes it made up.
/// `None` for a code it does not know (an `app-status` fault then needs an explicit message).
#[must_use]
pub fn app_status_message(app_status_code: &str) -> Option<&'static str> {
    use app_code as c;
    Some(match app_status_code {
        c::NO_PERMISSION => message::NO_PERMISSION,
        c::POLICY_NOT_FOUND => message::POLICY_NOT_FOUND,
        c::IP_INVALID => message::IP_INVALID,
        c::SIGNED_TYPE_NOT_SUPPORTED => message::SIGNED_TYPE_NOT_SUPPORTED,
        c::KEY_NOT_MAPPED => message::KEY_NOT_MAPPED,
        c::CERT_NOT_IN_INVENTORY => message::CERT_NOT_IN_INVENTORY,
        c::IP_NOT_ALLOWED => message::IP_NOT_ALLOWED,
        c::FETCH_STATUS_FAILED => message::FETCH_STATUS_FAILED,
        c::SIGN_DATA_NOT_PRESENT => message::SIGN_DATA_NOT_PRESENT,
        c::FETCH_SIGN_DATA_FAILED => message::FETCH_SIGN_DATA_FAILED,
        c::SIGN_ID_MISSING => message::SIGN_ID_MISSING,
        c::NO_STATUS_PERMISSION => message::NO_STATUS_PERMISSION,
        c::LOGIN_FAILED => message::LOGIN_FAILED,
        c::ACCOUNT_LOCKED => message::ACCOUNT_LOCKED,
        c::LOGIN_HEADERS_MISSING => message::LOGIN_EMPTY,
        c::NOT_SIGNED => message::NOT_SIGNED,
        c::SESSION_INVALID => message::SESSION_INVALID,
        c::GWSOURCE_MISSING => message::GWSOURCE_MISSING,
        c::GWKEY_MISSING => message::GWKEY_MISSING,
        c::GWKEY_INVALID => message::GWKEY_INVALID,
        _ => return None,
    })
}
