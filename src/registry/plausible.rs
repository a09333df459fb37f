//! The largest values boundary data and proposals may give: `[plausible]` in `guidelines.toml`.
//!
//! Beyond them a number is a typing error or an attack, not a community: loading and proposal
//! parsing refuse it naming the field, so it never reaches a sum or a ratio. The defaults are
//! far above any real city and can be changed per deployment; [`Plausible::check`] keeps them
//! below the ceilings that keep the arithmetic exact.

use serde::{Deserialize, Serialize};

/// Largest households, population or service households one feature may give.
const COUNT_CEILING: u64 = 1_000_000_000_000;
/// Largest workers one community may give (sums over a proposal's parts stay within `u32`).
const WORKERS_CEILING: u64 = 1_000_000;
/// Largest office and service space one community may give, in m².
const OFFICE_AREA_CEILING_M2: f64 = 1e9;

/// The maxima (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Plausible {
    /// Households, population or service households of one town, community or grid.
    pub count: u64,
    /// Workers of one community.
    pub workers: u64,
    /// Office and service space of one community, in m².
    pub office_area_m2: f64,
}

impl Default for Plausible {
    /// 100 million people or households (more than any city has), 10,000 workers (a residents'
    /// committee has tens), 1 km² of office space (far beyond any office building).
    fn default() -> Self {
        Plausible {
            count: 100_000_000,
            workers: 10_000,
            office_area_m2: 1_000_000.0,
        }
    }
}

impl Plausible {
    /// Each maximum positive and within its ceiling, or what is wrong (`plausible.<field>`).
    pub fn check(&self) -> Result<(), String> {
        let within = |name: &str, value: f64, ceiling: f64| {
            if value.is_finite() && value > 0.0 && value <= ceiling {
                Ok(())
            } else {
                Err(format!(
                    "plausible.{name} = {value}: must be above 0 and at most {ceiling}"
                ))
            }
        };
        within("count", self.count as f64, COUNT_CEILING as f64)?;
        within("workers", self.workers as f64, WORKERS_CEILING as f64)?;
        within(
            "office_area_m2",
            self.office_area_m2,
            OFFICE_AREA_CEILING_M2,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_pass_and_absurd_maxima_are_named() {
        assert_eq!(Plausible::default().check(), Ok(()));
        let zero = Plausible {
            workers: 0,
            ..Plausible::default()
        };
        assert!(
            zero.check()
                .unwrap_err()
                .starts_with("plausible.workers = 0")
        );
        let huge = Plausible {
            office_area_m2: f64::INFINITY,
            ..Plausible::default()
        };
        assert!(
            huge.check()
                .unwrap_err()
                .starts_with("plausible.office_area_m2")
        );
    }
}
