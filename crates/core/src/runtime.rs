//! The async runtime every gatehouse process (and the benchmark's yardsticks) runs on.

/// Tokio's work-stealing scheduler on several CPUs; on one CPU (a small container, a
/// pinned process) the single-threaded scheduler, which does the same work without the
/// cross-thread bookkeeping.
pub fn build() -> std::io::Result<tokio::runtime::Runtime> {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut builder = if cpus == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    builder.enable_all().build()
}
