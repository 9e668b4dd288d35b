//! What the soak sees of each worker through its own proxies: which document each `_bulk` got
//! onto the target (the ledger, for the re-sent count), and the moments a kill may land on (a
//! bulk in flight, a checkpoint just written, a claim, a release after SIGTERM).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use backfill_faults::{bulk_outcomes, Observer, Seen};

/// Where in a worker's life a kill lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Moment {
    /// Its target proxy is forwarding one of its `_bulk` requests.
    Bulk,
    /// Its DynamoDB proxy has just had DynamoDB's answer to a checkpoint (the write landed; the
    /// worker never hears of it).
    Checkpoint,
    /// Its claim of an item is on its way to DynamoDB.
    Claim,
    /// After SIGTERM (a pause), its release of the item is on its way (and, half the time, never
    /// arrives: the worker died before sending it).
    Release,
    /// An armed moment did not come in time (the worker was idle): killed as it was.
    Idle,
}

impl Moment {
    pub fn name(self) -> &'static str {
        match self {
            Moment::Bulk => "bulk",
            Moment::Checkpoint => "checkpoint",
            Moment::Claim => "claim",
            Moment::Release => "release",
            Moment::Idle => "idle",
        }
    }
}

/// A held item's write to DynamoDB, told apart by its update expression (the store's lease
/// protocol, `functions/aws/src/dynamo/items.rs`). Counter-only and other updates are `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreWrite {
    Claim,
    Checkpoint,
    Release,
    Complete,
    Fail,
    Other,
}

/// Classifies an `UpdateItem` or `TransactWriteItems` request body.
pub fn store_write(operation: &str, body: &[u8]) -> StoreWrite {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return StoreWrite::Other;
    };
    let expressions: Vec<&str> = match operation {
        "UpdateItem" => v["UpdateExpression"].as_str().into_iter().collect(),
        "TransactWriteItems" => v["TransactItems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a["Update"]["UpdateExpression"].as_str())
            .collect(),
        _ => Vec::new(),
    };
    for e in expressions {
        let (set, remove) = e.split_once(" REMOVE ").unwrap_or((e, ""));
        let kind = if set.contains("lease_holder =") {
            StoreWrite::Claim
        } else if set.contains("completed_at") {
            StoreWrite::Complete
        } else if set.contains("failures =") {
            StoreWrite::Fail
        } else if remove.contains("lease_holder") {
            StoreWrite::Release
        } else if set.contains("#position") {
            StoreWrite::Checkpoint
        } else {
            continue;
        };
        return kind;
    }
    StoreWrite::Other
}

/// One store of a document: by which worker (sequence number), when the answer came.
pub type Store = (u32, Instant);

/// Every document the target stored, in the order its answers came: (index, id) → its stores.
#[derive(Default)]
pub struct Ledger {
    sends: Mutex<HashMap<(String, String), Vec<Store>>>,
}

impl Ledger {
    fn record(&self, worker: u32, docs: impl Iterator<Item = (String, String)>) {
        let now = Instant::now();
        let mut sends = self.sends.lock().unwrap_or_else(PoisonError::into_inner);
        for key in docs {
            sends.entry(key).or_default().push((worker, now));
        }
    }

    /// Distinct documents stored so far (the trial's progress, as the target sees it).
    pub fn documents(&self) -> usize {
        self.sends
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    pub fn take(&self) -> HashMap<(String, String), Vec<Store>> {
        std::mem::take(&mut *self.sends.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// The kill the trial has armed: a moment, on one worker or on whichever comes first.
#[derive(Debug, Clone, Copy)]
pub struct Armed {
    pub moment: Moment,
    /// `None`: the first worker to reach the moment.
    pub worker: Option<u32>,
    /// For a release: whether the request still reaches DynamoDB.
    pub forward: bool,
    pub since: Instant,
}

/// A kill that happened.
#[derive(Debug, Clone, Copy)]
pub struct Kill {
    pub worker: u32,
    pub moment: Moment,
    pub at: Instant,
    /// When the worker last sent a claim before it died: the documents it stored since are
    /// those of the item it held (what it stored before belongs to items it had finished or
    /// given up, whose re-sends the kill did not cause).
    pub holding_since: Option<Instant>,
    /// When DynamoDB answered its last checkpoint: what it stored before and still had to be
    /// sent again was not covered by that checkpoint (batches that finished behind a slower one).
    pub last_checkpoint: Option<Instant>,
}

/// Shared by the watches of one trial: at most one kill armed at a time.
#[derive(Default)]
pub struct KillSwitch {
    armed: Mutex<Option<Armed>>,
    done: Mutex<Vec<Kill>>,
}

impl KillSwitch {
    pub fn arm(&self, armed: Armed) {
        *self.armed.lock().unwrap_or_else(PoisonError::into_inner) = Some(armed);
    }

    pub fn disarm(&self) -> Option<Armed> {
        self.armed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    pub fn armed(&self) -> Option<Armed> {
        *self.armed.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes the armed kill if it is for this worker at this moment.
    fn take(&self, worker: u32, moment: Moment) -> Option<Armed> {
        let mut armed = self.armed.lock().unwrap_or_else(PoisonError::into_inner);
        match *armed {
            Some(a) if a.moment == moment && a.worker.is_none_or(|w| w == worker) => armed.take(),
            _ => None,
        }
    }

    pub fn record(&self, kill: Kill) {
        self.done
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(kill);
    }

    pub fn kills(&self) -> Vec<Kill> {
        self.done
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// `kill -9`; false if the process was not there (0: not started yet, or already reaped).
pub fn sigkill(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: a plain syscall on a child we have not reaped (its pid cannot be reused yet).
    pid > 0 && unsafe { libc::kill(pid, libc::SIGKILL) } == 0
}

/// One worker's observer, on both its target and its DynamoDB proxy.
pub struct Watch {
    pub worker: u32,
    /// The worker's process id once started, 0 once reaped.
    pub pid: AtomicU32,
    ledger: Arc<Ledger>,
    switch: Arc<KillSwitch>,
    /// When its last claim went to DynamoDB.
    last_claim: Mutex<Option<Instant>>,
    /// When DynamoDB answered its last checkpoint.
    last_checkpoint: Mutex<Option<Instant>>,
}

impl Watch {
    pub fn new(worker: u32, ledger: Arc<Ledger>, switch: Arc<KillSwitch>) -> Watch {
        Watch {
            worker,
            pid: AtomicU32::new(0),
            ledger,
            switch,
            last_claim: Mutex::new(None),
            last_checkpoint: Mutex::new(None),
        }
    }

    /// When DynamoDB answered its last checkpoint.
    pub fn last_checkpoint(&self) -> Option<Instant> {
        *self
            .last_checkpoint
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// When its last claim went to DynamoDB.
    pub fn last_claim(&self) -> Option<Instant> {
        *self
            .last_claim
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Kills the worker if the armed kill is for it at `moment`; returns whether the request
    /// goes on.
    fn at(&self, moment: Moment) -> bool {
        let Some(armed) = self.switch.take(self.worker, moment) else {
            return true;
        };
        if sigkill(self.pid.load(Ordering::Acquire)) {
            self.switch.record(Kill {
                worker: self.worker,
                moment,
                at: Instant::now(),
                holding_since: self.last_claim(),
                last_checkpoint: self.last_checkpoint(),
            });
            return armed.forward;
        }
        // Not running (yet, or any more): the next one may take it.
        self.switch.arm(armed);
        true
    }
}

fn operation<'a>(seen: &Seen<'a>) -> Option<&'a str> {
    seen.aws_target?.strip_prefix("DynamoDB_20120810.")
}

impl Observer for Watch {
    fn forwarding(&self, seen: &Seen<'_>) -> bool {
        if seen.is_bulk() {
            return self.at(Moment::Bulk);
        }
        match operation(seen).map(|op| store_write(op, seen.body)) {
            Some(StoreWrite::Claim) => {
                *self
                    .last_claim
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
                self.at(Moment::Claim)
            }
            Some(StoreWrite::Release) => self.at(Moment::Release),
            _ => true,
        }
    }

    fn answered(&self, seen: &Seen<'_>, status: u16, body: &[u8]) {
        if seen.is_bulk() {
            if status == 200 {
                let stored = bulk_outcomes(body).into_iter().flatten();
                let docs = stored
                    .filter(|o| o.is_ok() && matches!(o.op.as_str(), "index" | "create"))
                    .map(|o| (o.index, o.id));
                self.ledger.record(self.worker, docs);
            }
            return;
        }
        let checkpoint =
            operation(seen).is_some_and(|op| store_write(op, seen.body) == StoreWrite::Checkpoint);
        if checkpoint && status == 200 {
            *self
                .last_checkpoint
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
            self.at(Moment::Checkpoint);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_writes_are_told_apart_by_their_update_expression() {
        let update = |e: &str| format!(r#"{{"UpdateExpression":"{e}"}}"#);
        let cases = [
            ("SET lease_holder = :me, #exp = :exp, abandoned = :ab, attempts = attempts + :one", StoreWrite::Claim),
            ("SET #position = :pos, docs_done = docs_done + :d, #exp = :exp", StoreWrite::Checkpoint),
            ("SET #position = :pos, docs_done = docs_done + :d, #exp = :zero REMOVE lease_holder", StoreWrite::Release),
            ("SET #position = :pos, completed_at = :now, #exp = :zero REMOVE lease_holder, #open", StoreWrite::Complete),
            ("SET #position = :pos, failures = :failures, #exp = :zero REMOVE lease_holder", StoreWrite::Fail),
            ("SET docs_expected = :n", StoreWrite::Other),
        ];
        for (e, want) in cases {
            assert_eq!(store_write("UpdateItem", update(e).as_bytes()), want, "{e}");
        }
        let transaction = r#"{"TransactItems":[
            {"Update":{"UpdateExpression":"SET #position = :pos, #exp = :exp"}},
            {"Update":{"UpdateExpression":"ADD docs_done :d"}}]}"#;
        assert_eq!(
            store_write("TransactWriteItems", transaction.as_bytes()),
            StoreWrite::Checkpoint
        );
        assert_eq!(store_write("Query", b"{}"), StoreWrite::Other);
    }

    #[test]
    fn an_armed_kill_goes_to_its_worker_at_its_moment_once() {
        let switch = KillSwitch::default();
        switch.arm(Armed {
            moment: Moment::Bulk,
            worker: Some(2),
            forward: true,
            since: Instant::now(),
        });
        assert!(switch.take(1, Moment::Bulk).is_none());
        assert!(switch.take(2, Moment::Claim).is_none());
        assert!(switch.take(2, Moment::Bulk).is_some());
        assert!(switch.take(2, Moment::Bulk).is_none());
    }
}
