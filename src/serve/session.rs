//! One browser session's playground: its network, its data, its training history, the walk of
//! the association it is stepping through; and the store of sessions, bounded in number and in
//! memory: idle sessions expire, and when the store is full a new session or a larger network
//! replaces the sessions idle longest (those never used after their creation first).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::error::ApiError;
use super::walk::Walk;
use crate::data::Dataset;
use crate::nn::Mlp;
use crate::train::Trainer;

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
    /// The training under way, and the weights' version it left (a trainer goes on only if
    /// nothing else changed the weights since).
    pub trainer: Option<(Trainer, u64)>,
}

// What a session holds, per weight or graph node ("unit"), measured as resident memory (RSS)
// growth on 2-300-300-1 sessions (91,201 weights, 184,212 units in all) with 20,000
// associations: about 60 MB each once built, walked and trained, 15-25 MB of it the network
// and 45 MB the walk (`cargo bench --bench playground -- --memory`, 8 Dec). The estimates are
// set above those figures (81 MB for such a session), so that the budget bounds the resident
// memory of the sessions; what the allocator keeps after freeing comes on top.
/// Estimated bytes per unit of a network: the graph, the tape, the batch plan, the weights
/// and their initial copy.
const NETWORK_BYTES_PER_UNIT: u64 = 120;
/// Estimated bytes per unit of a cached walk: its steps' quantities and formulas, the
/// diagram's values, the graph sent to the page.
const WALK_BYTES_PER_UNIT: u64 = 280;
/// Estimated bytes per unit of a training run's state: its batch's workspace, the optimiser's
/// two moments, the gradient, the epoch's starting weights.
const TRAINER_BYTES_PER_UNIT: u64 = 40;
/// A session's fixed cost (the structs, the data set's names, allocator slack).
const SESSION_BYTES: u64 = 16 << 10;

impl Session {
    /// What the session holds, estimated in bytes: linear in the network's weights and graph
    /// nodes (more with a cached walk or a training run), plus the data and the error curve.
    pub fn estimated_bytes(&self) -> u64 {
        let units = (self.net.params().len() + self.net.graph().len()) as u64;
        let walk = if self.walk.is_some() {
            units * WALK_BYTES_PER_UNIT
        } else {
            0
        };
        let trainer = if self.trainer.is_some() {
            units * TRAINER_BYTES_PER_UNIT
        } else {
            0
        };
        let data = (self.data.inputs().len() + self.data.targets().len()) as u64 * 8;
        SESSION_BYTES
            + units * NETWORK_BYTES_PER_UNIT
            + walk
            + trainer
            + data
            + self.errors.len() as u64 * 8
    }
}

/// A session in the store: its state, whether a training job runs for it, when it was last
/// used, and what it costs.
pub(crate) struct Slot {
    state: Mutex<Session>,
    training: AtomicBool,
    last_used: Mutex<Instant>,
    /// Whether any request but its creation named it (a tab in use, not a flood's leftover).
    used: AtomicBool,
    /// Its estimated memory, in bytes ([`Session::estimated_bytes`]).
    bytes: AtomicU64,
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

    fn last_used(&self) -> Instant {
        *self
            .last_used
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Which sessions go first when room is needed: never used, then idle longest.
    fn eviction_rank(&self) -> (bool, Instant) {
        (self.used.load(Ordering::Acquire), self.last_used())
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
    memory_bytes: u64,
}

impl Store {
    /// A store of at most `max_sessions` sessions, each dropped after `idle`, together
    /// estimated at most `memory_bytes`.
    pub fn new(max_sessions: usize, idle: Duration, memory_bytes: u64) -> Store {
        Store {
            slots: Mutex::new(HashMap::new()),
            max_sessions: max_sessions.max(1),
            idle,
            memory_bytes,
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
        self.slots()
            .retain(|_, slot| slot.last_used().elapsed() <= idle);
    }

    /// Adds a session and returns its new token (128 random bits from the operating system, in
    /// hex). When the store is full, the session first in line to go ([`Slot::eviction_rank`])
    /// is dropped: a new tab is never locked out.
    ///
    /// # Errors
    /// [`ApiError::Internal`] if the system has no randomness to give.
    pub fn create(&self, session: Session) -> Result<String, ApiError> {
        self.expire();
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|_| ApiError::Internal)?;
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let size = session.estimated_bytes();
        let mut slots = self.slots();
        while slots.len() >= self.max_sessions {
            evict_one(&mut slots, None);
        }
        slots.insert(
            token.clone(),
            Arc::new(Slot {
                state: Mutex::new(session),
                training: AtomicBool::new(false),
                last_used: Mutex::new(Instant::now()),
                used: AtomicBool::new(false),
                bytes: AtomicU64::new(size),
            }),
        );
        let _ = fit_memory(&mut slots, &token, self.memory_bytes);
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
        slot.used.store(true, Ordering::Release);
        Ok(slot)
    }

    /// Records what the session of `token` now costs (after a build or a walk), and drops the
    /// sessions first in line to go until all fit the memory budget.
    ///
    /// # Errors
    /// [`ApiError::OverMemory`] if the session alone is over the budget (it is dropped: its
    /// page must reload).
    pub fn account(&self, token: &str, bytes: u64) -> Result<(), ApiError> {
        let mut slots = self.slots();
        if let Some(slot) = slots.get(token) {
            slot.bytes.store(bytes, Ordering::Release);
        }
        fit_memory(&mut slots, token, self.memory_bytes)
    }
}

/// Drops the session first in line to go, other than `keep`; false if there is none.
fn evict_one(slots: &mut HashMap<String, Arc<Slot>>, keep: Option<&str>) -> bool {
    let victim = slots
        .iter()
        .filter(|(token, _)| Some(token.as_str()) != keep)
        .min_by_key(|(_, slot)| slot.eviction_rank())
        .map(|(token, _)| token.clone());
    match victim {
        Some(token) => slots.remove(&token).is_some(),
        None => false,
    }
}

/// Drops sessions other than `keep` until the estimated total fits `budget`.
fn fit_memory(
    slots: &mut HashMap<String, Arc<Slot>>,
    keep: &str,
    budget: u64,
) -> Result<(), ApiError> {
    let total = |slots: &HashMap<String, Arc<Slot>>| -> u64 {
        slots
            .values()
            .map(|s| s.bytes.load(Ordering::Acquire))
            .sum()
    };
    while total(slots) > budget {
        if !evict_one(slots, Some(keep)) {
            let bytes = slots
                .remove(keep)
                .map_or(0, |s| s.bytes.load(Ordering::Acquire));
            return Err(ApiError::OverMemory { bytes, budget });
        }
    }
    Ok(())
}
