//! Macros for [gpm]: `#[gpm::main]`, `#[gpm::test]` and `gpm::select!`.
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
//! - `unhandled_panic = "exit_process" | "ignore" | "shutdown_runtime"`:
//!   what a panic in a goroutine nobody joins does, one of
//!   `gpm::runtime::UnhandledPanic`'s variants in snake case (as tokio
//!   spells them). `#[gpm::main]`'s default is the runtime builder's,
//!   `"exit_process"` (Go's crash); `#[gpm::test]`'s is
//!   `"shutdown_runtime"` (the test fails).
//! - `crate = "path"`: where to find gpm, for code that renames the crate or
//!   re-exports it; the default is `::gpm`.
//!
//! The source files, by what they do:
//!
//! - `entry.rs`: parsing the function and expanding it, shared by both macros;
//! - `args.rs`: the options inside the parentheses;
//! - `errors.rs`: collecting every error so one build reports them all;
//! - `select.rs`: `select!`, Go's `select` over channels.
//!
//! [gpm]: https://docs.rs/gpm

use proc_macro::TokenStream;

mod args;
mod entry;
mod errors;
mod select;

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
/// - `unhandled_panic = "..."`: what a panic in a goroutine started with
///   `go!` does (a `spawn`ed one's panic goes to its `JoinHandle`): `"exit_process"` (the default, as
///   `Builder`'s: print the panic and exit with status 2, Go's rule),
///   `"ignore"`, or `"shutdown_runtime"`; see
///   `gpm::runtime::UnhandledPanic`.
/// - `crate = "path"`: the path to gpm, if it is not `::gpm`.
///
/// ```
/// #[gpm::main(unhandled_panic = "ignore")]
/// async fn main() {
///     let wg = gpm::sync::WaitGroup::new();
///     wg.go(async { panic!("dropped, and the program goes on") });
///     wg.wait().await; // the goroutine is gone; main carries on
/// }
/// ```
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
/// - `unhandled_panic = "..."`: what a panic in a detached goroutine does:
///   `"shutdown_runtime"` (the default here: the test fails with the
///   goroutine's message), `"ignore"`, or `"exit_process"`; see
///   `gpm::runtime::UnhandledPanic`.
/// - `crate = "path"`: the path to gpm, if it is not `::gpm`.
///
/// ```no_run
/// #[gpm::test(unhandled_panic = "ignore")]
/// async fn a_goroutine_may_panic() {
///     let wg = gpm::sync::WaitGroup::new();
///     wg.go(async { panic!("ignored: the test still passes") });
///     wg.wait().await;
/// }
/// ```
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

/// Waits on several channel operations at once and runs the one that goes
/// first: Go's `select`, in crossbeam-channel's syntax. Use it in async
/// code (it expands to an `.await`).
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let (numbers, quit) = (gpm::chan::<u32>(0), gpm::chan::<()>(0));
/// let (n, q) = (numbers.clone(), quit.clone());
/// gpm::go!(async move {
///     for i in 0..3 {
///         n.send(i).await.unwrap();
///     }
///     q.close().unwrap();
/// });
/// let mut sum = 0;
/// loop {
///     gpm::select! {
///         recv(numbers) -> v => sum += v.unwrap(),
///         recv(quit) -> _ => break,
///     }
/// }
/// assert_eq!(sum, 3);
/// # });
/// ```
///
/// # Cases
///
/// | Go | gpm |
/// | --- | --- |
/// | `case v, ok := <-ch:` | `recv(ch) -> v => { .. }` (`v: Option<T>`, `None` = closed) |
/// | `case ch <- x:` | `send(ch, x) -> res => { .. }` (`res: Result<(), SendError<T>>`) |
/// | `case <-time.After(d):` | `recv(gpm::time::after(d)) -> _ => { .. }` |
/// | `default:` | `default => { .. }` (the select never waits) |
/// | `select {}` | `gpm::select! {}` (waits forever) |
///
/// A channel is anything that implements `gpm::channel::RecvCase` (for
/// `recv`) or `gpm::channel::SendCase` (for `send`): a `Chan`, a `Receiver`
/// or `Sender`, a reference to one, or an `Option` of those, where `None`
/// is Go's nil channel: that case never fires. A body is an expression
/// followed by a comma, or a block.
///
/// # Rules (Go's)
///
/// - Every channel and send value is evaluated exactly once, in the order
///   written, before anything else, even for cases that do not fire.
/// - Exactly one case fires; the others have no effect (a send value that
///   was not sent is dropped).
/// - When several cases can go at once, one is picked at random.
/// - Without `default`, the goroutine waits (as `select` in dumps) until
///   one case can go. A send on a closed channel fires at once with the
///   value in `Err`, a receive on a closed channel with `None`.
/// - Bodies run as the arms of a `match`: `break`, `continue`, `return`
///   and `?` in them act on the enclosing loop or function.
/// - Dropping the future around a waiting select loses nothing: a value
///   it was already handed goes back to its channel.
#[proc_macro]
pub fn select(input: TokenStream) -> TokenStream {
    select::expand(input.into()).into()
}
