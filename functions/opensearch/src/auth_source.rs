//! Where the target's credentials come from, resolved when the target is first called rather
//! than when a process starts: a function that never calls the target (start, status, …) then
//! needs no permission on the secret, and a Basic-auth deployment starts even where only the
//! functions that call the target may read the secret.

use tokio::sync::Mutex;

use crate::{basic_auth_from_secret, Auth, TargetConfigError};

/// The target's authentication, known now or fetched once from Secrets Manager.
pub enum AuthSource {
    /// Known when configured: none, SigV4 (its provider refreshes credentials itself), or
    /// Basic given directly.
    Ready(Auth),
    /// Basic auth from a secret `{"username": …, "password": …}`, fetched on first use and
    /// kept for the life of the process. A failed fetch is not kept: the next use tries again.
    Secret {
        client: aws_sdk_secretsmanager::Client,
        secret_id: String,
        cached: Mutex<Option<Auth>>,
    },
}

impl AuthSource {
    pub fn secret(client: aws_sdk_secretsmanager::Client, secret_id: impl Into<String>) -> Self {
        AuthSource::Secret {
            client,
            secret_id: secret_id.into(),
            cached: Mutex::new(None),
        }
    }

    /// Whether requests will carry credentials (Basic or SigV4).
    pub fn sends_credentials(&self) -> bool {
        !matches!(self, AuthSource::Ready(Auth::None))
    }

    /// The authentication to use now. Concurrent first uses wait for one fetch.
    pub async fn get(&self) -> Result<Auth, TargetConfigError> {
        match self {
            AuthSource::Ready(auth) => Ok(auth.clone()),
            AuthSource::Secret {
                client,
                secret_id,
                cached,
            } => {
                let mut slot = cached.lock().await;
                if let Some(auth) = slot.as_ref() {
                    return Ok(auth.clone());
                }
                let auth = basic_auth_from_secret(client, secret_id).await?;
                *slot = Some(auth.clone());
                Ok(auth)
            }
        }
    }
}

impl std::fmt::Debug for AuthSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthSource::Ready(auth) => write!(f, "Ready({auth:?})"),
            AuthSource::Secret { secret_id, .. } => write!(f, "Secret({secret_id})"),
        }
    }
}

impl From<Auth> for AuthSource {
    fn from(auth: Auth) -> Self {
        AuthSource::Ready(auth)
    }
}
