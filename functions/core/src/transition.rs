//! A backfill's state transitions, in one place.
//!
//! Every transition names the states it may leave, and a store writes it only if the backfill
//! is still in one of them (DynamoDB: a condition expression built from `from`; memory: the same
//! check under its lock). A caller that read a state, decided, and lost a race to another
//! caller gets `StoreError::StateConflict` naming the state that won, never a silent overwrite.
//! No transition leaves `Stopped`: it is final under every interleaving.
//!
//! ```text
//! Created ─start─▶ Running ⇄ Paused          (start, scale N>0 resume; pause)
//! Running ─poller─▶ Completed                  (every item completed or failed)
//! any but Stopped ─stop─▶ Stopping ─finalize─▶ Stopped (archived, working state deleted)
//! ```

use crate::model::BackfillState;
use crate::model::BackfillState::*;

/// A change of a backfill's state, with what goes along with it. Built only by the named
/// transitions below, so that no write is unconditional.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateChange<'a> {
    /// The states the backfill may be in for the change to apply (never empty).
    from: Vec<BackfillState>,
    pub to: Option<BackfillState>,
    /// Also set the desired number of workers.
    pub desired: Option<u32>,
    /// Set `started_at` to now if it is not set yet.
    pub mark_started: bool,
    /// Set `completed_at` to now.
    pub mark_completed: bool,
    pub stop_execution: Option<&'a str>,
    pub archive_uri: Option<&'a str>,
}

/// Work items may be created while a backfill is in one of these states; never once it is
/// stopping, so that the stop workflow's archive holds every item there will ever be.
pub const ITEMS_CREATABLE_IN: [BackfillState; 3] = [Created, Running, Paused];

/// Why `scale` cannot apply in a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaleRefused {
    /// Stopping or stopped: only scaling to zero (the stop workflow's first step) goes through.
    Stopped,
    NotStarted,
    Completed,
}

impl<'a> StateChange<'a> {
    fn leaving(from: &[BackfillState]) -> StateChange<'a> {
        StateChange {
            from: from.to_vec(),
            to: None,
            desired: None,
            mark_started: false,
            mark_completed: false,
            stop_execution: None,
            archive_uri: None,
        }
    }

    /// The states this change may leave.
    pub fn from(&self) -> &[BackfillState] {
        &self.from
    }

    /// Whether a backfill in `state` may take this change.
    pub fn admits(&self, state: BackfillState) -> bool {
        self.from.contains(&state)
    }

    /// First start or resume: runs with `workers`.
    pub fn start(workers: u32) -> StateChange<'static> {
        StateChange {
            to: Some(Running),
            desired: Some(workers),
            mark_started: true,
            ..StateChange::leaving(&[Created, Paused, Running])
        }
    }

    /// Sets the number of workers of a backfill that was `current` when the caller read it.
    /// Above zero a paused backfill resumes; a stopping or stopped one only takes zero.
    pub fn scale(
        current: BackfillState,
        workers: u32,
    ) -> Result<StateChange<'static>, ScaleRefused> {
        let to = match current {
            Stopping | Stopped if workers > 0 => return Err(ScaleRefused::Stopped),
            // The stop workflow's first step (also when a second workflow runs after the
            // first finished): the fleet goes to zero, the state stays whichever of the two.
            Stopping | Stopped => {
                return Ok(StateChange {
                    desired: Some(0),
                    ..StateChange::leaving(&[Stopping, Stopped])
                })
            }
            Created => return Err(ScaleRefused::NotStarted),
            Completed if workers > 0 => return Err(ScaleRefused::Completed),
            Paused if workers > 0 => Running,
            other => other,
        };
        Ok(StateChange {
            to: Some(to),
            desired: Some(workers),
            mark_started: to == Running,
            // Conditional on what was read: a stop or a pause that came in between wins.
            ..StateChange::leaving(&[current])
        })
    }

    /// Scale to zero and keep the state.
    pub fn pause() -> StateChange<'static> {
        StateChange {
            to: Some(Paused),
            desired: Some(0),
            ..StateChange::leaving(&[Running, Paused])
        }
    }

    /// Every item is completed or failed (the poller).
    pub fn complete() -> StateChange<'static> {
        StateChange {
            to: Some(Completed),
            desired: Some(0),
            mark_completed: true,
            ..StateChange::leaving(&[Running])
        }
    }

    /// The stop path begins. `Stopping` may be entered again (a stop that crashed before it
    /// started its workflow is repeated); `Stopped` never left.
    pub fn stop() -> StateChange<'static> {
        StateChange {
            to: Some(Stopping),
            desired: Some(0),
            ..StateChange::leaving(&[Created, Running, Paused, Completed, Stopping])
        }
    }

    /// Notes the stop workflow's execution on a stopping backfill.
    pub fn note_stop_execution(execution: &'a str) -> StateChange<'a> {
        StateChange {
            stop_execution: Some(execution),
            ..StateChange::leaving(&[Stopping])
        }
    }

    /// The stop workflow's end: archived at `archive_uri`; only from `Stopping`, so a second
    /// workflow that lost the race cannot replace the winner's archive.
    pub fn finalize_stop(archive_uri: &'a str) -> StateChange<'a> {
        StateChange {
            to: Some(Stopped),
            desired: Some(0),
            archive_uri: Some(archive_uri),
            ..StateChange::leaving(&[Stopping])
        }
    }
}

/// `a or b or c`, for messages.
pub fn state_list(states: &[BackfillState]) -> String {
    states
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" or ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [BackfillState; 6] = [Created, Running, Paused, Stopping, Stopped, Completed];

    fn named() -> Vec<StateChange<'static>> {
        let mut v = vec![
            StateChange::start(3),
            StateChange::pause(),
            StateChange::complete(),
            StateChange::stop(),
            StateChange::note_stop_execution("exec"),
            StateChange::finalize_stop("s3://a/b"),
        ];
        for s in ALL {
            v.extend(StateChange::scale(s, 0).ok());
            v.extend(StateChange::scale(s, 4).ok());
        }
        v
    }

    #[test]
    fn no_transition_leaves_stopped_or_is_unconditional() {
        for change in named() {
            assert!(!change.from().is_empty(), "{change:?}");
            if change.admits(Stopped) {
                // Only a scale to zero on a stopped backfill, which keeps it stopped.
                assert_eq!(change.to, None, "{change:?}");
                assert_eq!(change.desired, Some(0), "{change:?}");
            }
        }
    }

    #[test]
    fn scale_keeps_the_state_it_read_and_resumes_a_paused_backfill() {
        let c = StateChange::scale(Paused, 2).unwrap();
        assert_eq!(
            (c.from(), c.to, c.desired),
            (&[Paused][..], Some(Running), Some(2))
        );
        let c = StateChange::scale(Running, 0).unwrap();
        assert_eq!((c.from(), c.to), (&[Running][..], Some(Running)));
        assert_eq!(StateChange::scale(Stopping, 1), Err(ScaleRefused::Stopped));
        assert_eq!(
            StateChange::scale(Created, 1),
            Err(ScaleRefused::NotStarted)
        );
        assert_eq!(
            StateChange::scale(Completed, 1),
            Err(ScaleRefused::Completed)
        );
        let zero = StateChange::scale(Stopping, 0).unwrap();
        assert_eq!((zero.from(), zero.to), (&[Stopping, Stopped][..], None));
    }

    #[test]
    fn the_stop_path_is_one_way() {
        assert!(!StateChange::stop().admits(Stopped));
        assert!(StateChange::stop().admits(Stopping));
        assert_eq!(StateChange::finalize_stop("x").from(), &[Stopping]);
        assert!(!StateChange::start(1).admits(Stopping));
        assert!(!ITEMS_CREATABLE_IN.contains(&Stopping));
    }
}
