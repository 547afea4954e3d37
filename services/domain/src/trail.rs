//! The audit trail's hash chain: what a record's link is made of, and the walk that proves a
//! chain unbroken or names its first broken link.
//!
//! Each sealed record has a sequence (1, 2, 3, … with no gap) and a link:
//! `SHA-256("techcredit-audit-v1" ‖ sequence ‖ previous link ‖ content)`, hex, where the
//! first record's previous link is 64 zeros and the content is the record's fields, each
//! length-prefixed so that no two different records read alike. The chain's head (the last
//! sequence and its link) is kept apart from the records. Then:
//!
//! * a record edited by hand no longer matches its link;
//! * a record deleted leaves a gap in the sequence (or, at the end, a head pointing past the
//!   last record);
//! * a record inserted by hand needs a sequence: between two records it breaks the next
//!   record's previous link, after the last it is beyond the head.

use std::fmt;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// The previous link of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What became of an audited call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Changed, in the same transaction as the record.
    Accepted,
    /// Refused; nothing changed.
    Refused,
    /// A retry answered as before; nothing changed again.
    Replayed,
}

impl Outcome {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Accepted => "ACCEPTED",
            Outcome::Refused => "REFUSED",
            Outcome::Replayed => "REPLAYED",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<Outcome> {
        [Outcome::Accepted, Outcome::Refused, Outcome::Replayed].into_iter().find(|o| o.as_str() == text)
    }
}

/// The content of one audit record: what its link covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// When the call was served (microseconds: what both databases keep).
    pub recorded_at: DateTime<Utc>,
    /// The caller's key id.
    pub key_id: String,
    /// The caller's role (its stored name).
    pub role: String,
    /// The caller's bank id, for a BANK key.
    pub bank: Option<String>,
    /// The full gRPC method.
    pub method: String,
    /// The request id as sent.
    pub request_id: String,
    /// Accepted, refused or replayed.
    pub outcome: Outcome,
    /// The gRPC status code's name.
    pub status: String,
    /// For a refusal: reason and message.
    pub reason: String,
    /// Resources named or changed.
    pub resources: Vec<String>,
}

impl Entry {
    /// The canonical content: every field length-prefixed, in a fixed order.
    pub fn content(&self) -> String {
        let mut out = String::new();
        let mut field = |value: &str| {
            out.push_str(&value.len().to_string());
            out.push(':');
            out.push_str(value);
            out.push(';');
        };
        field(&self.recorded_at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string());
        field(&self.key_id);
        field(&self.role);
        field(self.bank.as_deref().unwrap_or(""));
        field(&self.method);
        field(&self.request_id);
        field(self.outcome.as_str());
        field(&self.status);
        field(&self.reason);
        field(&self.resources.len().to_string());
        for resource in &self.resources {
            field(resource);
        }
        out
    }
}

/// The link of the record at `sequence` with `content`, after `previous`.
pub fn link(previous: &str, sequence: i64, content: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(b"techcredit-audit-v1\n");
    hash.update(sequence.to_string().as_bytes());
    hash.update(b"\n");
    hash.update(previous.as_bytes());
    hash.update(b"\n");
    hash.update(content.as_bytes());
    hex::encode(hash.finalize())
}

/// A sealed record as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// The record's id.
    pub id: i64,
    /// Its sequence.
    pub sequence: i64,
    /// The previous link it was sealed after.
    pub previous_hash: String,
    /// Its link.
    pub hash: String,
    /// Its content (recomputed from its fields).
    pub content: String,
}

/// Where and how a chain is broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    /// The first sequence that fails.
    pub sequence: i64,
    /// The record there, if there is one.
    pub record: Option<i64>,
    /// What is wrong.
    pub problem: Problem,
}

/// What is wrong at a broken link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The record's fields no longer match its link: edited.
    Edited,
    /// The record was sealed after another link than the one before it: a record was
    /// inserted or deleted before it.
    Relinked,
    /// The sequence has a gap here: records were deleted.
    Missing {
        /// The sequence found instead.
        found: i64,
    },
    /// The head says the chain ends elsewhere: records deleted from, or added to, its end.
    Head {
        /// The head's sequence.
        head: i64,
        /// The last sequence found.
        last: i64,
    },
}

impl fmt::Display for Break {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let record = self.record.map(|id| format!(" (auditRecords/{id})")).unwrap_or_default();
        match &self.problem {
            Problem::Edited => {
                write!(f, "record {}{record} does not match its link: it was changed after sealing", self.sequence)
            }
            Problem::Relinked => write!(
                f,
                "record {}{record} does not follow the link before it: a record was inserted or deleted before it",
                self.sequence
            ),
            Problem::Missing { found } => write!(
                f,
                "record {} is missing (the next found is {found}{record}): records were deleted",
                self.sequence
            ),
            Problem::Head { head, last } => write!(
                f,
                "the chain's head is at {head} but its records end at {last}: records were deleted from or added to its end"
            ),
        }
    }
}

/// Walks a chain in sequence order, one record at a time (a chain of millions is read page
/// by page).
#[derive(Debug, Clone)]
pub struct Walk {
    expected: i64,
    previous: String,
    checked: i64,
}

impl Default for Walk {
    fn default() -> Walk {
        Walk { expected: 1, previous: GENESIS.to_owned(), checked: 0 }
    }
}

impl Walk {
    /// Checks the next record.
    pub fn check(&mut self, record: &Sealed) -> Result<(), Break> {
        if record.sequence != self.expected {
            return Err(Break {
                sequence: self.expected,
                record: Some(record.id),
                problem: Problem::Missing { found: record.sequence },
            });
        }
        if record.previous_hash != self.previous {
            return Err(Break { sequence: record.sequence, record: Some(record.id), problem: Problem::Relinked });
        }
        if link(&self.previous, record.sequence, &record.content) != record.hash {
            return Err(Break { sequence: record.sequence, record: Some(record.id), problem: Problem::Edited });
        }
        self.previous.clone_from(&record.hash);
        self.expected += 1;
        self.checked += 1;
        Ok(())
    }

    /// Records checked so far.
    pub fn checked(&self) -> i64 {
        self.checked
    }

    /// Ends the walk against the chain's head (`sequence`, `hash`; 0 and GENESIS when empty).
    pub fn finish(&self, head_sequence: i64, head_hash: &str) -> Result<(), Break> {
        let last = self.expected - 1;
        if head_sequence != last || head_hash != self.previous {
            return Err(Break {
                sequence: head_sequence.min(last) + 1,
                record: None,
                problem: Problem::Head { head: head_sequence, last },
            });
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn entry(n: i64) -> Entry {
        Entry {
            recorded_at: DateTime::from_timestamp(1_700_000_000 + n, 0).unwrap(),
            key_id: "key-1".into(),
            role: "BANK".into(),
            bank: Some("nbcb".into()),
            method: "/techcredit.v1.LoanApplicationService/EnrollLoan".into(),
            request_id: format!("r{n}"),
            outcome: Outcome::Accepted,
            status: "OK".into(),
            reason: String::new(),
            resources: vec![format!("loans/{n}")],
        }
    }

    fn chain(n: i64) -> Vec<Sealed> {
        let mut previous = GENESIS.to_owned();
        (1..=n)
            .map(|sequence| {
                let content = entry(sequence).content();
                let hash = link(&previous, sequence, &content);
                let sealed = Sealed { id: sequence * 10, sequence, previous_hash: previous.clone(), hash, content };
                previous.clone_from(&sealed.hash);
                sealed
            })
            .collect()
    }

    fn walk(records: &[Sealed], head: (i64, &str)) -> Result<i64, Break> {
        let mut walk = Walk::default();
        for record in records {
            walk.check(record)?;
        }
        walk.finish(head.0, head.1)?;
        Ok(walk.checked())
    }

    #[test]
    fn an_untouched_chain_verifies_and_so_does_an_empty_one() {
        let records = chain(5);
        let head = records.last().unwrap().hash.clone();
        assert_eq!(walk(&records, (5, &head)), Ok(5));
        assert_eq!(walk(&[], (0, GENESIS)), Ok(0));
    }

    #[test]
    fn an_edit_a_deletion_and_an_insertion_are_each_named_where_they_are() {
        let records = chain(5);
        let head = records.last().unwrap().hash.clone();

        let mut edited = records.clone();
        let mut changed = entry(3);
        changed.resources = vec!["loans/999".into()];
        edited[2].content = changed.content();
        let broken = walk(&edited, (5, &head)).unwrap_err();
        assert_eq!((broken.sequence, broken.problem), (3, Problem::Edited));

        let mut deleted = records.clone();
        deleted.remove(1);
        let broken = walk(&deleted, (5, &head)).unwrap_err();
        assert_eq!((broken.sequence, broken.problem), (2, Problem::Missing { found: 3 }));

        // Inserted at 3 by renumbering the rest (and even re-linking the inserted one).
        let mut inserted = records.clone();
        let content = entry(42).content();
        let forged = Sealed {
            id: 999,
            sequence: 3,
            previous_hash: records[1].hash.clone(),
            hash: link(&records[1].hash, 3, &content),
            content,
        };
        for record in inserted.iter_mut().skip(2) {
            record.sequence += 1;
        }
        inserted.insert(2, forged);
        let broken = walk(&inserted, (5, &head)).unwrap_err();
        assert_eq!((broken.sequence, broken.problem), (4, Problem::Relinked));

        // The last record deleted: only the head knows.
        let broken = walk(&records[..4], (5, &head)).unwrap_err();
        assert_eq!(broken.problem, Problem::Head { head: 5, last: 4 });
    }

    #[test]
    fn contents_that_differ_never_read_alike() {
        let mut a = entry(1);
        let mut b = entry(1);
        a.key_id = "ab".into();
        a.role = "c".into();
        b.key_id = "a".into();
        b.role = "bc".into();
        assert_ne!(a.content(), b.content());
    }
}
