//! A faithful simulator of the Venafi TPP CodeSign Protect and AppViewX code signing HTTP APIs.
//!
//! One listener serves both vendors (`/vedauth`, `/vedsdk`, `/avxapi`), a stand-in for GitHub
//! Actions' OIDC token endpoint at `/__sim/oidc/token` (whose tokens `/vedauth/authorize/jwt`
//! accepts), a read-only snapshot at `/__sim/state`, an approver at `/__sim/approve`, and the
//! signing keys' certificates at `/__sim/certificates` and `/__sim/ca.pem`. By
//! default AppViewX signs only what TPP pre-qualified and pre-approved (or an approver let
//! through): the approval chain, our model of a deployment the vendors document one side at a
//! time. It exists so the gate's tests, its `demo` command and users'
//! workflows can exercise real HTTP, real authentication rules and real failure modes without a
//! vendor installation. Its wire types are written independently of the gate's client.
//!
//! ```no_run
//! let sim = signing_sim::SimHandle::spawn(signing_sim::SimConfig::default())?;
//! println!("TPP and AppViewX at {}", sim.base_url());
//! # Ok::<(), signing_sim::Error>(())
//! ```
//!
//! Modules depend on each other in one direction only: each imports from its own floor and the
//! floors below, never up, and no two import each other (`.ci/floors.py` checks both):
//! - 0 leaves: `error`, `http` (request and reply), `timefmt` (clock, dates), `scope` (TPP
//!   scopes), `avx_codes` (AppViewX's status codes and messages), `variants`
//! - 1: `fault` (on `avx_codes`)
//! - 2: `config` (on `error`, `fault`, `scope`; inside it, `sim` on the `tpp`, `avx`, `oidc` and
//!   `tls` types, and `validate` and `describe` on `sim`)
//! - 3: `jwt`, `tls` (on `config`), `state` (on `config`, `fault`), `pki` (on `config`, `error`,
//!   `http`: the signing keys, their CA and certificates, and the `/__sim/certificates` routes)
//! - 4: `shared` (config, store, clock, JWT key, signing keys)
//! - 5: `chain` (the approval chain: what a signing takes from TPP's records, and the
//!   approver's decision and `/__sim/approve` route)
//! - 6 routes: `tpp` (its `common` and `approver` under `auth`, `flow` and `codesign`), `avx`
//!   (`envelope` under `login` under `signing`, which runs `chain` at submission), `oidc`
//! - 7: `server` (listens, reads requests, applies faults, routes to `tpp`, `avx`, `oidc`,
//!   `chain` and `pki`)
//!
//! This file starts the server and hands out `SimHandle` (whose `approve` and `reject` use
//! `chain`). Nothing imports `server` or this file.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod avx;
mod avx_codes;
mod chain;
mod config;
mod error;
mod fault;
mod http;
mod jwt;
mod oidc;
mod pki;
mod scope;
mod server;
mod shared;
mod state;
mod timefmt;
mod tls;
mod tpp;
mod variants;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub use avx::signed_script;
pub use avx_codes::{app_code, app_status_message};
pub use config::{
    ApprovalMode, AvxConfig, AvxKey, AvxPolicy, AvxUser, JwtMapping, KeyAlgorithm, KeyUser, OidcConfig, SignOutcome,
    SimConfig, TlsConfig, TppClient, TppConfig, TppEnvironment, TppUser, DEMO_ENVIRONMENT_DN, GITHUB_OIDC_ISSUER,
};
pub use error::Error;
pub use fault::{Fault, FaultKind};
pub use state::{PreApprovalRecord, PreQualRecord, RequestRecord, SessionRecord, SignRecord, SimState, TokenRecord};
pub use tpp::result_code;

use shared::Shared;

/// Binds `listen` (port 0 picks a free port) and serves on the current tokio runtime until the
/// handle is shut down or dropped.
///
/// # Errors
/// `Error::Config` for a config `SimConfig::validate` refuses or a signing key file that holds no
/// usable key or chain, `Error::Tls`/`Error::Io` when a certificate or key cannot be loaded or
/// generated (or `certificates_out_dir` written), `Error::Bind` when `listen` cannot be bound.
pub async fn start(config: SimConfig, listen: SocketAddr) -> Result<SimHandle, Error> {
    config.validate()?;
    let pki = pki::Pki::build(&config.appviewx)?;
    let tls = config.tls.as_ref().map(|t| tls::acceptor(t, listen.ip())).transpose()?;
    let listener = TcpListener::bind(listen).await.map_err(|source| Error::Bind { addr: listen, source })?;
    let addr = listener.local_addr().map_err(|source| Error::Bind { addr: listen, source })?;
    let is_tls = tls.is_some();
    let shared = Arc::new(Shared::new(config, pki));
    let (shutdown, rx) = oneshot::channel();
    let task = tokio::spawn(server::serve(listener, tls, shared.clone(), rx));
    Ok(SimHandle { shared, addr, tls: is_tls, shutdown: Some(shutdown), task: Some(task), thread: None })
}

/// A running simulator. Dropping it stops the server and closes every open connection.
pub struct SimHandle {
    shared: Arc<Shared>,
    addr: SocketAddr,
    tls: bool,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle").field("addr", &self.addr).field("tls", &self.tls).finish_non_exhaustive()
    }
}

impl SimHandle {
    /// For synchronous tests: runs the simulator on its own runtime in a background thread,
    /// listening on 127.0.0.1 with a free port.
    ///
    /// # Errors
    /// As `start`, and `Error::Runtime` when the thread or its runtime cannot be started.
    pub fn spawn(config: SimConfig) -> Result<SimHandle, Error> {
        Self::spawn_on(config, SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// As [`SimHandle::spawn`], listening on `listen` (port 0 picks a free port): for tests whose
    /// clients reach the simulator over another interface than loopback.
    ///
    /// # Errors
    /// As `start`, and `Error::Runtime` when the thread or its runtime cannot be started.
    pub fn spawn_on(config: SimConfig, listen: SocketAddr) -> Result<SimHandle, Error> {
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("signing-sim".to_string())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = tx.send(Err(Error::Runtime(e.to_string())));
                        return;
                    }
                };
                runtime.block_on(async move {
                    match start(config, listen).await {
                        Ok(mut handle) => {
                            let task = handle.task.take();
                            if tx.send(Ok(handle)).is_ok() {
                                if let Some(task) = task {
                                    let _ = task.await;
                                }
                            }
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e));
                        }
                    }
                });
            })
            .map_err(|e| Error::Runtime(e.to_string()))?;
        let mut handle = rx.recv().map_err(|_| Error::Runtime("simulator thread exited early".to_string()))??;
        handle.thread = Some(thread);
        Ok(handle)
    }

    /// The bound address, for clients that dial an address rather than a URL.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http(s)://127.0.0.1:PORT`; a wildcard listen address is reported as loopback because
    /// that is what a local client should dial.
    #[must_use]
    pub fn base_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        let mut addr = self.addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(if addr.is_ipv4() {
                std::net::Ipv4Addr::LOCALHOST.into()
            } else {
                std::net::Ipv6Addr::LOCALHOST.into()
            });
        }
        format!("{scheme}://{addr}")
    }

    /// The config it runs with, e.g. to read `oidc.request_token`.
    #[must_use]
    pub fn config(&self) -> &SimConfig {
        &self.shared.config
    }

    /// What the simulator holds now, for assertions; never includes a credential.
    #[must_use]
    pub fn state(&self) -> SimState {
        self.shared.snapshot()
    }

    /// Mints a TPP access token without a login, for handing the gate a valid or (with a
    /// negative lifetime) already expired token. The token belongs to the first configured
    /// API integration.
    #[must_use]
    pub fn issue_token(&self, username: &str, scope: &str, lifetime_secs: i64) -> String {
        let config = &self.shared.config.tpp;
        let client_id = config.clients.first().map_or("codesign-gate", |c| c.client_id.as_str());
        let now = self.shared.clock.now_ms();
        let mut store = self.shared.lock();
        let (access, _) = tpp::new_grant(
            &mut store,
            config,
            &tpp::GrantRequest { username, client_id, scope, lifetime_secs, via: "issued" },
            now,
        );
        access
    }

    /// Like `issue_token`, with an access token string of the caller's choosing, so a vendor
    /// document's example request (`Authorization:Bearer 4MyGeneratedBearerTknz==`) can be sent
    /// verbatim. A token string already issued is replaced by this grant's.
    pub fn issue_token_value(&self, token: &str, username: &str, scope: &str, lifetime_secs: i64) {
        let access = self.issue_token(username, scope, lifetime_secs);
        let mut store = self.shared.lock();
        store.tokens.retain(|t| t.token != token);
        if let Some(t) = store.tokens.iter_mut().find(|t| t.token == access) {
            t.token = token.to_string();
        }
    }

    /// What a job would find in `$ACTIONS_ID_TOKEN_REQUEST_URL`:
    /// `{base_url}/__sim/oidc/token?api-version=2.0`, to which clients append `&audience=...`.
    /// The matching `$ACTIONS_ID_TOKEN_REQUEST_TOKEN` is `config().oidc.request_token`.
    #[must_use]
    pub fn oidc_request_url(&self) -> String {
        format!("{}{}", self.base_url(), oidc::REQUEST_URL_PATH)
    }

    /// Changes the `sub` claim of OIDC tokens minted from now on (e.g. a branch or repository
    /// that no JWT mapping covers). Tokens already minted keep theirs.
    pub fn set_oidc_subject(&self, subject: impl Into<String>) {
        self.shared.lock().oidc_subject = Some(subject.into());
    }

    /// The OIDC token `GET /__sim/oidc/token` would answer right now, without a request (so it
    /// is not recorded in `requests`). `None` gives GitHub's default audience, the repository
    /// owner's URL.
    #[must_use]
    pub fn oidc_token(&self, audience: Option<&str>) -> String {
        oidc::mint(&self.shared, audience)
    }

    /// Signs arbitrary claims with the simulator's HS256 key, for tokens the OIDC stand-in
    /// would never mint (another issuer, a missing `exp`, a list of audiences...).
    #[must_use]
    pub fn mint_jwt(&self, claims: &serde_json::Value) -> String {
        jwt::sign(&self.shared.jwt_key, claims)
    }

    /// The PEM certificate chain of an AppViewX signing key, leaf first, then the CA (or the
    /// key's configured chain file as it reads); `None` for a key the simulator does not have.
    /// The same as `GET /__sim/certificates?key=<key>`.
    #[must_use]
    pub fn certificate_chain_pem(&self, key: &str) -> Option<String> {
        self.shared.pki.key(key).map(|k| k.chain_pem.clone())
    }

    /// The certificate of the CA that issued the signing keys' certificates, PEM, minted at
    /// start (`GET /__sim/ca.pem`).
    #[must_use]
    pub fn ca_pem(&self) -> String {
        self.shared.pki.ca_pem().to_string()
    }

    /// Every signing key and its algorithm, in config order (then the keys only policies name).
    #[must_use]
    pub fn signing_keys(&self) -> Vec<(String, KeyAlgorithm)> {
        self.shared.pki.keys().iter().map(|k| (k.name.clone(), k.algorithm)).collect()
    }

    /// Writes every signing key's chain (`<key>.pem`) and the CA (`ca.pem`) into `dir`, as
    /// `appviewx.certificates_out_dir` does at start.
    ///
    /// # Errors
    /// `Error::Io` when `dir` or a file cannot be written, `Error::Config` when two keys' file
    /// names clash.
    pub fn write_certificates(&self, dir: &Path) -> Result<(), Error> {
        self.shared.pki.write_certificates(dir)
    }

    /// The Base64 signature a signed request of `signing_key` over `file_hash_content` (the
    /// Base64 DigestInfo, as submitted) answers as `encodedHashData` (under a policy without
    /// `signed_script`, and without a signature fault). Both algorithms sign deterministically,
    /// so this equals the answer. `None` for an unknown key or content the submit call refuses.
    #[must_use]
    pub fn signature(&self, signing_key: &str, file_hash_content: &str) -> Option<String> {
        avx::expected_signature(&self.shared, signing_key, file_hash_content)
    }

    /// What a status call answers as `encodedHashData` for this sign request once it is signed
    /// (the policy's signed script included, and what a signature fault on the submission did);
    /// `None` for an unknown sign id.
    #[must_use]
    pub fn encoded_hash_data(&self, sign_id: &str) -> Option<String> {
        avx::encoded_hash_data_of(&self.shared, sign_id)
    }

    /// Arms a fault at run time, after those from the config.
    pub fn add_fault(&self, fault: Fault) {
        self.shared.lock().faults.push(fault::FaultSlot::new(fault));
    }

    /// Disarms every fault, including those from the config.
    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// Acts as the approver of a signing held for a manual approval (no usable pre-approval):
    /// signing starts now and ends after its policy's delay. The same as `POST /__sim/approve`.
    ///
    /// # Errors
    /// `Error::Approval` when no sign request has that id, or it is not awaiting approval
    /// (pre-approved, recorded, not pre-qualified, already decided, or timed out).
    pub fn approve(&self, sign_id: &str) -> Result<(), Error> {
        self.decide(sign_id, true)
    }

    /// Acts as an approver who rejects a signing held for a manual approval: it ends `Failed`
    /// with `failedDueToTimeoutError: false`.
    ///
    /// # Errors
    /// As `approve`.
    pub fn reject(&self, sign_id: &str) -> Result<(), Error> {
        self.decide(sign_id, false)
    }

    fn decide(&self, sign_id: &str, approve: bool) -> Result<(), Error> {
        let now = self.shared.clock.now_ms();
        chain::decide(&mut self.shared.lock(), sign_id, approve, now)
            .map(|_| ())
            .map_err(|refused| Error::Approval(refused.describe(sign_id)))
    }

    /// Moves the simulator's clock forward, so token and session expiry, signing delays, the
    /// expiry of pre-qualifications and pre-approvals, their `NotBefore`, the automatic approver
    /// and the approval timeout can be reached without sleeping.
    pub fn advance_time(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.shared.clock.advance_ms(ms);
    }

    /// Stops the server; the same as dropping the handle, for call sites that want it spelt out.
    pub fn shutdown(self) {}
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
