//! Which ports each handler uses, in one table: the Lambdas build only these (a function gets
//! no client, and so needs no permission, for a port its handler never calls), and
//! `functions/lambdas/tests/iam.rs` derives the same sets from the handlers' code and checks
//! them against this table and the template's policies.

use super::dispatch::Handler;

/// A port of `Control`, named as its field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Port {
    Store,
    Fleet,
    Snapshots,
    StopWorkflow,
    Archive,
    Progress,
    Clusters,
}

impl Port {
    pub const ALL: [Port; 7] = [
        Port::Store,
        Port::Fleet,
        Port::Snapshots,
        Port::StopWorkflow,
        Port::Archive,
        Port::Progress,
        Port::Clusters,
    ];

    /// The field of `Control` that holds it.
    pub fn field(self) -> &'static str {
        match self {
            Port::Store => "store",
            Port::Fleet => "fleet",
            Port::Snapshots => "snapshots",
            Port::StopWorkflow => "stop_workflow",
            Port::Archive => "archive",
            Port::Progress => "progress",
            Port::Clusters => "clusters",
        }
    }
}

impl Handler {
    /// The ports this handler's code can call.
    pub fn ports(self) -> &'static [Port] {
        use Port::*;
        match self {
            Handler::Start => &[Store, Fleet, Snapshots],
            Handler::Scale | Handler::Pause | Handler::FinalizeStop => &[Store, Fleet],
            Handler::Stop => &[Store, Fleet, StopWorkflow],
            Handler::Status => &[Store, Fleet, StopWorkflow],
            Handler::Poll => &[Store, Fleet, StopWorkflow, Progress],
            Handler::DrainCheck => &[Fleet],
            Handler::Archive => &[Store, Archive],
            Handler::CatIndices => &[Store, Snapshots, Clusters],
        }
    }

    pub fn uses(self, port: Port) -> bool {
        self.ports().contains(&port)
    }
}
