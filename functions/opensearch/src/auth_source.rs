//! Where the target's credentials come from, resolved when the target is first called rather
//! than when a process starts: a function that never calls the target (start, status, …) then
//! needs no permission on the secret, and a Basic-auth deployment starts even where only the
//! functions that call the target may read the secret.

use aws_types::SdkConfig;
use tokio::sync::Mutex;

use crate::{basic_auth_from_secret, Auth, TargetConfigError};

/// The target's authentication as a deployment configures it (environment or flags), before
/// anything is fetched. [`AuthSource::resolve`] is the one place a setting becomes credentials,
/// for the worker, the Lambdas and the CLI alike.
#[derive(Clone, PartialEq, Eq)]
pub enum AuthSetting {
    None,
    /// Basic auth from a Secrets Manager secret `{"username": …, "password": …}`.
    BasicSecret {
        secret_id: String,
    },
    /// Basic auth given directly (local runs).
    Basic {
        username: String,
        password: String,
    },
    /// SigV4 with the process's AWS credentials: `es` (OpenSearch Service) or `aoss`
    /// (Serverless); the region defaults to the AWS configuration's.
    SigV4 {
        region: Option<String>,
        service: String,
    },
}

impl std::fmt::Debug for AuthSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthSetting::None => write!(f, "None"),
            AuthSetting::BasicSecret { secret_id } => write!(f, "BasicSecret({secret_id})"),
            AuthSetting::Basic { username, .. } => write!(f, "Basic({username}, ***)"),
            AuthSetting::SigV4 { region, service } => write!(f, "SigV4({region:?}, {service})"),
        }
    }
}

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
    /// A setting with what the process's AWS configuration supplies: a Secrets Manager client
    /// for a secret (nothing is fetched yet), the region and credentials for SigV4.
    pub fn resolve(setting: &AuthSetting, aws: &SdkConfig) -> Result<Self, TargetConfigError> {
        Ok(match setting {
            AuthSetting::None => AuthSource::Ready(Auth::None),
            AuthSetting::BasicSecret { secret_id } => {
                AuthSource::secret(aws_sdk_secretsmanager::Client::new(aws), secret_id)
            }
            AuthSetting::Basic { username, password } => AuthSource::Ready(Auth::Basic {
                username: username.clone(),
                password: password.clone(),
            }),
            AuthSetting::SigV4 { region, service } => AuthSource::Ready(Auth::SigV4 {
                region: region
                    .clone()
                    .or_else(|| aws.region().map(|r| r.to_string()))
                    .ok_or_else(|| {
                        TargetConfigError::Auth(
                            "SigV4 needs a region: set the target region or AWS_REGION".into(),
                        )
                    })?,
                service: service.clone(),
                credentials: aws.credentials_provider().ok_or_else(|| {
                    TargetConfigError::Auth("SigV4: no AWS credentials in the environment".into())
                })?,
            }),
        })
    }

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
