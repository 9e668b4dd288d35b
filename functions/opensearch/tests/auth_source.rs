//! The target's Basic-auth credentials from Secrets Manager (moto): fetched on first use, not
//! before; kept, so later uses make no call; a failed fetch is not kept, so the next use
//! succeeds once the secret is readable.

use backfill_opensearch::{Auth, AuthSource};

#[tokio::test]
async fn the_secret_is_fetched_once_on_first_use_and_failures_are_not_kept() {
    let moto = backfill_harness::Moto::start().unwrap_or_else(|e| panic!("{e}"));
    let cfg = backfill_harness::sdk_config(&moto.endpoint).await;
    let sm = aws_sdk_secretsmanager::Client::new(&cfg);
    let secret = r#"{"username":"backfill","password":"p4ss-w0rd-for-auth-source"}"#;

    // Built before the secret exists: building fetches nothing.
    let source = AuthSource::secret(sm.clone(), "target-basic");
    assert!(source.sends_credentials());
    let e = source.get().await.unwrap_err().to_string();
    assert!(
        e.contains("target-basic") && e.contains("GetSecretValue"),
        "{e}"
    );

    // The failure was not kept: once the secret exists, the next use reads it.
    sm.create_secret()
        .name("target-basic")
        .secret_string(secret)
        .send()
        .await
        .unwrap();
    match source.get().await.unwrap() {
        Auth::Basic { username, password } => {
            assert_eq!(username, "backfill");
            assert_eq!(password, "p4ss-w0rd-for-auth-source");
        }
        other => panic!("{other:?}"),
    }

    // Kept: with the secret gone, uses still have the credentials (no call is made).
    sm.delete_secret()
        .secret_id("target-basic")
        .force_delete_without_recovery(true)
        .send()
        .await
        .unwrap();
    assert!(sm
        .get_secret_value()
        .secret_id("target-basic")
        .send()
        .await
        .is_err());
    for _ in 0..3 {
        assert!(matches!(source.get().await, Ok(Auth::Basic { .. })));
    }
    // …and never shows the password.
    assert!(!format!("{source:?}").contains("p4ss"));
}

#[tokio::test]
async fn settings_resolve_with_the_processs_aws_configuration() {
    use aws_credential_types::{provider::SharedCredentialsProvider, Credentials};
    use aws_types::region::Region;
    use aws_types::SdkConfig;
    use backfill_opensearch::AuthSetting;

    let sigv4 = AuthSetting::SigV4 {
        region: None,
        service: "es".into(),
    };
    let bare = SdkConfig::builder().build();
    let e = AuthSource::resolve(&sigv4, &bare).unwrap_err().to_string();
    assert!(e.contains("region"), "{e}");

    let creds = Credentials::new("AKIDEXAMPLE", "secret", None, None, "test");
    let aws = SdkConfig::builder()
        .region(Region::new("eu-west-1"))
        .credentials_provider(SharedCredentialsProvider::new(creds))
        .build();
    match AuthSource::resolve(&sigv4, &aws)
        .unwrap()
        .get()
        .await
        .unwrap()
    {
        Auth::SigV4 {
            region, service, ..
        } => assert_eq!((region.as_str(), service.as_str()), ("eu-west-1", "es")),
        other => panic!("{other:?}"),
    }
    let named = AuthSetting::SigV4 {
        region: Some("us-east-2".into()),
        service: "aoss".into(),
    };
    match AuthSource::resolve(&named, &aws)
        .unwrap()
        .get()
        .await
        .unwrap()
    {
        Auth::SigV4 { region, .. } => assert_eq!(region, "us-east-2"),
        other => panic!("{other:?}"),
    }

    let basic = AuthSetting::Basic {
        username: "u".into(),
        password: "never-printed".into(),
    };
    assert!(!format!("{basic:?}").contains("never-printed"));
    assert!(!AuthSource::resolve(&AuthSetting::None, &bare)
        .unwrap()
        .sends_credentials());
}
