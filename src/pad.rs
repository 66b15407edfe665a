//! What the RFID pad means for circulation: which items are complete and
//! ready to lend or return, which sets still miss parts, which tags cannot
//! be read. Pure: the kiosk feeds it device events and acts on the answer
//! (the text kiosk today, the touch screen later). Each item is handed out
//! once while it stays on the pad; taking it off and putting it back makes
//! it new again.
//!
//! May use: `domain`, `devices` (tag types).

use crate::devices::events::Tag;
use crate::devices::rfid::Uid;
use crate::devices::tag::Format;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PadAction {
    /// Every part of an item is on the pad: lend or return it, then set the
    /// security of each of its tags.
    Ready {
        item: String,
        uids: Vec<Uid>,
        parts_seen: u8,
    },
    /// A set with parts missing (said once per count seen).
    Incomplete { item: String, seen: u8, parts: u8 },
    /// A tag that carries no item id (blank, damaged, unknown format).
    Unreadable { uid: Uid, format: Format },
}

#[derive(Debug, Default)]
pub(crate) struct Pad {
    /// Items already handed out, with the tags they were seen with.
    done: BTreeMap<String, BTreeSet<Uid>>,
    /// Incomplete sets already reported, with the count seen then.
    told_incomplete: BTreeMap<String, u8>,
    told_unreadable: BTreeSet<Uid>,
}

impl Pad {
    pub(crate) fn new() -> Pad {
        Pad::default()
    }

    /// The tags now in the field (a `TagsInField` event): what to do.
    pub(crate) fn field(&mut self, tags: &[Tag]) -> Vec<PadAction> {
        let mut out = Vec::new();
        let present: BTreeSet<Uid> = tags.iter().map(|t| t.uid).collect();
        self.forget_gone(&present);
        let mut by_item: BTreeMap<&str, Vec<&Tag>> = BTreeMap::new();
        for t in tags {
            match t.item_id().filter(|id| !id.is_empty()) {
                Some(id) => by_item.entry(id).or_default().push(t),
                None => {
                    if self.told_unreadable.insert(t.uid) {
                        out.push(PadAction::Unreadable {
                            uid: t.uid,
                            format: t.data.format,
                        });
                    }
                }
            }
        }
        for (item, parts) in by_item {
            if self.done.contains_key(item) {
                // Already handled; a late part of a handled set joins it.
                if let Some(uids) = self.done.get_mut(item) {
                    uids.extend(parts.iter().map(|t| t.uid));
                }
                continue;
            }
            let wanted = parts.iter().filter_map(|t| t.data.parts).max().unwrap_or(1);
            let distinct: BTreeSet<u8> = parts.iter().map(|t| t.data.part.unwrap_or(1)).collect();
            let seen = u8::try_from(distinct.len()).unwrap_or(u8::MAX);
            if seen < wanted {
                if self.told_incomplete.get(item) != Some(&seen) {
                    self.told_incomplete.insert(item.to_string(), seen);
                    out.push(PadAction::Incomplete {
                        item: item.to_string(),
                        seen,
                        parts: wanted,
                    });
                }
                continue;
            }
            self.told_incomplete.remove(item);
            let uids: Vec<Uid> = parts.iter().map(|t| t.uid).collect();
            self.done
                .insert(item.to_string(), uids.iter().copied().collect());
            out.push(PadAction::Ready {
                item: item.to_string(),
                uids,
                parts_seen: seen,
            });
        }
        out
    }

    /// A tag left the pad.
    pub(crate) fn left(&mut self, uid: &Uid) {
        self.told_unreadable.remove(uid);
        self.done.retain(|_, uids| {
            uids.remove(uid);
            !uids.is_empty()
        });
    }

    /// Starts over (a new reader session): items still on the pad will be
    /// handed out again at the next `field`.
    pub(crate) fn reset(&mut self) {
        *self = Pad::default();
    }

    fn forget_gone(&mut self, present: &BTreeSet<Uid>) {
        self.told_unreadable.retain(|u| present.contains(u));
        self.done.retain(|_, uids| {
            uids.retain(|u| present.contains(u));
            !uids.is_empty()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::tag::TagData;

    fn tag(n: u8, item: Option<&str>, part: u8, parts: u8) -> Tag {
        let mut data = TagData::only(if item.is_some() {
            Format::Iso28560_3
        } else {
            Format::Blank
        });
        data.item_id = item.map(String::from);
        if item.is_some() {
            data.part = Some(part);
            data.parts = Some(parts);
        }
        Tag {
            uid: [0xE0, 4, 1, 0, 0, 0, 0, n],
            afi: Some(7),
            data,
        }
    }

    #[test]
    fn a_book_is_handed_out_once_while_it_stays() {
        let mut pad = Pad::new();
        let b = tag(1, Some("3001"), 1, 1);
        let a = pad.field(std::slice::from_ref(&b));
        assert_eq!(
            a,
            [PadAction::Ready {
                item: "3001".into(),
                uids: vec![b.uid],
                parts_seen: 1
            }]
        );
        assert!(pad.field(std::slice::from_ref(&b)).is_empty());
        pad.left(&b.uid);
        assert_eq!(pad.field(std::slice::from_ref(&b)).len(), 1);
        // Gone from a later field without a TagLeft: new again after.
        assert!(pad.field(&[]).is_empty());
        assert_eq!(pad.field(&[b]).len(), 1);
    }

    #[test]
    fn a_set_waits_for_all_its_parts() {
        let mut pad = Pad::new();
        let p1 = tag(1, Some("KIT"), 1, 3);
        let p2 = tag(2, Some("KIT"), 2, 3);
        let p3 = tag(3, Some("KIT"), 3, 3);
        assert_eq!(
            pad.field(std::slice::from_ref(&p1)),
            [PadAction::Incomplete {
                item: "KIT".into(),
                seen: 1,
                parts: 3
            }]
        );
        // The same count is not said twice.
        assert!(pad.field(std::slice::from_ref(&p1)).is_empty());
        assert_eq!(pad.field(&[p1.clone(), p2.clone()]).len(), 1);
        // A duplicate part does not complete the set.
        let dup = tag(4, Some("KIT"), 2, 3);
        assert!(pad.field(&[p1.clone(), p2.clone(), dup]).is_empty());
        let a = pad.field(&[p1, p2, p3]);
        assert!(
            matches!(&a[..], [PadAction::Ready { item, uids, parts_seen: 3 }] if item == "KIT" && uids.len() == 3),
            "{a:?}"
        );
    }

    #[test]
    fn unreadable_tags_are_reported_once_and_others_still_work() {
        let mut pad = Pad::new();
        let blank = tag(9, None, 0, 0);
        let book = tag(1, Some("3001"), 1, 1);
        let a = pad.field(&[blank.clone(), book.clone()]);
        assert_eq!(a.len(), 2);
        assert!(a.contains(&PadAction::Unreadable {
            uid: blank.uid,
            format: Format::Blank
        }));
        assert!(pad.field(&[blank.clone(), book]).is_empty());
        pad.left(&blank.uid);
        assert_eq!(pad.field(&[blank]).len(), 1);
    }

    #[test]
    fn reset_hands_out_what_is_still_on_the_pad() {
        let mut pad = Pad::new();
        let b = tag(1, Some("3001"), 1, 1);
        assert_eq!(pad.field(std::slice::from_ref(&b)).len(), 1);
        pad.reset();
        assert_eq!(pad.field(&[b]).len(), 1);
    }
}
