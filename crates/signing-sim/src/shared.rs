//! What every request handler shares: the config, the store behind its one lock, the clock, the
//! JWT key and the signing keys. It sits below the routes and the listener so neither has to import the other.

use std::sync::{Mutex, MutexGuard};

use crate::config::SimConfig;
use crate::fault::FaultSlot;
use crate::pki::Pki;
use crate::state::{SimState, Store};
use crate::timefmt::Clock;

/// The simulator's state, shared by the listener, the vendor handlers and `SimHandle`.
pub(crate) struct Shared {
    pub config: SimConfig,
    pub store: Mutex<Store>,
    pub clock: Clock,
    /// The HS256 key of the OIDC stand-in and of every JWT mapping; random per start, never served.
    pub jwt_key: [u8; 32],
    /// The AppViewX signing keys, their certificates and the CA; read-only once built.
    pub pki: Pki,
}

impl Shared {
    pub fn new(config: SimConfig, pki: Pki) -> Shared {
        let store = Store {
            faults: config.faults.iter().cloned().map(FaultSlot::new).collect(),
            login_attempts_left: config.appviewx.users.iter().map(|u| (u.username.clone(), u.login_attempts)).collect(),
            ..Store::default()
        };
        let mut jwt_key = [0u8; 32];
        jwt_key[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        jwt_key[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        Shared { config, store: Mutex::new(store), clock: Clock::default(), jwt_key, pki }
    }

    /// A panic in one handler must not wedge the simulator for every later request.
    pub fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn snapshot(&self) -> SimState {
        let now = self.clock.now_ms();
        self.lock().snapshot(now)
    }
}
