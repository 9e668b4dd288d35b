//! Target indices: checked before a shard is sent, created from the snapshot's index metadata
//! when the backfill asks for it.

use serde_json::{json, Map, Value};
use snapshot::IndexMetadata;

/// A create-index body from source metadata: shard and replica counts kept, mapping types
/// removed (OpenSearch has none), settings and mapping parts OpenSearch refuses dropped.
pub fn create_index_body(meta: &IndexMetadata) -> Value {
    let settings = meta.settings.to_json();
    let get = |k: &str| {
        settings.get(k).cloned().or_else(|| {
            let mut v = &settings;
            for p in k.split('.') {
                v = v.get(p)?;
            }
            Some(v.clone())
        })
    };
    let mut index_settings = Map::new();
    index_settings.insert("number_of_shards".into(), json!(meta.number_of_shards));
    if let Some(r) = get("index.number_of_replicas") {
        index_settings.insert("number_of_replicas".into(), r);
    }
    json!({
        "settings": {"index": index_settings},
        "mappings": typeless_mappings(&meta.mappings.to_json()),
    })
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
                                .or_insert_with(|| clean(def));
                        }
                    }
                }
                // Gone in OpenSearch.
                "_all" | "include_in_all" => {}
                _ => {
                    merged.entry(k.clone()).or_insert_with(|| clean(v));
                }
            }
        }
    }
    if has_properties {
        merged.insert("properties".into(), Value::Object(properties));
    }
    Value::Object(merged)
}

fn clean(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| k.as_str() != "include_in_all")
                .map(|(k, v)| (k.clone(), clean(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
