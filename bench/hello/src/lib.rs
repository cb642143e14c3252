//! What the yardstick binaries share with the `gatehouse` binary: the allocator (here) and
//! the runtime (`gatehouse_core::runtime`), so a ratio against them measures gatehouse's
//! own work.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
