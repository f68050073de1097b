//! What a calendar entry is about, its stable identity, and which entries
//! auto-sync wants ([`auto_sync_plan`]). No I/O.

use crate::{InstanceId, TaskId, TaskState, UserId};
use sha2::{Digest, Sha256};

/// The alphabet of base32hex (RFC 4648 §7), lowercase: what Google accepts in event ids.
const BASE32HEX: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";

/// The stable identity of the entry for `source` (e.g. `task:42:deadline`,
/// `instance:7:item:first_day`) in the calendar of user `user`: 160 bits of
/// SHA-256, in lowercase base32hex (32 characters). Google takes it as the
/// event `id` (5–1024 characters of [a-v0-9]); CalDAV as the UID and
/// resource name; Microsoft Graph as the `transactionId`.
pub fn event_key(user: i64, source: &str) -> String {
    let digest = Sha256::digest(format!("flowcal:{user}:{source}").as_bytes());
    let mut out = String::with_capacity(32);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in &digest[..20] {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32HEX[((acc >> bits) & 31) as usize]));
        }
    }
    out
}

/// Whether `key` is one [`event_key`] makes (32 characters of base32hex):
/// how flowcal tells its own entries from others in a calendar.
pub fn is_event_key(key: &str) -> bool {
    key.len() == 32 && key.bytes().all(|b| BASE32HEX.contains(&b))
}

/// Whether `id` is a valid Google Calendar event id.
pub fn is_google_event_id(id: &str) -> bool {
    (5..=1024).contains(&id.len()) && id.bytes().all(|b| BASE32HEX.contains(&b))
}

/// What an export puts on a calendar. Stored as text (`task:42:deadline`,
/// `instance:7:item:first_day`): the text is part of every entry's identity
/// ([`event_key`]), so it never changes; it is parsed once where it is read.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ExportSource {
    /// A step's deadline.
    TaskDeadline(TaskId),
    /// A date or date-time item of an instance.
    InstanceItem { instance: InstanceId, key: String },
}

impl ExportSource {
    /// Reads a stored source; `None` for text that names none.
    pub fn parse(s: &str) -> Option<ExportSource> {
        let mut parts = s.splitn(4, ':');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some("task"), Some(id), Some("deadline"), None) => Some(ExportSource::TaskDeadline(TaskId(number(id)?))),
            (Some("instance"), Some(id), Some("item"), Some(key)) if !key.is_empty() => {
                Some(ExportSource::InstanceItem { instance: InstanceId(number(id)?), key: key.to_owned() })
            }
            _ => None,
        }
    }
}

/// A decimal id as written in a source: digits only, no sign, no leading `+`.
fn number(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl std::fmt::Display for ExportSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExportSource::TaskDeadline(t) => write!(f, "task:{}:deadline", t.0),
            ExportSource::InstanceItem { instance, key } => write!(f, "instance:{}:item:{key}", instance.0),
        }
    }
}

/// Whether an export's entry should be on the calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Wanted {
    Present,
    Absent,
}

/// Where an export's delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExportState {
    /// Due for delivery (at its `not_before`).
    Pending,
    /// The calendar shows what was asked for.
    Synced,
    /// Taken off the calendar.
    Removed,
    /// No more attempts; the user or an administrator may retry.
    Failed,
    /// The account needs to be connected again.
    Waiting,
    /// Deleted in the calendar by its owner, and respected: never made again
    /// by later changes, only when the user adds it again.
    RemovedInCalendar,
}

/// The text of the stored values, and their parsing.
macro_rules! stored_words {
    ($ty:ident { $($variant:ident = $word:literal),* $(,)? }) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $word),* }
            }

            /// Reads a stored value; `None` for any other text.
            pub fn parse(s: &str) -> Option<$ty> {
                match s { $($word => Some($ty::$variant),)* _ => None }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

stored_words!(Wanted { Present = "present", Absent = "absent" });
stored_words!(ExportState {
    Pending = "pending",
    Synced = "synced",
    Removed = "removed",
    Failed = "failed",
    Waiting = "waiting",
    RemovedInCalendar = "removed_in_calendar",
});

/// A task as auto-sync sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncTask {
    pub id: TaskId,
    pub instance: InstanceId,
    pub state: TaskState,
    /// The user who has the task; none for a task offered to a role.
    pub assignee: Option<String>,
    pub has_deadline: bool,
}

/// A user's auto-sync setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoSyncChoice {
    pub user: UserId,
    pub login: String,
    /// The account whose calendar keeps the user's deadlines; none: auto-sync is off.
    pub account: Option<i64>,
    /// Done tasks stay on the calendar (as "✓ done").
    pub keep_done: bool,
    /// The user's own switch for calendar export.
    pub calendar_export: bool,
}

/// An export as auto-sync sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncedExport {
    pub id: i64,
    pub user: UserId,
    pub account: i64,
    pub source: ExportSource,
    /// Made by auto-sync; otherwise put on a calendar with the button.
    pub auto: bool,
    /// The entry is wanted on the calendar (`present`), not `absent`.
    pub present: bool,
    /// Delivery gave up (`failed`): the export waits for a retry by hand.
    pub failed: bool,
}

/// What brought auto-sync to run, which decides the tasks it looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncScope<'a> {
    /// An instance changed. Its open tasks, and those with an auto-synced
    /// entry: a task that is no longer open gets no new entry here.
    Instance,
    /// A user's auto-sync setting changed (or `flowcal export sync`): every
    /// task of theirs that was not cancelled, so done tasks come when the
    /// user keeps them, and every task with an auto-synced entry of theirs.
    User { id: UserId, login: &'a str },
}

/// An auto-synced export to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAutoExport {
    pub user: UserId,
    pub account: i64,
    pub task: TaskId,
    pub instance: InstanceId,
    pub source: ExportSource,
    pub event_key: String,
}

/// What auto-sync does to the exports, by export id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AutoSyncPlan {
    /// Entries put on calendars with the button go out again as they are:
    /// their source changed (an unchanged entry costs no call at delivery).
    pub resend: Vec<i64>,
    /// Auto-synced entries that stay (or come back) and go out again, so a
    /// changed deadline or title reaches the calendar.
    pub keep: Vec<i64>,
    /// Auto-synced entries that must leave their calendar.
    pub withdraw: Vec<i64>,
    /// Auto-synced entries to make, in task order.
    pub create: Vec<NewAutoExport>,
}

/// Auto-sync's decision. A task's deadline belongs on the calendar of its
/// assignee when the task has a deadline, the assignee turned auto-sync and
/// calendar export on, and the task is open, or done and they keep done
/// tasks. Any other auto-synced export of the task leaves its calendar. When
/// an instance changed, the entries put on calendars with the button (not
/// failed, still wanted) go out again too.
///
/// `tasks`: the tasks the scope may concern (others are ignored); `users`:
/// the settings of their assignees; `exports`: the auto-synced exports of
/// those tasks, of any user, and for [`SyncScope::Instance`] every export of
/// the instance.
pub fn auto_sync_plan(
    scope: SyncScope<'_>,
    tasks: &[SyncTask],
    users: &[AutoSyncChoice],
    exports: &[SyncedExport],
) -> AutoSyncPlan {
    let mut plan = AutoSyncPlan::default();
    if scope == SyncScope::Instance {
        plan.resend = exports.iter().filter(|e| !e.auto && e.present && !e.failed).map(|e| e.id).collect();
    }
    let mut tasks: Vec<&SyncTask> = tasks.iter().collect();
    tasks.sort_by_key(|t| t.id);
    for t in tasks {
        let source = ExportSource::TaskDeadline(t.id);
        let existing: Vec<&SyncedExport> = exports.iter().filter(|e| e.auto && e.source == source).collect();
        let concerned = match scope {
            SyncScope::Instance => t.state == TaskState::Open || !existing.is_empty(),
            SyncScope::User { id, login } => {
                (t.assignee.as_deref() == Some(login) && t.state != TaskState::Cancelled)
                    || existing.iter().any(|e| e.user == id)
            }
        };
        if !concerned {
            continue;
        }
        let desired = wanted_on(t, users);
        let mut found = false;
        for e in existing {
            if desired == Some((e.user, e.account)) {
                found = true;
                plan.keep.push(e.id);
            } else if e.present {
                plan.withdraw.push(e.id);
            }
        }
        if let (Some((user, account)), false) = (desired, found) {
            plan.create.push(NewAutoExport {
                user,
                account,
                task: t.id,
                instance: t.instance,
                event_key: event_key(user.0, &source.to_string()),
                source,
            });
        }
    }
    plan
}

/// The user and account whose calendar should show the task's deadline.
fn wanted_on(t: &SyncTask, users: &[AutoSyncChoice]) -> Option<(UserId, i64)> {
    let login = t.assignee.as_deref().filter(|_| t.has_deadline)?;
    let u = users.iter().find(|u| u.login == login && u.calendar_export)?;
    let account = u.account?;
    let keep = t.state == TaskState::Open || (t.state == TaskState::Done && u.keep_done);
    keep.then_some((u.user, account))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANN: UserId = UserId(1);
    const BOB: UserId = UserId(2);
    const INSTANCE: InstanceId = InstanceId(7);

    fn task(id: i64, state: TaskState, assignee: Option<&str>) -> SyncTask {
        SyncTask {
            id: TaskId(id),
            instance: INSTANCE,
            state,
            assignee: assignee.map(str::to_owned),
            has_deadline: true,
        }
    }

    /// A user with auto-sync on account `10 * id`.
    fn syncing(user: UserId, login: &str, keep_done: bool) -> AutoSyncChoice {
        AutoSyncChoice { user, login: login.into(), account: Some(user.0 * 10), keep_done, calendar_export: true }
    }

    fn auto(id: i64, user: UserId, task: i64, present: bool) -> SyncedExport {
        SyncedExport {
            id,
            user,
            account: user.0 * 10,
            source: ExportSource::TaskDeadline(TaskId(task)),
            auto: true,
            present,
            failed: false,
        }
    }

    fn button(id: i64, present: bool, failed: bool) -> SyncedExport {
        SyncedExport {
            id,
            user: ANN,
            account: 10,
            source: ExportSource::InstanceItem { instance: InstanceId(7), key: "day".into() },
            auto: false,
            present,
            failed,
        }
    }

    fn created(user: UserId, task: i64) -> NewAutoExport {
        let source = ExportSource::TaskDeadline(TaskId(task));
        NewAutoExport {
            user,
            account: user.0 * 10,
            task: TaskId(task),
            instance: INSTANCE,
            event_key: event_key(user.0, &source.to_string()),
            source,
        }
    }

    fn plan(tasks: &[SyncTask], users: &[AutoSyncChoice], exports: &[SyncedExport]) -> AutoSyncPlan {
        auto_sync_plan(SyncScope::Instance, tasks, users, exports)
    }

    #[test]
    fn an_open_deadline_goes_to_its_assignees_auto_sync_calendar() {
        let users = [syncing(ANN, "ann", false)];
        let p = plan(&[task(3, TaskState::Open, Some("ann"))], &users, &[]);
        assert_eq!(p, AutoSyncPlan { create: vec![created(ANN, 3)], ..AutoSyncPlan::default() });
        // Present already: it stays, and goes out again.
        let p = plan(&[task(3, TaskState::Open, Some("ann"))], &users, &[auto(40, ANN, 3, true)]);
        assert_eq!(p, AutoSyncPlan { keep: vec![40], ..AutoSyncPlan::default() });
        // Withdrawn earlier (auto-sync was off a while): it comes back, not a second one.
        let p = plan(&[task(3, TaskState::Open, Some("ann"))], &users, &[auto(40, ANN, 3, false)]);
        assert_eq!(p, AutoSyncPlan { keep: vec![40], ..AutoSyncPlan::default() });
    }

    #[test]
    fn no_entry_without_deadline_assignee_auto_sync_or_calendar_export() {
        let mut no_deadline = task(3, TaskState::Open, Some("ann"));
        no_deadline.has_deadline = false;
        let role_task = task(4, TaskState::Open, None);
        let users = [syncing(ANN, "ann", true)];
        assert_eq!(plan(&[no_deadline, role_task], &users, &[]), AutoSyncPlan::default());

        let open = [task(3, TaskState::Open, Some("ann"))];
        let off = AutoSyncChoice { account: None, ..syncing(ANN, "ann", true) };
        let no_export = AutoSyncChoice { calendar_export: false, ..syncing(ANN, "ann", true) };
        for users in [vec![], vec![off], vec![no_export]] {
            let p = plan(&open, &users, &[auto(40, ANN, 3, true), auto(41, BOB, 3, false)]);
            // The present entry leaves; the absent one is left alone.
            assert_eq!(p, AutoSyncPlan { withdraw: vec![40], ..AutoSyncPlan::default() }, "{users:?}");
        }
    }

    #[test]
    fn done_tasks_stay_only_for_users_who_keep_them_and_cancelled_ones_leave() {
        let existing = [auto(40, ANN, 3, true)];
        let done = [task(3, TaskState::Done, Some("ann"))];
        let keep = plan(&done, &[syncing(ANN, "ann", true)], &existing);
        assert_eq!(keep, AutoSyncPlan { keep: vec![40], ..AutoSyncPlan::default() });
        let drop = plan(&done, &[syncing(ANN, "ann", false)], &existing);
        assert_eq!(drop, AutoSyncPlan { withdraw: vec![40], ..AutoSyncPlan::default() });
        let cancelled = [task(3, TaskState::Cancelled, Some("ann"))];
        let gone = plan(&cancelled, &[syncing(ANN, "ann", true)], &existing);
        assert_eq!(gone, AutoSyncPlan { withdraw: vec![40], ..AutoSyncPlan::default() });
    }

    #[test]
    fn a_reassigned_task_moves_to_the_new_assignees_calendar() {
        let users = [syncing(ANN, "ann", false), syncing(BOB, "bob", false)];
        let p = plan(&[task(3, TaskState::Open, Some("bob"))], &users, &[auto(40, ANN, 3, true)]);
        assert_eq!(p, AutoSyncPlan { withdraw: vec![40], create: vec![created(BOB, 3)], ..AutoSyncPlan::default() });
        // A new auto-sync account: the entry on the old one leaves.
        let moved = [AutoSyncChoice { account: Some(11), ..syncing(ANN, "ann", false) }];
        let p = plan(&[task(3, TaskState::Open, Some("ann"))], &moved, &[auto(40, ANN, 3, true)]);
        let new = NewAutoExport { account: 11, ..created(ANN, 3) };
        assert_eq!(p, AutoSyncPlan { withdraw: vec![40], create: vec![new], ..AutoSyncPlan::default() });
    }

    #[test]
    fn an_instance_change_makes_no_entry_for_a_task_no_longer_open_but_a_setting_change_does() {
        let users = [syncing(ANN, "ann", true)];
        let tasks = [task(3, TaskState::Done, Some("ann")), task(4, TaskState::Cancelled, Some("ann"))];
        assert_eq!(plan(&tasks, &users, &[]), AutoSyncPlan::default());
        let user = SyncScope::User { id: ANN, login: "ann" };
        let p = auto_sync_plan(user, &tasks, &users, &[]);
        assert_eq!(p, AutoSyncPlan { create: vec![created(ANN, 3)], ..AutoSyncPlan::default() });
    }

    #[test]
    fn a_setting_change_concerns_the_users_tasks_and_entries_only() {
        let users = [syncing(ANN, "ann", false), syncing(BOB, "bob", false)];
        let tasks = [
            task(3, TaskState::Open, Some("ann")),
            // Bob's, with an entry of Ann's left from before a reassignment.
            task(4, TaskState::Open, Some("bob")),
            // Bob's alone: not Ann's business.
            task(5, TaskState::Open, Some("bob")),
        ];
        let exports = [auto(40, ANN, 4, true), button(50, true, false)];
        let p = auto_sync_plan(SyncScope::User { id: ANN, login: "ann" }, &tasks, &users, &exports);
        let want = AutoSyncPlan {
            withdraw: vec![40],
            create: vec![created(ANN, 3), created(BOB, 4)],
            ..AutoSyncPlan::default()
        };
        assert_eq!(p, want);
    }

    #[test]
    fn an_instance_change_resends_the_buttons_entries_still_wanted_and_not_failed() {
        let exports =
            [button(50, true, false), button(51, false, false), button(52, true, true), auto(40, ANN, 3, true)];
        let p = plan(&[], &[], &exports);
        assert_eq!(p, AutoSyncPlan { resend: vec![50], ..AutoSyncPlan::default() });
        let user = SyncScope::User { id: ANN, login: "ann" };
        assert_eq!(auto_sync_plan(user, &[], &[], &exports), AutoSyncPlan::default());
    }

    #[test]
    fn entries_are_made_in_task_order() {
        let users = [syncing(ANN, "ann", false)];
        let tasks = [task(9, TaskState::Open, Some("ann")), task(3, TaskState::Open, Some("ann"))];
        let p = plan(&tasks, &users, &[]);
        assert_eq!(p.create, vec![created(ANN, 3), created(ANN, 9)]);
    }

    #[test]
    fn sources_read_back_as_written() {
        let item = ExportSource::InstanceItem { instance: InstanceId(7), key: "first:day".into() };
        for (text, source) in
            [("task:42:deadline", ExportSource::TaskDeadline(TaskId(42))), ("instance:7:item:first:day", item)]
        {
            assert_eq!(ExportSource::parse(text), Some(source.clone()));
            assert_eq!(source.to_string(), text);
        }
        for bad in [
            "",
            "task:42",
            "task:x:deadline",
            "task:-1:deadline",
            "task:+1:deadline",
            "task:1:deadline:x",
            "instance:7:item:",
            "instance:7:data:a",
            "job:1:deadline",
        ] {
            assert_eq!(ExportSource::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn states_and_wishes_read_back_as_stored() {
        for s in [
            ExportState::Pending,
            ExportState::Synced,
            ExportState::Removed,
            ExportState::Failed,
            ExportState::Waiting,
            ExportState::RemovedInCalendar,
        ] {
            assert_eq!(ExportState::parse(s.as_str()), Some(s));
        }
        for w in [Wanted::Present, Wanted::Absent] {
            assert_eq!(Wanted::parse(&w.to_string()), Some(w));
        }
        assert_eq!(ExportState::parse("Pending"), None);
        assert_eq!(Wanted::parse("maybe"), None);
    }
}
