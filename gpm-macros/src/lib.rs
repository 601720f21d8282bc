//! Attribute macros for [gpm]: `#[gpm::main]` and `#[gpm::test]`.
//!
//! Use them through the `gpm` crate, which re-exports them; this crate's
//! paths are not stable. Both turn an `async fn` into an ordinary function
//! that builds a gpm runtime and runs the body on it as goroutine 1, the way
//! Go's runtime runs `main.main`.
//!
//! | Go | gpm |
//! | --- | --- |
//! | `func main() { ... }` | `#[gpm::main] async fn main() { ... }` |
//! | `GOMAXPROCS=4 ./prog` | `#[gpm::main(procs = 4)] async fn main() { ... }` |
//! | `func TestX(t *testing.T) { ... }` | `#[gpm::test] async fn x() { ... }` |
//!
//! Both take the same options:
//!
//! - `procs = N`: run with `N` Ps (Go's `GOMAXPROCS`), `N >= 1`. Without it
//!   the runtime picks its default, the number of CPUs.
//! - `crate = "path"`: where to find gpm, for code that renames the crate or
//!   re-exports it; the default is `::gpm`.
//!
//! The source files, by what they do:
//!
//! - `entry.rs`: parsing the function and expanding it, shared by both macros;
//! - `args.rs`: the options inside the parentheses;
//! - `errors.rs`: collecting every error so one build reports them all.
//!
//! [gpm]: https://docs.rs/gpm

use proc_macro::TokenStream;

mod args;
mod entry;
mod errors;

use entry::Kind;

/// Runs an `async fn main` on a gpm runtime.
///
/// ```
/// #[gpm::main]
/// async fn main() {
///     let handle = gpm::spawn(async { 6 * 7 });
///     assert_eq!(handle.await.unwrap(), 42);
/// }
/// ```
///
/// The function becomes a plain `fn` that starts a runtime and runs its body
/// as goroutine 1 on the calling thread, so the body need not be `Send`.
/// When the body returns, the program ends, as Go's does when `main.main`
/// returns: goroutines still running do not hold it up. The return type is
/// kept, so `main` can return a `Result` and use `?`:
///
/// ```
/// #[gpm::main(procs = 2)]
/// async fn main() -> Result<(), std::num::ParseIntError> {
///     let n: u32 = "42".parse()?;
///     assert_eq!(n, 42);
///     Ok(())
/// }
/// ```
///
/// # Options
///
/// - `procs = N`: the number of Ps (Go's `GOMAXPROCS`), at least 1. The
///   default is the runtime's, the number of CPUs.
/// - `crate = "path"`: the path to gpm, if it is not `::gpm`.
///
/// The function may have any name, attributes and visibility. It must be
/// `async` and take no parameters and no generics.
///
/// # Expansion
///
/// ```text
/// #[gpm::main(procs = 2)]
/// async fn main() -> Ret { body }
/// // becomes
/// fn main() -> Ret {
///     ::gpm::__private::run_main(Some(2), async move { body })
/// }
/// ```
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::expand(Kind::Main, args.into(), item.into()).into()
}

/// Runs an `async fn` test on its own gpm runtime.
///
/// ```no_run
/// #[gpm::test]
/// async fn spawned_goroutine_runs() {
///     let handle = gpm::spawn(async { 6 * 7 });
///     assert_eq!(handle.await.unwrap(), 42);
/// }
///
/// #[gpm::test(procs = 1)]
/// #[should_panic(expected = "boom")]
/// async fn attributes_are_kept() {
///     gpm::yield_now().await;
///     panic!("boom");
/// }
/// ```
///
/// The function becomes a `#[test]` that builds a runtime, runs the body as
/// goroutine 1, and shuts the runtime down afterwards. A panic in *any*
/// goroutine of that runtime fails the test, not only a panic in the body.
/// Other attributes (`#[should_panic]`, `#[ignore]`, ...) stay on the test,
/// and the return type is kept, so a test can return a `Result`.
///
/// # Options
///
/// - `procs = N`: the number of Ps (Go's `GOMAXPROCS`), at least 1. The
///   default is the runtime's, the number of CPUs.
/// - `crate = "path"`: the path to gpm, if it is not `::gpm`.
///
/// The function must be `async` and take no parameters and no generics, and
/// must not also carry `#[test]`.
///
/// # Expansion
///
/// ```text
/// #[gpm::test(procs = 2)]
/// async fn name() -> Ret { body }
/// // becomes
/// #[test]
/// fn name() -> Ret {
///     ::gpm::__private::run_test(Some(2), async move { body })
/// }
/// ```
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::expand(Kind::Test, args.into(), item.into()).into()
}
