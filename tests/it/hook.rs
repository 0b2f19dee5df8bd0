//! The pre-push gate and the CI report formats, end to end with a real `git push`.
