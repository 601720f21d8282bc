// Each bad option is reported at the option, and the function still expands.

#[gpm::main(procs = 0)]
async fn procs_zero() {}

#[gpm::main(procs = "4")]
async fn procs_string() {}

const FOUR: usize = 4;

#[gpm::main(procs = FOUR)]
async fn procs_const() {}

#[gpm::main(procs)]
async fn procs_without_value() {}

#[gpm::main(procs = 99999999999999999999999)]
async fn procs_too_large() {}

#[gpm::main(procs = 2, procs = 4)]
async fn procs_twice() {}

#[gpm::main(threads = 4)]
async fn unknown_option() {}

#[gpm::main(worker_threads = 4)]
async fn tokio_option() {}

#[gpm::main(crate = 1)]
async fn crate_not_a_string() {}

#[gpm::main(crate = "not a path")]
async fn crate_not_a_path() {}

#[gpm::main(4)]
async fn not_an_option() {}

#[gpm::main(procs = 0, flavor = "current_thread")]
async fn two_errors() {}

fn main() {}
