//! Per-client rate limiting: each client (the verified token's subject, else the IP
//! address) may send `requests_per_second` on average and `burst` at once (GCRA, from
//! the `governor` crate); a request over its limit is answered 429 with `Retry-After`.
//!
//! Some mutation fields get a stricter budget of their own ([`SensitiveLimiter`]):
//! there every occurrence of the field at the operation's root is one attempt, so that
//! aliases cannot fit many password guesses into one request.
//!
//! Limits are per router replica: behind N replicas a client gets up to N times the
//! rate, which keeps the router stateless and is what the limit is for (stopping one
//! client from starving the others on a replica).

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::config::{RateLimit, SensitiveLimits};

/// Who a request counts against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Client {
    /// A verified token's `sub`.
    User(String),
    /// An anonymous caller (or one whose token names no subject), by address.
    Address(IpAddr),
}

impl Client {
    /// The verified subject's client, else the address's.
    pub fn of(subject: Option<String>, address: IpAddr) -> Self {
        subject.map_or(Self::Address(address), Self::User)
    }
}

/// The limiter, one cell per client seen recently.
pub(crate) struct RateLimiter {
    limiter: DefaultKeyedRateLimiter<Client>,
}

impl RateLimiter {
    /// A limiter with `limit` for every client.
    pub fn new(limit: RateLimit) -> Self {
        let quota = Quota::per_second(limit.requests_per_second).allow_burst(limit.burst);
        Self {
            limiter: governor::RateLimiter::keyed(quota),
        }
    }

    /// Counts one request; `Err` says how long the client must wait before the next
    /// one is allowed.
    pub fn check(&self, client: &Client) -> Result<(), Duration> {
        self.limiter
            .check_key(client)
            .map_err(|not_until| not_until.wait_time_from(self.limiter.clock().now()))
    }

    /// Forgets clients whose cells are full again, so memory follows recent clients.
    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

/// How many times an operation asks for one sensitive field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Attempts {
    /// The field's position in [`SensitiveLimits::fields`].
    pub field: usize,
    pub count: NonZeroU32,
}

/// Why a request's sensitive fields were refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The client has used its budget for `field`; it may try again after `wait`.
    Wait { field: String, wait: Duration },
    /// One request asks for `field` more often than a whole burst allows; after `wait`
    /// the client has its full burst again.
    OverBurst {
        field: String,
        count: NonZeroU32,
        burst: NonZeroU32,
        wait: Duration,
    },
}

/// One budget per sensitive field and client.
pub(crate) struct SensitiveLimiter {
    fields: Vec<String>,
    /// Parallel to `fields`.
    limiters: Vec<DefaultKeyedRateLimiter<Client>>,
    burst: NonZeroU32,
    /// How long an empty budget takes to fill up again.
    refill: Duration,
}

impl SensitiveLimiter {
    pub fn new(limits: &SensitiveLimits) -> Self {
        let quota = Quota::per_minute(limits.per_minute).allow_burst(limits.burst);
        Self {
            fields: limits.fields.clone(),
            limiters: limits
                .fields
                .iter()
                .map(|_| governor::RateLimiter::keyed(quota))
                .collect(),
            burst: limits.burst,
            refill: quota.replenish_interval() * limits.burst.get(),
        }
    }

    /// The limited field names; [`Attempts::field`] indexes them.
    pub fn fields(&self) -> &[String] {
        &self.fields
    }

    /// Counts an operation's attempts against `client`'s budgets, each field all or
    /// nothing: a field over its budget spends none of it.
    pub fn check(&self, client: &Client, attempts: &[Attempts]) -> Result<(), Refused> {
        for attempt in attempts {
            let (Some(limiter), Some(field)) = (
                self.limiters.get(attempt.field),
                self.fields.get(attempt.field),
            ) else {
                continue;
            };
            match limiter.check_key_n(client, attempt.count) {
                Ok(Ok(())) => {}
                Ok(Err(not_until)) => {
                    return Err(Refused::Wait {
                        field: field.clone(),
                        wait: not_until.wait_time_from(limiter.clock().now()),
                    });
                }
                Err(_) => {
                    return Err(Refused::OverBurst {
                        field: field.clone(),
                        count: attempt.count,
                        burst: self.burst,
                        wait: self.refill,
                    });
                }
            }
        }
        Ok(())
    }

    /// Forgets clients whose budgets are full again.
    pub fn forget_idle(&self) {
        for limiter in &self.limiters {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;

    fn limit(requests_per_second: u32, burst: u32) -> RateLimit {
        RateLimit {
            requests_per_second: NonZeroU32::new(requests_per_second).expect("non-zero"),
            burst: NonZeroU32::new(burst).expect("non-zero"),
        }
    }

    #[test]
    fn a_client_gets_its_burst_then_waits() {
        let limiter = RateLimiter::new(limit(1, 3));
        let client = Client::User("ada".to_owned());
        for _ in 0..3 {
            assert!(limiter.check(&client).is_ok());
        }
        let wait = limiter.check(&client).expect_err("over the burst");
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1));
    }

    #[test]
    fn clients_are_limited_separately() {
        let limiter = RateLimiter::new(limit(1, 1));
        let ada = Client::User("ada".to_owned());
        let address = Client::Address(IpAddr::from([127, 0, 0, 1]));
        assert!(limiter.check(&ada).is_ok());
        assert!(limiter.check(&ada).is_err());
        assert!(limiter.check(&address).is_ok(), "another client's budget");
    }

    fn sensitive(per_minute: u32, burst: u32) -> SensitiveLimiter {
        SensitiveLimiter::new(&SensitiveLimits {
            fields: vec!["login".to_owned(), "register".to_owned()],
            per_minute: NonZeroU32::new(per_minute).expect("non-zero"),
            burst: NonZeroU32::new(burst).expect("non-zero"),
        })
    }

    fn attempts(field: usize, count: u32) -> Attempts {
        Attempts {
            field,
            count: NonZeroU32::new(count).expect("non-zero"),
        }
    }

    #[test]
    fn every_attempt_counts_and_a_refused_request_spends_nothing() {
        let limiter = sensitive(10, 5);
        let client = Client::Address(IpAddr::from([127, 0, 0, 1]));
        assert!(limiter.check(&client, &[attempts(0, 3)]).is_ok());
        let Err(Refused::Wait { field, wait }) = limiter.check(&client, &[attempts(0, 3)]) else {
            panic!("3 + 3 attempts are over a burst of 5");
        };
        assert_eq!(field, "login");
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(6),
            "{wait:?}"
        );
        assert!(
            limiter.check(&client, &[attempts(0, 2)]).is_ok(),
            "the refused 3 were not spent"
        );
        assert!(limiter.check(&client, &[attempts(0, 1)]).is_err());
    }

    #[test]
    fn more_attempts_than_a_burst_are_refused_at_once_and_fields_have_their_own_budgets() {
        let limiter = sensitive(10, 5);
        let client = Client::User("ada".to_owned());
        match limiter.check(&client, &[attempts(0, 20)]) {
            Err(Refused::OverBurst {
                field, count, wait, ..
            }) => {
                assert_eq!((field.as_str(), count.get()), ("login", 20));
                assert_eq!(wait, Duration::from_secs(30), "5 attempts at 10 a minute");
            }
            other => panic!("expected OverBurst, got {other:?}"),
        }
        assert!(limiter.check(&client, &[attempts(0, 5)]).is_ok());
        assert!(limiter.check(&client, &[attempts(0, 1)]).is_err());
        assert!(
            limiter.check(&client, &[attempts(1, 5)]).is_ok(),
            "register has a budget of its own"
        );
    }
}
