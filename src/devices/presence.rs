//! Presence: turns successive inventories of any RFID reader into "arrived"
//! and "left" events, riding out a missed read. Protocol-neutral (keyed by
//! anything `Ord + Clone`, usually a tag UID); no IO, no clock.
//!
//! May import: `devices::rfid` (the UID type). Nothing above `devices`.

use std::collections::{BTreeMap, BTreeSet};

use crate::devices::rfid::Uid;
/// What changed on the pad between two inventories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceChange<K = Uid> {
    /// New tags, in the order the inventory listed them.
    pub arrived: Vec<K>,
    /// Tags gone, in key order.
    pub left: Vec<K>,
}

impl<K> PresenceChange<K> {
    pub fn is_empty(&self) -> bool {
        self.arrived.is_empty() && self.left.is_empty()
    }
}

/// Turns successive inventories into arrivals and departures, whatever
/// the reader. A tag that stays is reported once; a tag counts as gone
/// only after `leave_after` inventories in a row without it, which rides
/// out a missed read. A failed inventory is not an empty one: do not call
/// `update` for it.
#[derive(Debug, Clone)]
pub struct PresenceTracker<K = Uid> {
    /// Tag → inventories missed in a row.
    present: BTreeMap<K, u32>,
    leave_after: u32,
}

impl<K: Ord + Clone> PresenceTracker<K> {
    /// `leave_after` ≥ 1 (1 = gone at the first inventory without it).
    pub fn new(leave_after: u32) -> PresenceTracker<K> {
        PresenceTracker {
            present: BTreeMap::new(),
            leave_after: leave_after.max(1),
        }
    }

    /// Takes one inventory's result.
    pub fn update<I: IntoIterator<Item = K>>(&mut self, seen: I) -> PresenceChange<K> {
        let mut arrived = Vec::new();
        let mut this_round = BTreeSet::new();
        for k in seen {
            if !this_round.insert(k.clone()) {
                continue;
            }
            match self.present.get_mut(&k) {
                Some(missed) => *missed = 0,
                None => {
                    self.present.insert(k.clone(), 0);
                    arrived.push(k);
                }
            }
        }
        let mut left = Vec::new();
        for (k, missed) in self.present.iter_mut() {
            if !this_round.contains(k) {
                *missed += 1;
                if *missed >= self.leave_after {
                    left.push(k.clone());
                }
            }
        }
        for k in &left {
            self.present.remove(k);
        }
        PresenceChange { arrived, left }
    }

    /// Tags considered on the pad (including those briefly missed).
    pub fn present(&self) -> impl Iterator<Item = &K> {
        self.present.keys()
    }

    pub fn is_present(&self, k: &K) -> bool {
        self.present.contains_key(k)
    }

    /// Forgets everything (e.g. a new patron session); returns what was present.
    pub fn clear(&mut self) -> Vec<K> {
        std::mem::take(&mut self.present).into_keys().collect()
    }
}

// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    const UID: Uid = [0xE0, 0x04, 0x01, 0x00, 0x12, 0x34, 0x56, 0x78];
    const UID2: Uid = [0xE0, 0x04, 0x01, 0x00, 0x12, 0x34, 0x56, 0x79];

    #[test]
    fn presence_reports_arrivals_and_departures_once() {
        let mut p = PresenceTracker::new(1);
        let c = p.update([UID, UID2, UID]);
        assert_eq!(c.arrived, vec![UID, UID2]);
        assert!(c.left.is_empty());
        assert!(p.update([UID2, UID]).is_empty());
        let c = p.update([UID2]);
        assert_eq!((c.arrived, c.left), (vec![], vec![UID]));
        assert!(!p.is_present(&UID));
        assert_eq!(p.clear(), vec![UID2]);
        assert_eq!(p.present().count(), 0);
    }

    #[test]
    fn presence_rides_out_a_missed_read() {
        let mut p = PresenceTracker::new(2);
        p.update(["book-a", "book-b"]);
        assert!(p.update(["book-a"]).is_empty()); // b missed once
        assert!(p.is_present(&"book-b"));
        assert!(p.update(["book-a", "book-b"]).is_empty()); // back: not re-reported
        assert!(p.update(["book-a"]).is_empty());
        let c = p.update(["book-a"]);
        assert_eq!(c.left, vec!["book-b"]);
        let c = p.update(["book-b"]);
        assert_eq!(c.arrived, vec!["book-b"]);
        assert!(c.left.is_empty()); // a missed once only
    }
}
