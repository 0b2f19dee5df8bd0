//! The prune engine below the `prune` command. So far: [`repo`], the repository executor's
//! recovery (issue 11 moves the plan and the executors here step by step).

pub mod repo;
