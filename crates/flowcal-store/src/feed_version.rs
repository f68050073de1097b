//! The version of a user's feed: every transaction that changes what the
//! feed shows moves it, so a poll is answered from one row.
//!
//! Kept apart from `feeds` so that the modules whose changes move a feed
//! (users, exports, instances) depend on this one alone, and `feeds` can
//! read users without a cycle.

use crate::db::{params, Conn};
use crate::StoreError;
use flowcal_domain::UserId;

/// The feeds of everyone an instance's change may concern moved on: the
/// assignees of its tasks and those who exported something of it.
pub(crate) fn touch_instance(c: &mut dyn Conn, instance: i64, now: i64) -> Result<(), StoreError> {
    c.execute(
        "UPDATE users SET feed_version = feed_version + 1, feed_changed_at = $2
         WHERE feed_token_hash IS NOT NULL
           AND (login IN (SELECT assignee FROM tasks WHERE instance_id = $1 AND assignee IS NOT NULL)
                OR id IN (SELECT user_id FROM exports WHERE instance_id = $1))",
        params![instance, now],
    )?;
    Ok(())
}

/// The feed of the user with this login moved on (a task left them).
pub(crate) fn touch_login(c: &mut dyn Conn, login: &str, now: i64) -> Result<(), StoreError> {
    c.execute(
        "UPDATE users SET feed_version = feed_version + 1, feed_changed_at = $2
         WHERE login = $1 AND feed_token_hash IS NOT NULL",
        params![login, now],
    )?;
    Ok(())
}

/// The user's feed moved on (their exports or settings changed).
pub(crate) fn touch_user(c: &mut dyn Conn, user: UserId, now: i64) -> Result<(), StoreError> {
    c.execute(
        "UPDATE users SET feed_version = feed_version + 1, feed_changed_at = $2 WHERE id = $1",
        params![user.0, now],
    )?;
    Ok(())
}
