//! A credential (TPP token, AppViewX session) that is replaced at most once when the server
//! says it died mid-run. Calls in flight with the dead credential all see the failure; the
//! generation number makes exactly one of them renew it and the others retry with the result.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::secret::Secret;

pub struct Renewable {
    current: tokio::sync::Mutex<(Secret, u32)>,
    renewed: AtomicBool,
}

impl Renewable {
    pub fn new(credential: Secret) -> Self {
        Renewable { current: tokio::sync::Mutex::new((credential, 0)), renewed: AtomicBool::new(false) }
    }

    /// Runs `f` with the current credential. When it fails with an error `is_dead` accepts,
    /// `renew` is asked once for the whole run (`None`: this credential cannot be renewed) and
    /// `f` runs once more.
    pub async fn call<T, E, F, Fut, R, RFut>(&self, f: F, is_dead: impl Fn(&E) -> bool, renew: R) -> Result<T, E>
    where
        F: Fn(Secret) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        R: FnOnce() -> Option<RFut>,
        RFut: Future<Output = Result<Secret, E>>,
    {
        let (credential, generation) = self.current.lock().await.clone();
        match f(credential).await {
            Err(e) if is_dead(&e) => {
                let mut guard = self.current.lock().await;
                if guard.1 == generation {
                    if self.renewed.swap(true, Ordering::SeqCst) {
                        return Err(e);
                    }
                    let Some(renewal) = renew() else { return Err(e) };
                    *guard = (renewal.await?, generation + 1);
                }
                let credential = guard.0.clone();
                drop(guard);
                f(credential).await
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    #[tokio::test]
    async fn concurrent_failures_renew_once() {
        let cred = Renewable::new(Secret::new("old"));
        let renewals = AtomicU32::new(0);
        let call = || {
            cred.call(
                |s| async move {
                    if s.expose() == "old" {
                        Err("dead")
                    } else {
                        Ok(s.expose().to_string())
                    }
                },
                |e: &&str| *e == "dead",
                || {
                    renewals.fetch_add(1, Ordering::SeqCst);
                    Some(async { Ok(Secret::new("new")) })
                },
            )
        };
        let (a, b, c) = tokio::join!(call(), call(), call());
        assert_eq!((a, b, c), (Ok("new".into()), Ok("new".into()), Ok("new".into())));
        assert_eq!(renewals.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_second_death_is_final() {
        let cred = Renewable::new(Secret::new("x"));
        let r: Result<(), &str> =
            cred.call(|_| async { Err("dead") }, |_| true, || Some(async { Ok(Secret::new("y")) })).await;
        assert_eq!(r, Err("dead"));
        let r: Result<(), &str> =
            cred.call(|_| async { Err("dead") }, |_| true, || Some(async { Ok(Secret::new("z")) })).await;
        assert_eq!(r, Err("dead"), "renewed at most once per run");
    }
}
