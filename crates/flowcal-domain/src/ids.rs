//! Identifier newtypes, so that a task id can never be passed where a user id
//! is expected.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A local user account.
    UserId
);
id_type!(
    /// One stored version of a process model.
    ModelId
);
id_type!(
    /// A running or finished process instance.
    InstanceId
);
id_type!(
    /// A user task of an instance.
    TaskId
);
id_type!(
    /// A waiting timer: of an instance, or a model's start timer.
    TimerId
);
