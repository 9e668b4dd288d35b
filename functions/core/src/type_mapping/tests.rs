use super::*;
use serde_json::json;

fn rule(s: &str) -> TypeRule {
    s.parse().unwrap()
}

fn it(index: &str, types: &[&str]) -> IndexTypes {
    IndexTypes {
        index: index.into(),
        types: types.iter().map(|t| t.to_string()).collect(),
    }
}

#[test]
fn rules_parse_from_the_cli_form_and_round_trip_as_json() {
    let r = rule("logs-*/error=logs_error");
    assert_eq!(
        r,
        TypeRule {
            index: "logs-*".into(),
            doc_type: "error".into(),
            target: "logs_error".into()
        }
    );
    assert_eq!(r.to_string(), "logs-*/error=logs_error");
    let j = serde_json::to_value(&r).unwrap();
    assert_eq!(
        j,
        json!({"index": "logs-*", "type": "error", "target": "logs_error"})
    );
    assert_eq!(serde_json::from_value::<TypeRule>(j).unwrap(), r);
    assert!(r.matches("logs-2020", "error") && !r.matches("logs-2020", "access"));
    assert!(!r.matches("logs", "error"));
    assert!(rule("logs/*=logs").matches("logs", "anything"));
}

#[test]
fn bad_rules_say_what_is_wrong() {
    for (bad, says) in [
        ("logs=x", "INDEX/TYPE=TARGET"),
        ("logs/error", "INDEX/TYPE=TARGET"),
        ("/error=x", "index is empty"),
        ("logs/=x", "type is empty"),
        ("lo*gs/error=x", "not at its end"),
        ("logs/error=Logs", "upper-case"),
        ("logs/error=a,b", "character"),
        ("logs/error=_x", "starts with"),
        ("logs/error=", "is empty"),
    ] {
        let e = bad.parse::<TypeRule>().unwrap_err().to_string();
        assert!(e.contains(says), "{bad}: {e}");
    }
}

#[test]
fn the_first_matching_rule_decides_and_unnamed_indices_keep_their_name() {
    let m = TypeMappings {
        rules: vec![rule("logs/error=errors"), rule("logs/*=logs_rest")],
        merged: Default::default(),
    };
    assert_eq!(
        m.target_of("logs", Some("error")).as_deref(),
        Some("errors")
    );
    assert_eq!(
        m.target_of("logs", Some("access")).as_deref(),
        Some("logs_rest")
    );
    assert_eq!(m.target_of("other", Some("t")).as_deref(), Some("other"));
    let m = TypeMappings {
        rules: vec![rule("logs/error=errors")],
        merged: Default::default(),
    };
    assert_eq!(m.target_of("logs", Some("access")), None);
    assert_eq!(m.target_of("logs", None), None);
}

#[test]
fn a_plan_finds_merges_unmapped_types_and_unruled_multi_type_indices() {
    let indices = [
        it("logs", &["access", "error"]),
        it("metrics", &["cpu", "mem"]),
        it("old", &["doc"]),
        it("single", &["doc"]),
    ];
    let p = plan(
        vec![
            rule("logs/*=logs"),
            rule("metrics/cpu=cpu"),
            rule("old/*=single"),
        ],
        &indices,
    )
    .unwrap();
    assert_eq!(p.unmapped, vec!["metrics/mem".to_string()]);
    assert!(p.unruled_multi_type.is_empty());
    assert_eq!(
        p.mappings.merged,
        [
            (
                "logs".to_string(),
                vec!["logs/access".to_string(), "logs/error".to_string()]
            ),
            (
                "single".to_string(),
                vec!["old/doc".to_string(), "single/doc".to_string()]
            ),
        ]
        .into_iter()
        .collect()
    );
    // Split: nothing merged.
    let p = plan(
        vec![rule("logs/error=le"), rule("logs/access=la")],
        &indices[..1],
    )
    .unwrap();
    assert!(p.mappings.merged.is_empty() && p.unmapped.is_empty());
    // No rule for a multi-type index.
    let p = plan(vec![], &indices).unwrap();
    assert_eq!(
        p.unruled_multi_type
            .iter()
            .map(|i| i.index.as_str())
            .collect::<Vec<_>>(),
        ["logs", "metrics"]
    );
    // A rule that matches nothing is a mistake worth a refusal.
    let e = plan(vec![rule("logs/eror=x")], &indices)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("logs/eror=x") && e.contains("logs/{access,error}"),
        "{e}"
    );
}

#[test]
fn created_bodies_carry_the_mappings_of_the_types_routed_to_each_target() {
    use snapshot::repo::node::Node;
    let mappings = json!({
        "error": {"properties": {"message": {"type": "text"}}},
        "access": {"properties": {"status": {"type": "integer"}}}
    });
    let meta = IndexMetadata {
        name: "logs".into(),
        repository_id: "x".into(),
        number_of_shards: 2,
        settings: Node::from_json(&json!({"index.number_of_replicas": "0"})),
        mappings: Node::from_json(&mappings),
        version_created: None,
        shard_path_type: 0,
    };
    let split = TypeMappings {
        rules: vec![rule("logs/error=le"), rule("logs/access=la")],
        merged: Default::default(),
    };
    let bodies = split.router("logs", &meta).create_bodies(&meta);
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[0].0, "la");
    assert_eq!(
        bodies[0].1["mappings"],
        json!({"properties": {"status": {"type": "integer"}}})
    );
    assert_eq!(
        bodies[1].1["mappings"],
        json!({"properties": {"message": {"type": "text"}}})
    );
    assert_eq!(
        bodies[1].1["settings"]["index"]["number_of_shards"],
        json!(2)
    );
    let merge = TypeMappings {
        rules: vec![rule("logs/*=logs")],
        merged: [(
            "logs".to_string(),
            vec!["logs/access".into(), "logs/error".into()],
        )]
        .into(),
    };
    let router = merge.router("logs", &meta);
    let bodies = router.create_bodies(&meta);
    assert_eq!(bodies.len(), 1);
    assert_eq!(
        bodies[0].1["mappings"],
        json!({"properties": {"status": {"type": "integer"}, "message": {"type": "text"}}})
    );
    assert_eq!(
        router.route(Some("error")),
        Route::Send {
            target: "logs",
            create: true
        }
    );
    assert_eq!(
        router.other_sources("logs", Some("error")),
        vec!["logs/access".to_string()]
    );
    let only_error = TypeMappings {
        rules: vec![rule("logs/error=le")],
        merged: Default::default(),
    };
    let r = only_error.router("logs", &meta);
    assert_eq!(r.route(Some("access")), Route::Unmapped);
    assert_eq!(
        r.route(Some("error")),
        Route::Send {
            target: "le",
            create: false
        }
    );
    assert_eq!(
        Router::same_name("x").route(None),
        Route::Send {
            target: "x",
            create: false
        }
    );
}
