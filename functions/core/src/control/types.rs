//! `start`'s check of type mappings (the rules live in `crate::type_mapping`).

use super::api::{ControlError, StartRequest};
use super::{selected, Control};
use crate::model::BackfillRecord;
use crate::type_mapping::{check_start, TypeMappings};

/// Rules are fixed at the first start: a later start that names other rules is refused rather
/// than resumed with rules it did not ask for.
pub(super) fn same_type_mappings(
    record: &BackfillRecord,
    req: &StartRequest,
) -> Result<(), ControlError> {
    if req.type_mappings.is_empty() || req.type_mappings == record.type_mappings.rules {
        return Ok(());
    }
    let list = |rules: &[crate::type_mapping::TypeRule]| {
        let v: Vec<String> = rules.iter().map(|r| r.to_string()).collect();
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(" ")
        }
    };
    Err(ControlError::BadRequest(format!(
        "backfill {} was started with type mappings {}; they cannot change (asked: {}). Start without --type-mapping to resume, or start a new backfill",
        record.id,
        list(&record.type_mappings.rules),
        list(&req.type_mappings)
    )))
}

impl Control {
    /// The type mappings a first start records: its rules checked against the selected indices'
    /// mapping types, with the merged targets found. Refused (400) when a rule is malformed or
    /// names nothing, or when an index has several types and no rule (the message names its
    /// types, their document counts and the rules to pass).
    pub(super) async fn type_mappings_for(
        &self,
        repository: &str,
        name: &str,
        req: &StartRequest,
    ) -> Result<TypeMappings, ControlError> {
        let snapshots = self.snapshots.clone();
        let (repo, name) = (repository.to_string(), name.to_string());
        let (selection, system) = (req.indices.clone(), req.include_system_indices);
        let rules = req.type_mappings.clone();
        let checked = tokio::task::spawn_blocking(move || {
            let snap = snapshots.open(&repo, &name)?;
            check_start(&snap, |n| selected(n, &selection, system), rules)
        })
        .await
        .map_err(|e| ControlError::Internal(format!("checking type mappings: {e}")))?;
        match checked {
            Ok(plan) => {
                for u in &plan.unmapped {
                    tracing::warn!(source = %u, "no type mapping rule: its documents are reported as unmapped_type, not migrated");
                }
                Ok(plan.mappings)
            }
            Err(e) if e.is_bad_request() => Err(ControlError::BadRequest(e.to_string())),
            Err(e) => Err(ControlError::Unavailable(e.to_string())),
        }
    }
}
