// Attributes, visibility, inner attributes and `crate = "path"` are kept.

mod reexport {
    pub use ::gpm as runtime;
}

/// Documented main.
#[gpm::main(crate = "reexport::runtime", procs = 1)]
#[allow(clippy::needless_return)]
pub(crate) async fn main() -> std::process::ExitCode {
    #![allow(unused_variables)]
    let unused = ();
    return std::process::ExitCode::SUCCESS;
}
