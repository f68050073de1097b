//! flowcal's domain: users, process models, data values, deadlines, the
//! condition language of gateways, instances and their transitions, what a
//! calendar export is and when auto-sync wants one, and work calendars
//! (deadlines counted in working days and hours).
//!
//! Everything here is plain data and pure functions. This crate must never do
//! I/O or read the clock: time is always passed in.
#![forbid(unsafe_code)]

pub mod calendar_edits;
pub mod condition;
pub mod deadline;
pub mod duration;
pub mod export;
pub mod ids;
pub mod instance;
pub mod model;
pub mod timer;
pub mod user;
pub mod value;
pub mod workcal;

pub use condition::{Condition, ConditionError};
pub use deadline::{Deadline, DeadlineError, DeadlineRule, WorkTime};
pub use duration::IsoDuration;
pub use ids::{InstanceId, ModelId, TaskId, TimerId, UserId};
pub use instance::{
    Assignee, Effect, EngineError, InstanceState, InstanceStatus, Joins, OpenTask, OpenTimer, Stuck, TaskState,
    Transition,
};
pub use model::{AssigneeRule, CalendarRef, DataItemDef, DataType, Flow, Node, NodeKind, ProcessModel};
pub use timer::{TimerDate, TimerSpec, TimerWhen};
pub use user::{Login, LoginError};
pub use value::{Data, DataErrors, Value, ValueError};
pub use workcal::{CompiledCalendar, Holiday, Period, Roll, Weekmask, WorkCalendar, WorkCalendarError};
