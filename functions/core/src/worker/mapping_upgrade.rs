//! Mappings of indices created by Elasticsearch 1.x/2.x, made acceptable to OpenSearch: the
//! same fields, searchable the same way, in the forms Elasticsearch 5+ took over.
//!
//! The rules follow what Elasticsearch 5 did when it upgraded a 2.x index's mapping
//! (`StringFieldMapper.TypeParser` turned `string` into `text` or `keyword`; the 5.0 breaking
//! changes for mappings) and what OpenSearch (from Elasticsearch 7.10) no longer parses:
//! - `string`: `index: not_analyzed` or `no` → `keyword` (`no`: `index: false`); otherwise
//!   `text`; parameters the new type does not take are dropped (`doc_values`, `ignore_above`
//!   and `null_value` on text; analyzers on keyword), `position_offset_gap` becomes
//!   `position_increment_gap`, a `fielddata` object (a loading/format setting) is dropped;
//! - `index: no` → `index: false`, `analyzed`/`not_analyzed` on other types dropped; the 1.x
//!   `index_analyzer` is `analyzer`; `yes`/`no`/`true`/`false` strings of boolean parameters
//!   become booleans; a `norms` object (`{"enabled": false}`) becomes a boolean;
//! - gone parameters dropped: `include_in_all`, `precision_step`, `path: just_name|full`,
//!   `geo_point`'s `lat_lon`, `geohash*`, `validate*`, `normalize*`;
//! - camel-case date formats (`dateOptionalTime`) in their snake-case names
//!   (`date_optional_time`);
//! - metadata fields: `_all`, `_timestamp`, `_ttl`, `_size`, `_boost`, `_analyzer`, `_index`,
//!   `_type`, `_id`, `_uid`, `_parent` dropped; `_source` keeps `enabled`/`includes`/`excludes`
//!   (not 1.x `compress`), `_routing` keeps `required`.
//!
//! On a mapping of Elasticsearch 5+ or OpenSearch these rules change nothing.

use serde_json::{Map, Value};

/// Metadata fields OpenSearch refuses in a mapping (1.x/2.x had them).
const GONE_METADATA: &[&str] = &[
    "_all",
    "_timestamp",
    "_ttl",
    "_size",
    "_boost",
    "_analyzer",
    "_index",
    "_type",
    "_id",
    "_uid",
    "_parent",
];

/// Field parameters that no type takes any more.
const GONE_PARAMETERS: &[&str] = &["include_in_all", "precision_step"];

/// Parameters whose 1.x values were strings (`"yes"`, `"true"`) and are booleans now.
const BOOLEAN_PARAMETERS: &[&str] = &[
    "store",
    "doc_values",
    "enabled",
    "coerce",
    "ignore_malformed",
    "include_in_parent",
    "include_in_root",
    "eager_global_ordinals",
];

/// One typeless mapping (`{"properties": …, "_source": …, "dynamic_templates": …}`), upgraded.
pub fn upgrade(mapping: &mut Map<String, Value>) {
    for gone in GONE_METADATA {
        mapping.remove(*gone);
    }
    if let Some(Value::Object(source)) = mapping.get_mut("_source") {
        source.retain(|k, _| matches!(k.as_str(), "enabled" | "includes" | "excludes"));
        booleans(source);
    }
    if let Some(Value::Object(routing)) = mapping.get_mut("_routing") {
        routing.retain(|k, _| k == "required");
        if let Some(required) = routing.get("required").and_then(as_bool) {
            routing.insert("required".into(), Value::Bool(required));
        }
    }
    if let Some(Value::Array(formats)) = mapping.get_mut("dynamic_date_formats") {
        for f in formats.iter_mut() {
            if let Value::String(s) = f {
                *s = date_format(s);
            }
        }
    }
    if let Some(Value::Array(templates)) = mapping.get_mut("dynamic_templates") {
        for template in templates.iter_mut().filter_map(Value::as_object_mut) {
            for body in template.values_mut().filter_map(Value::as_object_mut) {
                if let Some(Value::Object(def)) = body.get_mut("mapping") {
                    field(def);
                }
            }
        }
    }
    properties(mapping);
}

/// The fields under `properties` (of a type, an object or a nested field).
fn properties(owner: &mut Map<String, Value>) {
    if let Some(Value::Object(props)) = owner.get_mut("properties") {
        for def in props.values_mut().filter_map(Value::as_object_mut) {
            field(def);
        }
    }
}

/// One field's definition, with its sub-fields and multi-fields.
fn field(def: &mut Map<String, Value>) {
    for gone in GONE_PARAMETERS {
        def.remove(*gone);
    }
    // The 1.x multi-field `path` (an `alias` field's `path` names its field and stays).
    if matches!(
        def.get("path").and_then(Value::as_str),
        Some("just_name" | "full")
    ) {
        def.remove("path");
    }
    if let Some(analyzer) = def.remove("index_analyzer") {
        def.entry("analyzer").or_insert(analyzer);
    }
    booleans(def);
    if let Some(Value::Object(norms)) = def.get("norms") {
        match norms.get("enabled").and_then(as_bool) {
            Some(enabled) => def.insert("norms".into(), Value::Bool(enabled)),
            None => def.remove("norms"),
        };
    }
    let index = def.get("index").and_then(Value::as_str).map(str::to_string);
    match index.as_deref() {
        Some("no") => {
            def.insert("index".into(), Value::Bool(false));
        }
        Some("analyzed" | "not_analyzed") => {
            def.remove("index");
        }
        _ => {}
    }
    match def.get("type").and_then(Value::as_str) {
        Some("string") => string(def, index.as_deref()),
        Some("geo_point") => def.retain(|k, _| {
            !(k == "lat_lon"
                || k.starts_with("geohash")
                || k.starts_with("validate")
                || k.starts_with("normalize"))
        }),
        _ => {
            if matches!(def.get("fielddata"), Some(Value::Object(_))) {
                def.remove("fielddata");
            }
        }
    }
    if let Some(Value::String(format)) = def.get_mut("format") {
        *format = format
            .split("||")
            .map(date_format)
            .collect::<Vec<_>>()
            .join("||");
    }
    properties(def);
    if let Some(Value::Object(fields)) = def.get_mut("fields") {
        for sub in fields.values_mut().filter_map(Value::as_object_mut) {
            field(sub);
        }
    }
}

/// `string` → `keyword` (not analyzed, or not indexed) or `text`.
fn string(def: &mut Map<String, Value>, index: Option<&str>) {
    let keyword = matches!(index, Some("not_analyzed" | "no"));
    if keyword {
        def.insert("type".into(), Value::from("keyword"));
        for k in [
            "analyzer",
            "search_analyzer",
            "search_quote_analyzer",
            "term_vector",
            "position_offset_gap",
            "fielddata",
        ] {
            def.remove(k);
        }
    } else {
        def.insert("type".into(), Value::from("text"));
        for k in ["doc_values", "ignore_above", "null_value"] {
            def.remove(k);
        }
        if let Some(gap) = def.remove("position_offset_gap") {
            def.entry("position_increment_gap").or_insert(gap);
        }
        if !matches!(def.get("fielddata"), None | Some(Value::Bool(_))) {
            def.remove("fielddata");
        }
    }
}

fn booleans(def: &mut Map<String, Value>) {
    for k in BOOLEAN_PARAMETERS {
        if let Some(v) = def.get_mut(*k) {
            if let (Value::String(_), Some(b)) = (&*v, as_bool(v)) {
                *v = Value::Bool(b);
            }
        }
    }
}

fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.as_str() {
            "true" | "yes" | "on" => Some(true),
            "false" | "no" | "off" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// `dateOptionalTime` → `date_optional_time`; a pattern (`yyyy-MM-dd`) or a snake-case name
/// as it is. Camel-case names are letters only, starting lower case, with an upper-case letter.
fn date_format(format: &str) -> String {
    let camel = format.chars().all(|c| c.is_ascii_alphabetic())
        && format.starts_with(|c: char| c.is_ascii_lowercase())
        && format.chars().any(|c| c.is_ascii_uppercase());
    // Patterns are letters too (`yyyyMMdd`): a name has a lower-case letter after an upper one.
    let pattern = format.chars().all(|c| {
        matches!(
            c,
            'y' | 'Y' | 'M' | 'd' | 'D' | 'H' | 'h' | 'm' | 's' | 'S' | 'Z'
        )
    });
    if !camel || pattern {
        return format.to_string();
    }
    let mut out = String::new();
    for c in format.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn upgraded(v: Value) -> Value {
        let mut m = v.as_object().unwrap().clone();
        upgrade(&mut m);
        Value::Object(m)
    }

    #[test]
    fn strings_become_text_or_keyword_with_the_parameters_each_takes() {
        let got = upgraded(json!({"properties": {
            "title": {"type": "string", "analyzer": "english", "doc_values": false,
                      "position_offset_gap": 100, "fielddata": {"format": "disabled"},
                      "fields": {"raw": {"type": "string", "index": "not_analyzed", "ignore_above": 256}}},
            "level": {"type": "string", "index": "not_analyzed", "store": "yes", "doc_values": "true",
                      "path": "just_name"},
            "secret": {"type": "string", "index": "no", "include_in_all": false},
            "user": {"type": "object", "properties": {"name": {"type": "string", "index_analyzer": "simple"}}}
        }}));
        assert_eq!(
            got,
            json!({"properties": {
                "title": {"type": "text", "analyzer": "english", "position_increment_gap": 100,
                          "fields": {"raw": {"type": "keyword", "ignore_above": 256}}},
                "level": {"type": "keyword", "store": true, "doc_values": true},
                "secret": {"type": "keyword", "index": false},
                "user": {"type": "object", "properties": {"name": {"type": "text", "analyzer": "simple"}}}
            }})
        );
    }

    #[test]
    fn metadata_fields_dates_numbers_and_geo_points_take_their_current_forms() {
        let got = upgraded(json!({
            "_all": {"enabled": false}, "_timestamp": {"enabled": true}, "_ttl": {"enabled": true},
            "_source": {"compress": true, "excludes": ["x"]}, "_routing": {"required": "true", "path": "u"},
            "dynamic_date_formats": ["dateOptionalTime", "yyyy/MM/dd"],
            "dynamic_templates": [{"strings": {"match_mapping_type": "string",
                                  "mapping": {"type": "string", "index": "not_analyzed"}}}],
            "properties": {
                "at": {"type": "date", "format": "dateOptionalTime||epoch_millis||yyyyMMdd"},
                "n": {"type": "long", "precision_step": 8, "index": "not_analyzed", "norms": {"enabled": false}},
                "where": {"type": "geo_point", "lat_lon": true, "geohash_prefix": true}
            }
        }));
        assert_eq!(
            got,
            json!({
                "_source": {"excludes": ["x"]}, "_routing": {"required": true},
                "dynamic_date_formats": ["date_optional_time", "yyyy/MM/dd"],
                "dynamic_templates": [{"strings": {"match_mapping_type": "string",
                                      "mapping": {"type": "keyword"}}}],
                "properties": {
                    "at": {"type": "date", "format": "date_optional_time||epoch_millis||yyyyMMdd"},
                    "n": {"type": "long", "norms": false},
                    "where": {"type": "geo_point"}
                }
            })
        );
    }

    #[test]
    fn a_current_mapping_is_left_as_it_is() {
        let current = json!({
            "_source": {"enabled": true}, "_routing": {"required": true},
            "properties": {
                "title": {"type": "text", "fields": {"raw": {"type": "keyword", "ignore_above": 256}}},
                "at": {"type": "date", "format": "strict_date_optional_time||epoch_millis"},
                "v": {"type": "knn_vector", "dimension": 3},
                "tags": {"type": "keyword", "index": false, "doc_values": true},
                "label": {"type": "alias", "path": "tags"}
            }
        });
        assert_eq!(upgraded(current.clone()), current);
    }
}
