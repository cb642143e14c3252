//! What the yardstick binaries share with the `gatehouse` binary: the allocator and the
//! runtime choice, so a ratio against them measures gatehouse's own work.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// As `gatehouse`: the single-threaded scheduler on one CPU, work-stealing on more.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut builder = if cpus == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    builder.enable_all().build()
}
