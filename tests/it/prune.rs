//! `git credman prune`, `show` and `restore` against real repositories, verified with git.
