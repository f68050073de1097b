//! What flowcal does when people delete or move its entries in their
//! calendars: the policies (configuration, and per process
//! `flowcal:calendarEdits`) and the decision for one entry. No I/O.

/// An entry deleted in the calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OnDeleted {
    /// The deletion stands: the export becomes `removed_in_calendar` and is
    /// never made again by later changes, only when the user adds it again.
    Respect,
    /// The entry is made again.
    Restore,
}

/// An entry moved to another day or time in the calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OnMoved {
    /// The move is shown to the user, who uses the new date or keeps
    /// flowcal's; until then the calendar keeps the new start.
    Propose,
    /// The new date is used at once where the user may change it; proposed
    /// otherwise.
    Accept,
    /// The entry is put back where flowcal has it.
    Revert,
}

impl OnDeleted {
    pub fn as_str(self) -> &'static str {
        match self {
            OnDeleted::Respect => "respect",
            OnDeleted::Restore => "restore",
        }
    }

    pub fn parse(s: &str) -> Option<OnDeleted> {
        match s {
            "respect" => Some(OnDeleted::Respect),
            "restore" => Some(OnDeleted::Restore),
            _ => None,
        }
    }
}

impl OnMoved {
    pub fn as_str(self) -> &'static str {
        match self {
            OnMoved::Propose => "propose",
            OnMoved::Accept => "accept",
            OnMoved::Revert => "revert",
        }
    }

    pub fn parse(s: &str) -> Option<OnMoved> {
        match s {
            "propose" => Some(OnMoved::Propose),
            "accept" => Some(OnMoved::Accept),
            "revert" => Some(OnMoved::Revert),
            _ => None,
        }
    }
}

/// The policies that hold for an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EditPolicy {
    pub deleted: OnDeleted,
    pub moved: OnMoved,
}

impl Default for EditPolicy {
    fn default() -> Self {
        EditPolicy { deleted: OnDeleted::Respect, moved: OnMoved::Propose }
    }
}

/// A process's own policies (`flowcal:calendarEdits="deleted=restore
/// moved=accept"`): what it names wins over the configuration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ProcessEdits {
    pub deleted: Option<OnDeleted>,
    pub moved: Option<OnMoved>,
}

impl ProcessEdits {
    /// Reads the attribute: `deleted=respect|restore` and
    /// `moved=propose|accept|revert`, separated by spaces, commas or
    /// semicolons, each at most once.
    pub fn parse(text: &str) -> Result<ProcessEdits, String> {
        let mut out = ProcessEdits::default();
        for part in text.split([' ', ',', ';', '\t', '\n', '\r']).filter(|p| !p.is_empty()) {
            let (name, value) = part.split_once('=').ok_or_else(|| {
                format!("'{part}' is not name=value (deleted=respect|restore, moved=propose|accept|revert)")
            })?;
            match name {
                "deleted" if out.deleted.is_none() => {
                    out.deleted = Some(OnDeleted::parse(value).ok_or_else(|| {
                        format!("deleted={value}: an entry deleted in the calendar is 'respect'ed or 'restore'd")
                    })?);
                }
                "moved" if out.moved.is_none() => {
                    out.moved = Some(OnMoved::parse(value).ok_or_else(|| {
                        format!("moved={value}: a move in the calendar is 'propose'd, 'accept'ed or 'revert'ed")
                    })?);
                }
                "deleted" | "moved" => return Err(format!("'{name}' is given twice")),
                other => return Err(format!("'{other}' is not a calendar edit; there are 'deleted' and 'moved'")),
            }
        }
        Ok(out)
    }

    /// These policies over the configured ones.
    pub fn over(self, configured: EditPolicy) -> EditPolicy {
        EditPolicy {
            deleted: self.deleted.unwrap_or(configured.deleted),
            moved: self.moved.unwrap_or(configured.moved),
        }
    }
}

/// What a read of the calendar found of an entry flowcal put there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// It is no longer in the calendar.
    Gone,
    /// It starts where flowcal wrote it (its title or description may have
    /// been edited: they are overwritten at the next change).
    InPlace,
    /// It starts elsewhere than flowcal wrote it.
    Moved,
}

/// What flowcal does about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reaction {
    /// Only the new version is noted.
    Note,
    /// The export becomes `removed_in_calendar`.
    Forget,
    /// The entry is made again.
    MakeAgain,
    /// The move waits for the user's decision.
    Propose,
    /// The new start becomes the date item or the step's deadline.
    Apply,
    /// The entry is put back where flowcal has it.
    PutBack,
}

/// The reaction to what a read found, under `policy`; `may_change`:
/// whether the entry's owner may change the date it shows.
pub fn react(seen: Seen, policy: EditPolicy, may_change: bool) -> Reaction {
    match (seen, policy.deleted, policy.moved) {
        (Seen::InPlace, _, _) => Reaction::Note,
        (Seen::Gone, OnDeleted::Respect, _) => Reaction::Forget,
        (Seen::Gone, OnDeleted::Restore, _) => Reaction::MakeAgain,
        (Seen::Moved, _, OnMoved::Propose) => Reaction::Propose,
        (Seen::Moved, _, OnMoved::Accept) if may_change => Reaction::Apply,
        (Seen::Moved, _, OnMoved::Accept) => Reaction::Propose,
        (Seen::Moved, _, OnMoved::Revert) => Reaction::PutBack,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_policy_reacts_as_documented() {
        let p = |deleted, moved| EditPolicy { deleted, moved };
        let default = EditPolicy::default();
        assert_eq!(default, p(OnDeleted::Respect, OnMoved::Propose));
        assert_eq!(react(Seen::Gone, default, true), Reaction::Forget);
        assert_eq!(react(Seen::Gone, p(OnDeleted::Restore, OnMoved::Propose), true), Reaction::MakeAgain);
        assert_eq!(react(Seen::Moved, default, true), Reaction::Propose);
        assert_eq!(react(Seen::Moved, p(OnDeleted::Respect, OnMoved::Accept), true), Reaction::Apply);
        assert_eq!(react(Seen::Moved, p(OnDeleted::Respect, OnMoved::Accept), false), Reaction::Propose);
        assert_eq!(react(Seen::Moved, p(OnDeleted::Respect, OnMoved::Revert), true), Reaction::PutBack);
        for moved in [OnMoved::Propose, OnMoved::Accept, OnMoved::Revert] {
            assert_eq!(react(Seen::InPlace, p(OnDeleted::Restore, moved), true), Reaction::Note);
        }
    }

    #[test]
    fn a_process_names_its_own_policies_over_the_configured_ones() {
        let e = ProcessEdits::parse("deleted=restore, moved=accept").unwrap();
        assert_eq!(e, ProcessEdits { deleted: Some(OnDeleted::Restore), moved: Some(OnMoved::Accept) });
        assert_eq!(e.over(EditPolicy::default()), EditPolicy { deleted: OnDeleted::Restore, moved: OnMoved::Accept });
        let only = ProcessEdits::parse(" moved=revert ").unwrap();
        let configured = EditPolicy { deleted: OnDeleted::Restore, moved: OnMoved::Propose };
        assert_eq!(only.over(configured), EditPolicy { deleted: OnDeleted::Restore, moved: OnMoved::Revert });
        assert_eq!(ProcessEdits::parse("").unwrap(), ProcessEdits::default());
        for (bad, says) in [
            ("deleted=ignore", "respect"),
            ("moved=keep", "propose"),
            ("deleted", "name=value"),
            ("renamed=x", "not a calendar edit"),
            ("moved=accept moved=revert", "twice"),
        ] {
            let err = ProcessEdits::parse(bad).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
        for p in [OnDeleted::Respect, OnDeleted::Restore] {
            assert_eq!(OnDeleted::parse(p.as_str()), Some(p));
        }
        for p in [OnMoved::Propose, OnMoved::Accept, OnMoved::Revert] {
            assert_eq!(OnMoved::parse(p.as_str()), Some(p));
        }
    }
}
