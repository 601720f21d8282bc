fn main() {
    let _ = async {
        let ch = gpm::chan::<u32>(1);
        gpm::select! {
            recv(ch) -> v drop(v),
        }
    };
}
