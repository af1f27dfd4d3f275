//! One browser session's playground: its network, its data, its training history, the walk of
//! the association it is stepping through; and the store of sessions, with idle expiry.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::error::ApiError;
use super::walk::Walk;
use crate::data::Dataset;
use crate::nn::Mlp;

/// What identifies a cached walk: the association, the learning rate, the weights' version.
pub(crate) type WalkKey = (usize, u64, u64);

/// One session's state.
pub(crate) struct Session {
    /// The network being stepped through and trained.
    pub net: Mlp,
    /// Its weights when built or loaded (what "reset" returns to).
    pub initial: Vec<f64>,
    /// The associations.
    pub data: Dataset,
    /// Epochs trained since the build or the last reset.
    pub epochs: usize,
    /// The error of each of those epochs (up to a limit).
    pub errors: Vec<f64>,
    /// Bumped whenever the weights change.
    pub version: u64,
    /// The last walk computed, for the steps that follow it.
    pub walk: Option<(WalkKey, Arc<Walk>)>,
    /// The points in the plane the data comes from, with their features and test points
    /// (generated data sets only).
    pub plane: Option<super::plane::Plane>,
}

/// A session in the store: its state, and whether a training job runs for it.
pub(crate) struct Slot {
    state: Mutex<Session>,
    training: AtomicBool,
    last_used: Mutex<Instant>,
}

impl Slot {
    /// The session's state, locked (a handler that panicked leaves it usable).
    pub fn lock(&self) -> MutexGuard<'_, Session> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Marks a training job as running; `None` if one already is. The mark is cleared when the
    /// returned guard is dropped.
    pub fn start_training(&self) -> Option<TrainingGuard<'_>> {
        self.training
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .ok()
            .map(|_| TrainingGuard(&self.training))
    }
}

/// Clears a session's training mark when dropped.
pub(crate) struct TrainingGuard<'a>(&'a AtomicBool);

impl Drop for TrainingGuard<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// The sessions, by token.
pub(crate) struct Store {
    slots: Mutex<HashMap<String, Arc<Slot>>>,
    max_sessions: usize,
    idle: Duration,
}

impl Store {
    pub fn new(max_sessions: usize, idle: Duration) -> Store {
        Store {
            slots: Mutex::new(HashMap::new()),
            max_sessions,
            idle,
        }
    }

    fn slots(&self) -> MutexGuard<'_, HashMap<String, Arc<Slot>>> {
        self.slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Drops the sessions idle for longer than the store's idle time.
    pub fn expire(&self) {
        let idle = self.idle;
        self.slots().retain(|_, slot| {
            let last = *slot
                .last_used
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            last.elapsed() <= idle
        });
    }

    /// Adds a session and returns its new token (128 random bits from the operating system, in
    /// hex).
    ///
    /// # Errors
    /// [`ApiError::TooManySessions`] when the store is full (after dropping idle sessions);
    /// [`ApiError::Internal`] if the system has no randomness to give.
    pub fn create(&self, session: Session) -> Result<String, ApiError> {
        self.expire();
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|_| ApiError::Internal)?;
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let mut slots = self.slots();
        if slots.len() >= self.max_sessions {
            return Err(ApiError::TooManySessions {
                limit: self.max_sessions,
            });
        }
        slots.insert(
            token.clone(),
            Arc::new(Slot {
                state: Mutex::new(session),
                training: AtomicBool::new(false),
                last_used: Mutex::new(Instant::now()),
            }),
        );
        Ok(token)
    }

    /// The session of `token`, marked as used now.
    ///
    /// # Errors
    /// [`ApiError::UnknownSession`].
    pub fn get(&self, token: &str) -> Result<Arc<Slot>, ApiError> {
        let slot = self
            .slots()
            .get(token)
            .cloned()
            .ok_or(ApiError::UnknownSession)?;
        *slot
            .last_used
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Instant::now();
        Ok(slot)
    }
}
