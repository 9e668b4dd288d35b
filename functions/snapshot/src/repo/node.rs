//! A document tree for repository metadata: what SMILE blobs and the JSON `index-N` decode to.
//!
//! SMILE carries raw binary values (`meta_hash`) that JSON cannot, so metadata is decoded into
//! this small tree rather than into `serde_json::Value`.

use base64::Engine;

#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Null,
    Bool(bool),
    Int(i64),
    /// Integers that do not fit an i64 (SMILE BigInteger), as their decimal text.
    BigInt(String),
    Float(f64),
    /// SMILE BigDecimal, as its decimal text.
    BigDecimal(String),
    String(String),
    Binary(Vec<u8>),
    Array(Vec<Node>),
    /// Keys in document order; duplicate keys are kept as written.
    Object(Vec<(String, Node)>),
}

impl Node {
    /// The value under `key` if this is an object that has it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Node::Int(i) => Some(*i),
            Node::Float(f) if f.fract() == 0.0 => Some(*f as i64),
            // Settings are strings in index metadata ("index.number_of_shards": "1").
            Node::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Node::Bool(b) => Some(*b),
            Node::String(s) => match s.as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Node]> {
        match self {
            Node::Array(a) => Some(a),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&[(String, Node)]> {
        match self {
            Node::Object(o) => Some(o),
            _ => None,
        }
    }

    pub fn as_binary(&self) -> Option<&[u8]> {
        match self {
            Node::Binary(b) => Some(b),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Node::Null)
    }

    /// Converts to JSON for display; binary values become base64 strings.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Int(i) => Value::from(*i),
            Node::BigInt(s) | Node::BigDecimal(s) => serde_json::from_str(s)
                .ok()
                .unwrap_or_else(|| Value::String(s.clone())),
            Node::Float(f) => serde_json::Number::from_f64(*f)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            Node::String(s) => Value::String(s.clone()),
            Node::Binary(b) => Value::String(base64::engine::general_purpose::STANDARD.encode(b)),
            Node::Array(a) => Value::Array(a.iter().map(Node::to_json).collect()),
            Node::Object(o) => {
                Value::Object(o.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
        }
    }

    pub fn from_json(v: &serde_json::Value) -> Node {
        use serde_json::Value;
        match v {
            Value::Null => Node::Null,
            Value::Bool(b) => Node::Bool(*b),
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Node::Int(i)
                } else if let Some(u) = n.as_u64() {
                    Node::BigInt(u.to_string())
                } else {
                    Node::Float(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(s) => Node::String(s.clone()),
            Value::Array(a) => Node::Array(a.iter().map(Node::from_json).collect()),
            Value::Object(o) => Node::Object(
                o.iter()
                    .map(|(k, v)| (k.clone(), Node::from_json(v)))
                    .collect(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_strings_read_as_numbers() {
        let n = Node::Object(vec![(
            "index.number_of_shards".into(),
            Node::String("3".into()),
        )]);
        assert_eq!(
            n.get("index.number_of_shards").and_then(Node::as_i64),
            Some(3)
        );
        assert_eq!(n.get("missing"), None);
    }

    #[test]
    fn binary_shows_as_base64_in_json() {
        let n = Node::Binary(vec![0, 1, 2]);
        assert_eq!(n.to_json(), serde_json::json!("AAEC"));
    }
}
