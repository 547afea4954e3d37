//! The business clock: what "today" is for every rule, default date and timestamp.
//!
//! Production reads the system clock (the calendar date in Asia/Shanghai). A simulated clock
//! (for demos, and for testing the date rules from outside) keeps its date in the database,
//! so that it survives a restart and is the same for every server process on it; an
//! administrator moves it forward only.
//!
//! Each authenticated call reads the clock once, when it arrives, and runs inside
//! [`scope`] with that reading, so one call sees one date throughout; [`today`] and
//! [`instant`] return it (the system clock outside any call, e.g. at start-up).

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, EntityTrait, Set};

use crate::StoreError;
use crate::entities::business_clock;

/// Where the business date comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockMode {
    /// The system clock, in Asia/Shanghai.
    System,
    /// A simulated date stored in the database, starting at `start` on an empty database.
    Simulated {
        /// The first business date.
        start: NaiveDate,
    },
}

impl ClockMode {
    /// Parses the `clock` setting: `system` or `simulated:YYYY-MM-DD`.
    pub fn parse(text: &str) -> Result<ClockMode, String> {
        match text.trim() {
            "system" => Ok(ClockMode::System),
            other => other
                .strip_prefix("simulated:")
                .and_then(|date| NaiveDate::parse_from_str(date, "%Y-%m-%d").ok())
                .map(|start| ClockMode::Simulated { start })
                .ok_or_else(|| format!("clock {other:?} must be \"system\" or \"simulated:YYYY-MM-DD\"")),
        }
    }

    /// True for a simulated clock.
    pub fn is_simulated(self) -> bool {
        matches!(self, ClockMode::Simulated { .. })
    }

    /// Its name on the wire and in logs: `system` or `simulated`.
    pub fn as_str(self) -> &'static str {
        match self {
            ClockMode::System => "system",
            ClockMode::Simulated { .. } => "simulated",
        }
    }
}

/// One reading of the clock: the business date, and the instant that timestamps take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    /// Today's business date.
    pub today: NaiveDate,
    /// The instant, UTC: the real one, or on a simulated clock the real time of day on the
    /// simulated date (Asia/Shanghai), so that timestamps and business dates agree.
    pub instant: DateTime<Utc>,
}

/// Asia/Shanghai is UTC+8 all year (no daylight saving).
const SHANGHAI: Duration = Duration::hours(8);

impl Now {
    /// The system clock's reading.
    pub fn system() -> Now {
        let instant = Utc::now();
        Now { today: (instant + SHANGHAI).date_naive(), instant }
    }

    /// A reading on the simulated date `today`, at the real time of day.
    pub fn simulated(today: NaiveDate) -> Now {
        let real = Utc::now() + SHANGHAI;
        let local = today.and_time(real.time());
        Now { today, instant: local.and_utc() - SHANGHAI }
    }
}

tokio::task_local! {
    static NOW: Now;
}

/// Runs `work` with `now` as the clock's reading (see the module's documentation).
pub async fn scope<F: std::future::Future>(now: Now, work: F) -> F::Output {
    NOW.scope(now, work).await
}

/// The reading of the call being served, or the system clock outside a call.
pub fn now() -> Now {
    NOW.try_with(|now| *now).unwrap_or_else(|_| Now::system())
}

/// Today's business date (see [`now`]).
pub fn today() -> NaiveDate {
    now().today
}

/// The business date of a stored timestamp (Asia/Shanghai).
pub fn business_date(instant: DateTime<Utc>) -> NaiveDate {
    (instant + SHANGHAI).date_naive()
}

/// The instant timestamps take (see [`now`]).
pub fn instant() -> DateTime<Utc> {
    now().instant
}

/// Why the business date cannot be moved as asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AdvanceError {
    /// The clock is the system's.
    #[error(
        "the business clock is the system clock; only a simulated clock (setting clock = \"simulated:YYYY-MM-DD\") is moved"
    )]
    NotSimulated,
    /// Dates never go back.
    #[error("the business date is {today}; it moves forward only, not to {asked}")]
    CannotGoBack {
        /// The business date now.
        today: NaiveDate,
        /// The date asked for.
        asked: NaiveDate,
    },
}

impl domain::Rule for AdvanceError {
    fn reason(&self) -> &'static str {
        match self {
            AdvanceError::NotSimulated => "CLOCK_NOT_SIMULATED",
            AdvanceError::CannotGoBack { .. } => "CLOCK_CANNOT_GO_BACK",
        }
    }

    fn figures(&self) -> Vec<(&'static str, String)> {
        match self {
            AdvanceError::NotSimulated => Vec::new(),
            AdvanceError::CannotGoBack { today, .. } => vec![("business_date", today.to_string())],
        }
    }
}

/// Whether the simulated date may move from `today` to `asked`: forward (or to the same day).
pub fn check_advance(today: NaiveDate, asked: NaiveDate) -> Result<(), AdvanceError> {
    if asked < today { Err(AdvanceError::CannotGoBack { today, asked }) } else { Ok(()) }
}

/// The simulated date stored in the database, if any.
pub async fn stored(connection: &impl ConnectionTrait) -> Result<Option<NaiveDate>, StoreError> {
    Ok(business_clock::Entity::find_by_id(1).one(connection).await?.map(|row| row.business_date))
}

/// Reads the clock of `mode`.
pub async fn read(connection: &impl ConnectionTrait, mode: ClockMode) -> Result<Now, StoreError> {
    match mode {
        ClockMode::System => Ok(Now::system()),
        ClockMode::Simulated { start } => Ok(Now::simulated(stored(connection).await?.unwrap_or(start).max(start))),
    }
}

/// Why the clock cannot start or move.
#[derive(Debug, thiserror::Error)]
pub enum ClockError {
    /// The database holds a simulated date after the system's today: starting on the system
    /// clock would move dates back.
    #[error(
        "the database's business date {stored} (simulated) is after today's {today}: dates never go back; start with clock = \"simulated:{stored}\""
    )]
    WouldGoBack {
        /// The stored date.
        stored: NaiveDate,
        /// The system's today.
        today: NaiveDate,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Prepares the clock at start-up: a simulated clock stores its date (the later of the
/// stored one and `start`); the system clock refuses a database whose simulated date is
/// ahead of it.
pub async fn start(connection: &impl ConnectionTrait, mode: ClockMode) -> Result<Now, ClockError> {
    let stored = stored(connection).await?;
    match mode {
        ClockMode::System => {
            let now = Now::system();
            match stored {
                Some(stored) if stored > now.today => Err(ClockError::WouldGoBack { stored, today: now.today }),
                _ => Ok(now),
            }
        }
        ClockMode::Simulated { start } => {
            let date = stored.map_or(start, |stored| stored.max(start));
            if stored != Some(date) {
                set(connection, date).await?;
            }
            Ok(Now::simulated(date))
        }
    }
}

async fn set(connection: &impl ConnectionTrait, date: NaiveDate) -> Result<(), StoreError> {
    let row = business_clock::ActiveModel { id: Set(1), business_date: Set(date), updated_at: Set(Utc::now()) };
    business_clock::Entity::insert(row)
        .on_conflict(
            sea_orm::sea_query::OnConflict::column(business_clock::Column::Id)
                .update_columns([business_clock::Column::BusinessDate, business_clock::Column::UpdatedAt])
                .to_owned(),
        )
        .exec_without_returning(connection)
        .await?;
    Ok(())
}

/// Locks the simulated clock's row and returns its date (`start` when none is stored yet).
pub async fn lock(connection: &impl ConnectionTrait, start: NaiveDate) -> Result<NaiveDate, StoreError> {
    use sea_orm::QuerySelect;
    let row = business_clock::Entity::find_by_id(1).lock_exclusive().one(connection).await?;
    Ok(row.map_or(start, |row| row.business_date.max(start)))
}

/// Moves the simulated date to `date` (the caller checked it is not earlier; holds the lock).
pub async fn advance(connection: &impl ConnectionTrait, date: NaiveDate) -> Result<(), StoreError> {
    set(connection, date).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse() {
        assert_eq!(ClockMode::parse("system"), Ok(ClockMode::System));
        assert_eq!(
            ClockMode::parse("simulated:2025-01-15"),
            Ok(ClockMode::Simulated { start: NaiveDate::from_ymd_opt(2025, 1, 15).unwrap_or_default() })
        );
        assert!(ClockMode::parse("simulated:2025-13-01").is_err());
        assert!(ClockMode::parse("tomorrow").is_err());
    }

    #[test]
    fn a_simulated_instant_falls_on_the_simulated_date_in_shanghai() {
        let date = NaiveDate::from_ymd_opt(2027, 3, 1).unwrap_or_default();
        let now = Now::simulated(date);
        assert_eq!((now.instant + SHANGHAI).date_naive(), date);
    }
}
