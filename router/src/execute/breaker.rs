//! A circuit breaker per subgraph: after `failure_threshold` failures in a row
//! (unreachable, timed out, or HTTP 5xx) the subgraph is not asked for `open_for`, and
//! its fetches fail at once instead of each waiting for a timeout; then one request is
//! let through as a probe, and its outcome closes the circuit or opens it again.
//!
//! A subgraph that answers, even with GraphQL errors, is healthy: only the transport
//! and server failures count.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::config::CircuitBreaker;

/// One subgraph's circuit.
pub(crate) struct Breaker {
    settings: CircuitBreaker,
    state: Mutex<State>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Requests flow; this many have failed in a row.
    Closed { failures: u32 },
    /// Requests fail fast until then.
    Open { until: Instant },
    /// One probe is out; others fail fast until it returns.
    Probing,
}

/// Whether a request may go to the subgraph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Permit {
    /// Send it, and report how it went.
    Allowed,
    /// The circuit is open: do not send it.
    Refused,
}

impl Breaker {
    /// A closed circuit.
    pub fn new(settings: CircuitBreaker) -> Self {
        Self {
            settings,
            state: Mutex::new(State::Closed { failures: 0 }),
        }
    }

    /// Asks to send one request now.
    pub fn permit(&self) -> Permit {
        self.permit_at(Instant::now())
    }

    /// Reports how an allowed request went: `true` when the subgraph answered.
    pub fn record(&self, answered: bool) {
        self.record_at(answered, Instant::now());
    }

    fn permit_at(&self, now: Instant) -> Permit {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match *state {
            State::Closed { .. } => Permit::Allowed,
            State::Open { until } if now >= until => {
                *state = State::Probing;
                Permit::Allowed
            }
            State::Open { .. } | State::Probing => Permit::Refused,
        }
    }

    fn record_at(&self, answered: bool, now: Instant) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        *state = match (*state, answered) {
            (_, true) => State::Closed { failures: 0 },
            (State::Closed { failures }, false)
                if failures + 1 < self.settings.failure_threshold =>
            {
                State::Closed {
                    failures: failures + 1,
                }
            }
            // The threshold reached, or the probe failed; an already open circuit
            // (a request sent before it opened) restarts its wait.
            (_, false) => State::Open {
                until: now + self.settings.open_for,
            },
        };
    }

    /// How long the circuit stays open, for error messages.
    pub fn open_for(&self) -> Duration {
        self.settings.open_for
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker() -> Breaker {
        Breaker::new(CircuitBreaker {
            failure_threshold: 3,
            open_for: Duration::from_secs(10),
        })
    }

    #[test]
    fn opens_after_the_threshold_of_failures_in_a_row() {
        let breaker = breaker();
        let now = Instant::now();
        breaker.record_at(false, now);
        breaker.record_at(false, now);
        assert_eq!(breaker.permit_at(now), Permit::Allowed);
        breaker.record_at(false, now);
        assert_eq!(breaker.permit_at(now), Permit::Refused);
    }

    #[test]
    fn a_success_resets_the_count() {
        let breaker = breaker();
        let now = Instant::now();
        breaker.record_at(false, now);
        breaker.record_at(false, now);
        breaker.record_at(true, now);
        breaker.record_at(false, now);
        breaker.record_at(false, now);
        assert_eq!(breaker.permit_at(now), Permit::Allowed);
    }

    #[test]
    fn after_the_wait_one_probe_decides() {
        let breaker = breaker();
        let now = Instant::now();
        for _ in 0..3 {
            breaker.record_at(false, now);
        }
        let later = now + Duration::from_secs(10);
        assert_eq!(breaker.permit_at(later), Permit::Allowed, "the probe");
        assert_eq!(breaker.permit_at(later), Permit::Refused, "one probe only");
        breaker.record_at(false, later);
        assert_eq!(
            breaker.permit_at(later + Duration::from_secs(9)),
            Permit::Refused,
            "a failed probe opens the circuit again"
        );
        let much_later = later + Duration::from_secs(10);
        assert_eq!(breaker.permit_at(much_later), Permit::Allowed);
        breaker.record_at(true, much_later);
        assert_eq!(breaker.permit_at(much_later), Permit::Allowed);
        assert_eq!(breaker.permit_at(much_later), Permit::Allowed, "closed");
    }
}
