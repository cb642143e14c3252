//! The `gatehouse` binary: command line, config files, wiring of the services, shutdown.

fn main() {
    println!("gatehouse {}", gatehouse_core::VERSION);
}
