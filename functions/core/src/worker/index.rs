//! Target indices: checked before a shard is sent, created from the snapshot's index metadata
//! when the backfill asks for it.

use serde_json::{json, Map, Value};
use snapshot::IndexMetadata;

use crate::target::{Target, TargetError};

/// Index settings never given to a target, by prefix: the source index's identity and history
/// (a target refuses them: they are private), the source cluster's node layout (no target
/// node has its attributes, so shards would stay unassigned), blocks (a read-only source would
/// stop the backfill), lifecycle policies and remote stores of the source cluster, and index
/// modes OpenSearch does not have (Elasticsearch logsdb, time series, synthetic source).
const NOT_CARRIED: &[&str] = &[
    "index.uuid",
    "index.version.",
    "index.creation_date",
    "index.provided_name",
    "index.history.uuid",
    "index.resize.",
    "index.shrink.",
    "index.split.",
    "index.routing.allocation.",
    "index.blocks.",
    "index.verified_before_close",
    "index.frozen",
    "index.search.throttled",
    "index.store.snapshot.",
    "index.lifecycle.",
    "index.plugins.index_state_management.",
    "index.remote_store.",
    "index.mode",
    "index.mapping.source.mode",
    "index.time_series.",
    "index.routing_path",
    "index.hidden",
    "index.downsample.",
    "index.rollup.",
    "index.format",
];

fn carried(key: &str) -> bool {
    !NOT_CARRIED
        .iter()
        .any(|p| key == *p || (p.ends_with('.') && key.starts_with(p)))
}

/// The snapshot's index settings as flat `index.*` keys (ES writes them flat; nested forms are
/// flattened).
fn flat_settings(meta: &IndexMetadata) -> Map<String, Value> {
    fn walk(prefix: &str, v: &Value, out: &mut Map<String, Value>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, v, out);
                }
            }
            other => {
                out.insert(prefix.to_string(), other.clone());
            }
        }
    }
    let mut out = Map::new();
    walk("", &meta.settings.to_json(), &mut out);
    out
}

/// A create-index body from source metadata: the snapshot's index settings (analysis, codec,
/// refresh interval, replicas, …) but those a target must not get ([`settings_not_carried`]),
/// the shard count of the snapshot, and mapping types removed (OpenSearch has none).
pub fn create_index_body(meta: &IndexMetadata) -> Value {
    // `{"index": {"number_of_shards": 2, "analysis.analyzer.a.type": …}}`: keys below `index`
    // stay dotted, which every OpenSearch version reads.
    let mut settings: Map<String, Value> = flat_settings(meta)
        .into_iter()
        .filter(|(k, _)| carried(k))
        .filter_map(|(k, v)| Some((k.strip_prefix("index.")?.to_string(), v)))
        .collect();
    settings.insert("number_of_shards".into(), json!(meta.number_of_shards));
    json!({
        "settings": {"index": settings},
        "mappings": typeless_mappings(&meta.mappings.to_json()),
    })
}

/// The snapshot's index settings that [`create_index_body`] leaves out, to name them in the log.
pub fn settings_not_carried(meta: &IndexMetadata) -> Vec<String> {
    flat_settings(meta)
        .into_iter()
        .map(|(k, _)| k)
        .filter(|k| k.starts_with("index.") && !carried(k))
        .collect()
}

/// The most settings dropped one by one before giving up on creating an index.
const MAX_REFUSED_SETTINGS: usize = 32;

/// Creates `index` from `body`. A setting the target refuses (one it does not know, such as
/// another distribution's or a plugin's, or a value it does not take) is dropped and the
/// creation tried again: returns the settings dropped that way, with the target's reasons.
pub async fn create_index(
    target: &dyn Target,
    index: &str,
    body: &Value,
) -> Result<Vec<String>, TargetError> {
    let mut body = body.clone();
    let mut refused = Vec::new();
    loop {
        match target.create_index(index, &body).await {
            Ok(()) => return Ok(refused),
            Err(e) => {
                let setting = e.refused_setting().map(str::to_string);
                let name = setting.as_deref().and_then(|k| k.strip_prefix("index."));
                let dropped = match (body["settings"]["index"].as_object_mut(), name) {
                    (Some(s), Some(k))
                        if refused.len() < MAX_REFUSED_SETTINGS && k != "number_of_shards" =>
                    {
                        s.remove(k).is_some()
                    }
                    _ => false,
                };
                if !dropped {
                    return Err(e);
                }
                refused.push(format!("{} ({e})", setting.unwrap_or_default()));
            }
        }
    }
}

/// `{"<type>": {mapping}}` (one or several types) → one typeless mapping. With several types
/// (indices created by ES 5.x) their properties are merged; the types themselves are not kept.
pub fn typeless_mappings(by_type: &Value) -> Value {
    let Some(types) = by_type.as_object() else {
        return json!({});
    };
    let mut merged = Map::new();
    let mut properties = Map::new();
    let mut has_properties = false;
    for (name, mapping) in types {
        if name == "_default_" {
            continue;
        }
        let Some(m) = mapping.as_object() else {
            continue;
        };
        for (k, v) in m {
            match k.as_str() {
                "properties" => {
                    has_properties = true;
                    if let Some(p) = v.as_object() {
                        for (field, def) in p {
                            properties
                                .entry(field.clone())
                                .or_insert_with(|| def.clone());
                        }
                    }
                }
                _ => {
                    merged.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
        }
    }
    if has_properties {
        merged.insert("properties".into(), Value::Object(properties));
    }
    // Elasticsearch 1.x/2.x forms (`string`, …) in those OpenSearch takes.
    super::mapping_upgrade::upgrade(&mut merged);
    Value::Object(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_carried_but_identity_layout_blocks_and_modes() {
        let keys = [
            "index.analysis.analyzer.a.type",
            "index.codec",
            "index.refresh_interval",
            "index.number_of_replicas",
            "index.uuid",
            "index.version.created",
            "index.creation_date",
            "index.provided_name",
            "index.routing.allocation.include._tier_preference",
            "index.blocks.write",
            "index.mode",
            "index.lifecycle.name",
        ];
        let kept: Vec<&str> = keys.iter().copied().filter(|k| carried(k)).collect();
        assert_eq!(
            kept,
            [
                "index.analysis.analyzer.a.type",
                "index.codec",
                "index.refresh_interval",
                "index.number_of_replicas"
            ]
        );
        // A prefix entry without a dot matches the key itself only.
        assert!(carried("index.modeled"));
    }

    /// Refuses every setting it does not know, as a real node answers.
    struct Picky {
        known: &'static [&'static str],
        created: std::sync::Mutex<Vec<Value>>,
    }

    #[async_trait::async_trait]
    impl Target for Picky {
        async fn bulk(
            &self,
            _: &[&crate::outgoing::BulkDoc],
        ) -> Result<Vec<crate::target::BulkItemResult>, TargetError> {
            unreachable!()
        }
        async fn index_exists(&self, _: &str) -> Result<bool, TargetError> {
            Ok(false)
        }
        async fn create_index(&self, _: &str, body: &Value) -> Result<(), TargetError> {
            for k in body["settings"]["index"].as_object().unwrap().keys() {
                let k = format!("index.{k}");
                if !self.known.contains(&k.as_str()) {
                    return Err(TargetError::Refused {
                        status: 400,
                        body: format!(
                            r#"{{"error":{{"type":"illegal_argument_exception","reason":"unknown setting [{k}] please check that any required plugins are installed"}},"status":400}}"#
                        ),
                    });
                }
            }
            self.created.lock().unwrap().push(body.clone());
            Ok(())
        }
        async fn get_source(
            &self,
            _: &str,
            _: &str,
            _: Option<&str>,
        ) -> Result<Option<Vec<u8>>, TargetError> {
            unreachable!()
        }
    }

    #[tokio::test]
    async fn settings_the_target_refuses_are_dropped_one_by_one_and_named() {
        let target = Picky {
            known: &["index.number_of_shards", "index.codec"],
            created: Default::default(),
        };
        let body = json!({"settings": {"index": {"number_of_shards": 2, "codec": "best_compression",
            "knn": true, "foo.bar": "x"}}, "mappings": {}});
        let refused = create_index(&target, "logs", &body).await.unwrap();
        assert_eq!(refused.len(), 2, "{refused:?}");
        assert!(refused.iter().any(|r| r.starts_with("index.knn (")));
        assert!(refused.iter().any(|r| r.starts_with("index.foo.bar (")));
        assert_eq!(
            target.created.lock().unwrap()[0]["settings"],
            json!({"index": {"number_of_shards": 2, "codec": "best_compression"}})
        );
        // A refusal that names no setting is the caller's error.
        let none = Picky {
            known: &[],
            created: Default::default(),
        };
        let e = create_index(
            &none,
            "logs",
            &json!({"settings": {"index": {"number_of_shards": 1}}}),
        )
        .await
        .unwrap_err();
        assert!(e.refused_setting() == Some("index.number_of_shards"), "{e}");
    }

    #[test]
    fn types_are_removed_and_their_properties_merged() {
        let m = json!({
            "type1": {"_all": {"enabled": false}, "properties": {"title": {"type": "text", "include_in_all": false}}},
            "type2": {"properties": {"content": {"type": "text"}}, "dynamic": "strict"},
            "_default_": {"properties": {"x": {"type": "long"}}}
        });
        assert_eq!(
            typeless_mappings(&m),
            json!({"properties": {"title": {"type": "text"}, "content": {"type": "text"}}, "dynamic": "strict"})
        );
        assert_eq!(
            typeless_mappings(&json!({"_doc": {"properties": {}}})),
            json!({"properties": {}})
        );
    }
}
