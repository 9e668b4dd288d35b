//! Watching what a proxy forwards: a test that sees each request go upstream (and may drop it, as
//! if its client had died before sending it) and each answer upstream gave, whether or not the
//! client got it. With an observer set, bodies are read whole before they go on (fine for
//! `_bulk` and AWS API calls; S3 object reads are better left unobserved).

use hyper::Method;

/// One request on its way upstream, or answered. Bodies are decoded when gzip.
#[derive(Debug, Clone, Copy)]
pub struct Seen<'a> {
    pub method: &'a Method,
    /// Path and query as the client sent them.
    pub path: &'a str,
    /// `X-Amz-Target` of AWS JSON calls (`DynamoDB_20120810.UpdateItem`).
    pub aws_target: Option<&'a str>,
    pub body: &'a [u8],
}

impl Seen<'_> {
    pub fn is_bulk(&self) -> bool {
        self.method == Method::POST
            && self
                .path
                .split('?')
                .next()
                .unwrap_or("")
                .ends_with("/_bulk")
    }
}

/// Told about every request the proxy forwards (not those a fault answers in its place).
/// Called on the proxy's tasks: keep it quick.
pub trait Observer: Send + Sync {
    /// Before forwarding: `false` drops the request (the client's connection is reset and
    /// nothing reaches upstream).
    fn forwarding(&self, _request: &Seen<'_>) -> bool {
        true
    }

    /// Upstream's whole answer to a forwarded request. The proxy finishes forwarding even if
    /// its client went away meanwhile, so this sees everything upstream processed.
    fn answered(&self, _request: &Seen<'_>, _status: u16, _body: &[u8]) {}
}

/// One action of a `_bulk` answer: what the target did with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkOutcome {
    /// `index`, `create`, `update` or `delete`.
    pub op: String,
    pub index: String,
    pub id: String,
    pub status: u16,
}

impl BulkOutcome {
    /// The target stored the document (201 created or 200 updated).
    pub fn is_ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// The actions of a `_bulk` answer, in order; `None` when it is not one (an error answer).
pub fn bulk_outcomes(answer: &[u8]) -> Option<Vec<BulkOutcome>> {
    let v: serde_json::Value = serde_json::from_slice(answer).ok()?;
    let items = v.get("items")?.as_array()?;
    items
        .iter()
        .map(|item| {
            let (op, r) = item.as_object()?.iter().next()?;
            Some(BulkOutcome {
                op: op.clone(),
                index: r.get("_index")?.as_str()?.to_string(),
                id: r.get("_id")?.as_str()?.to_string(),
                status: u16::try_from(r.get("status")?.as_u64()?).ok()?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_of_a_bulk_answer() {
        let answer = br#"{"took":3,"errors":true,"items":[
            {"index":{"_index":"a","_id":"1","status":201}},
            {"create":{"_index":"b","_id":"x\"y","status":429,"error":{"type":"es_rejected_execution_exception"}}}]}"#;
        let got = bulk_outcomes(answer).unwrap();
        assert_eq!(got.len(), 2);
        assert!(got[0].is_ok() && !got[1].is_ok());
        assert_eq!((got[1].op.as_str(), got[1].id.as_str()), ("create", "x\"y"));
        assert!(bulk_outcomes(br#"{"error":{},"status":503}"#).is_none());
        let seen = Seen {
            method: &Method::POST,
            path: "/idx/_bulk?refresh=false",
            aws_target: None,
            body: b"",
        };
        assert!(seen.is_bulk());
    }
}
