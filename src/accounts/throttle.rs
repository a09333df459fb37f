//! Back-off after failed logins, per account and per client address (OWASP's authentication
//! guidance: throttle, do not lock accounts for ever, do not reveal which accounts exist).
//!
//! The numbers ([`Policy::default`]):
//! - **per account**: after 5 failed logins for one user name, every further attempt is refused
//!   (429, `Retry-After`) for 1 minute after the last failure; each further failure doubles
//!   that, up to 15 minutes. The count is forgotten after an hour without a failure, and a
//!   successful login resets it.
//! - **per client address**: the same after 20 failures from one address (over any names, so
//!   guessing many names from one place is slowed too; 20 rather than 5 because an office
//!   behind one NAT address shares it).
//!
//! Counters are keyed by the user name *as sent*, whether or not such a user exists, so an
//! unknown name gets the same answers as a known one. While a lock holds, attempts are refused
//! before the password is hashed, even with the right password: otherwise the lock would be a
//! timing oracle, and refused attempts cost no CPU. Pure: time comes in as an argument (a
//! monotonic offset), so tests need no sleeping.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// The back-off numbers; see the module documentation for the defaults and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Failures for one user name before attempts are refused.
    pub account_failures: u32,
    /// Failures from one client address before attempts are refused.
    pub client_failures: u32,
    /// The first refusal's length; doubled with every further failure.
    pub first_lock: Duration,
    /// The longest refusal.
    pub max_lock: Duration,
    /// A counter is forgotten this long after its last failure.
    pub forget_after: Duration,
    /// Counters kept at most (memory bound against floods of made-up names).
    pub max_entries: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            account_failures: 5,
            client_failures: 20,
            first_lock: Duration::from_secs(60),
            max_lock: Duration::from_secs(15 * 60),
            forget_after: Duration::from_secs(60 * 60),
            max_entries: 100_000,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Duration,
}

/// What recording a failure did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    /// Whether this failure started a refusal (of the account or the client): the one moment
    /// worth an audit-log entry of its own.
    pub locked: bool,
}

/// Failed-login counters shared by all requests of a server.
#[derive(Debug, Default)]
pub struct Throttle {
    policy: Policy,
    accounts: Mutex<HashMap<String, Failures>>,
    clients: Mutex<HashMap<String, Failures>>,
}

impl Throttle {
    pub fn new(policy: Policy) -> Self {
        Throttle {
            policy,
            ..Throttle::default()
        }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// How long the refusal lasts after `count` failures (none below `threshold`).
    fn lock_for(&self, count: u32, threshold: u32) -> Option<Duration> {
        let over = count.checked_sub(threshold)?;
        let factor = 1u32.checked_shl(over).unwrap_or(u32::MAX);
        Some(
            self.policy
                .first_lock
                .saturating_mul(factor)
                .min(self.policy.max_lock),
        )
    }

    /// The time left until `failures` allow another attempt at `now`, if any.
    fn remaining(&self, failures: Option<&Failures>, threshold: u32, now: Duration) -> Duration {
        let Some(f) = failures else {
            return Duration::ZERO;
        };
        match self.lock_for(f.count, threshold) {
            Some(lock) => (f.last + lock).saturating_sub(now),
            None => Duration::ZERO,
        }
    }

    /// `Err(retry_after)` when `account` or `client` (if known) may not attempt a login at `now`.
    pub fn check(
        &self,
        account: &str,
        client: Option<&str>,
        now: Duration,
    ) -> Result<(), Duration> {
        let accounts = lock(&self.accounts);
        let wait_account = self.remaining(accounts.get(account), self.policy.account_failures, now);
        drop(accounts);
        let wait_client = client.map_or(Duration::ZERO, |c| {
            self.remaining(lock(&self.clients).get(c), self.policy.client_failures, now)
        });
        let wait = wait_account.max(wait_client);
        if wait.is_zero() { Ok(()) } else { Err(wait) }
    }

    /// Counts a failed login of `account` from `client` at `now`.
    pub fn failure(&self, account: &str, client: Option<&str>, now: Duration) -> Recorded {
        let mut locked = self.bump(&self.accounts, account, self.policy.account_failures, now);
        if let Some(c) = client {
            locked |= self.bump(&self.clients, c, self.policy.client_failures, now);
        }
        Recorded { locked }
    }

    /// A successful login: the account's count starts again (the client's decays on its own,
    /// so that one good password does not reset a guesser's budget for other names).
    pub fn success(&self, account: &str) {
        lock(&self.accounts).remove(account);
    }

    fn bump(
        &self,
        map: &Mutex<HashMap<String, Failures>>,
        key: &str,
        threshold: u32,
        now: Duration,
    ) -> bool {
        let mut map = lock(map);
        let forget = self.policy.forget_after;
        if map.len() >= self.policy.max_entries && !map.contains_key(key) {
            map.retain(|_, f| now.saturating_sub(f.last) < forget);
            if map.len() >= self.policy.max_entries {
                // Full of live counters: the client counter (a few per attacker) still holds.
                return false;
            }
        }
        let entry = map.entry(key.to_owned()).or_insert(Failures {
            count: 0,
            last: now,
        });
        if now.saturating_sub(entry.last) >= forget {
            entry.count = 0;
        }
        entry.count = entry.count.saturating_add(1);
        entry.last = now;
        entry.count == threshold
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Counters stay consistent even if a holder panicked: each update is a single assignment.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn five_failures_lock_the_account_for_a_minute_doubling_to_fifteen() {
        let t = Throttle::default();
        let mut now = Duration::from_secs(1000);
        for _ in 0..4 {
            assert_eq!(t.check("ann", None, now), Ok(()));
            assert!(!t.failure("ann", None, now).locked);
        }
        assert!(t.failure("ann", None, now).locked);
        assert_eq!(t.check("ann", None, now), Err(MIN));
        assert_eq!(
            t.check("bob", None, now),
            Ok(()),
            "other names are not affected"
        );
        let mut expected = [2, 4, 8, 15, 15, 15].into_iter();
        for _ in 0..6 {
            now += t.check("ann", None, now).err().unwrap_or_default();
            assert_eq!(t.check("ann", None, now), Ok(()));
            t.failure("ann", None, now);
            let lock = MIN * expected.next().unwrap_or(0);
            assert_eq!(t.check("ann", None, now), Err(lock));
        }
    }

    #[test]
    fn success_resets_the_account_and_an_hour_forgets() {
        let t = Throttle::default();
        let now = Duration::from_secs(10);
        for _ in 0..4 {
            t.failure("ann", None, now);
        }
        t.success("ann");
        t.failure("ann", None, now);
        assert_eq!(t.check("ann", None, now), Ok(()));
        for _ in 0..3 {
            t.failure("ann", None, now);
        }
        let later = now + Duration::from_secs(3600);
        t.failure("ann", None, later);
        assert_eq!(t.check("ann", None, later), Ok(()), "the count restarted");
    }

    #[test]
    fn twenty_failures_from_one_address_lock_that_address() {
        let t = Throttle::default();
        let now = Duration::ZERO;
        for i in 0..19 {
            t.failure(&format!("name{i}"), Some("10.0.0.1"), now);
        }
        assert_eq!(t.check("fresh", Some("10.0.0.1"), now), Ok(()));
        assert!(t.failure("name19", Some("10.0.0.1"), now).locked);
        assert_eq!(t.check("fresh", Some("10.0.0.1"), now), Err(MIN));
        assert_eq!(t.check("fresh", Some("10.0.0.2"), now), Ok(()));
    }

    #[test]
    fn counters_are_bounded() {
        let t = Throttle::new(Policy {
            max_entries: 3,
            ..Policy::default()
        });
        for i in 0..10 {
            t.failure(&format!("n{i}"), None, Duration::ZERO);
        }
        assert!(lock(&t.accounts).len() <= 3);
        t.failure("late", None, Duration::from_secs(7200));
        assert!(
            lock(&t.accounts).contains_key("late"),
            "stale counters make room"
        );
    }
}
