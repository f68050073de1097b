//! Who asks, and what they may see and do: the rules every service applies
//! (and delivery, for the user an entry is for).

use crate::error::{AppError, AppResult};
use flowcal_store::{InstanceRecord, TaskRecord, User};

/// Who may upload models: administrators and members of this role.
pub const DESIGNER_ROLE: &str = "designers";

/// Who sees a task: an administrator, its assignee, or (while nobody has
/// claimed it) a member of its role. The rule of the API and of delivery.
pub(crate) fn sees_task(user: &User, roles: &[String], t: &TaskRecord) -> bool {
    user.is_admin || works_on(user, roles, t)
}

/// Who may claim or complete a task: its assignee, or a member of its role
/// while nobody has claimed it.
pub(crate) fn works_on(user: &User, roles: &[String], t: &TaskRecord) -> bool {
    match (&t.assignee, &t.role) {
        (Some(a), _) => *a == user.login,
        (None, Some(r)) => roles.contains(r),
        (None, None) => false,
    }
}

/// Who is involved in an instance: an administrator, its starter, or whoever
/// sees one of its tasks or ended one. The rule of the API and of delivery.
pub(crate) fn involved(user: &User, roles: &[String], instance: &InstanceRecord, tasks: &[TaskRecord]) -> bool {
    user.is_admin
        || instance.starter == user.login
        || tasks.iter().any(|t| sees_task(user, roles, t) || t.ended_by.as_deref() == Some(user.login.as_str()))
}

/// A signed-in user with their roles.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    pub roles: Vec<String>,
}

impl Principal {
    pub fn login(&self) -> &str {
        &self.user.login
    }

    pub fn is_admin(&self) -> bool {
        self.user.is_admin
    }

    /// May see the task: an admin, the assignee, or a member of the role of an unclaimed task.
    pub fn can_see(&self, t: &TaskRecord) -> bool {
        sees_task(&self.user, &self.roles, t)
    }

    /// May claim or complete the task.
    pub fn can_work(&self, t: &TaskRecord) -> bool {
        works_on(&self.user, &self.roles, t)
    }

    pub(crate) fn require_admin(&self) -> AppResult<()> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(AppError::Forbidden("only an administrator may do this".into()))
        }
    }
}
