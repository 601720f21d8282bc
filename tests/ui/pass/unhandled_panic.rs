// `unhandled_panic = "..."` sets the runtime's `UnhandledPanic`: with
// "ignore", a panicking goroutine is dropped and main carries on (with the
// default, "exit_process", this program would exit with status 2).

#[gpm::main(unhandled_panic = "ignore", procs = 2)]
async fn main() {
    let wg = gpm::sync::WaitGroup::new();
    wg.go(async { panic!("ignored") });
    wg.wait().await;
    println!("main carried on");
}

#[gpm::test(unhandled_panic = "exit_process")]
async fn test_spelling_exit_process() {}

#[gpm::test(unhandled_panic = "shutdown_runtime")]
async fn test_spelling_shutdown_runtime() {}
