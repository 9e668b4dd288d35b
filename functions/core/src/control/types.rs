//! `start`'s check of type mappings (the rules live in `crate::type_mapping`).

use super::api::{ControlError, StartRequest};
use super::service::{selected, Control};
use crate::type_mapping::{check_start, TypeMappings};

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
            Err(e) => Err(ControlError::Unavailable(format!(
                "cannot read the snapshot: {e}"
            ))),
        }
    }
}
