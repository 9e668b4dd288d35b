//! Basic auth credentials kept in AWS Secrets Manager.

use aws_sdk_secretsmanager::error::DisplayErrorContext;

use crate::{Auth, TargetConfigError};

/// Credentials for Basic auth from Secrets Manager: the secret's string is the JSON
/// `{"username": …, "password": …}` (other fields are ignored). Needs
/// `secretsmanager:GetSecretValue` on the secret (and `kms:Decrypt` with a customer key).
///
/// Errors describe what is wrong with the secret's shape but never include its value.
pub async fn basic_auth_from_secret(
    sm: &aws_sdk_secretsmanager::Client,
    secret_id: &str,
) -> Result<Auth, TargetConfigError> {
    let err = |reason: String| TargetConfigError::Secret {
        secret_id: secret_id.to_string(),
        reason,
    };
    let out = sm
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| {
            err(format!(
                "GetSecretValue failed: {}",
                DisplayErrorContext(&e)
            ))
        })?;
    let text = out
        .secret_string()
        .ok_or_else(|| err("has no SecretString (a binary secret?)".into()))?;
    parse_secret(text).map_err(|reason| err(reason.into()))
}

fn parse_secret(text: &str) -> Result<Auth, &'static str> {
    // Not serde's derive: its messages quote the offending value, which could be the password.
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|_| "its value is not JSON; expected {\"username\":…,\"password\":…}")?;
    let field = |name: &str| value.get(name).and_then(|v| v.as_str()).map(str::to_string);
    let username = field("username").ok_or("its JSON has no string field \"username\"")?;
    let password = field("password").ok_or("its JSON has no string field \"password\"")?;
    Ok(Auth::Basic { username, password })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_json_gives_basic_auth_and_errors_do_not_leak_it() {
        match parse_secret(r#"{"username":"admin","password":"s3cr3t","host":"x"}"#) {
            Ok(Auth::Basic { username, password }) => {
                assert_eq!((username.as_str(), password.as_str()), ("admin", "s3cr3t"))
            }
            other => panic!("{other:?}"),
        }
        for bad in [
            r#"{"username":"admin","password":12345}"#,
            "s3cr3t",
            r#"{"user":"a"}"#,
        ] {
            let e = parse_secret(bad).unwrap_err();
            assert!(!e.contains("12345") && !e.contains("s3cr3t"), "{e}");
        }
    }
}
